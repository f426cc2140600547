"""The calendar invite of one meeting, as an .ics file (RFC 5545, via icalendar).

The UID is derived from the series and the occurrence's start, so importing an updated invite
replaces the calendar entry instead of adding a second one; SEQUENCE grows with each revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//planerka-sync//planerka-sync//EN"
UID_DOMAIN = "planerka-sync"


@dataclass(frozen=True)
class Invitee:
    name: str
    email: str | None


@dataclass(frozen=True)
class Invite:
    series_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    description: str
    url: str | None
    organizer: Invitee | None
    attendees: tuple[Invitee, ...]
    sequence: int = 0


def invite_uid(series_id: str, starts_at: datetime) -> str:
    """Stable per occurrence: the same meeting always gets the same UID."""
    return f"{series_id}-{starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}@{UID_DOMAIN}"


def to_ics(invite: Invite, *, stamp: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(_event(invite, stamp))
    return calendar.to_ical()


def _event(invite: Invite, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", invite_uid(invite.series_id, invite.starts_at))
    event.add("dtstamp", stamp.astimezone(UTC))
    # Times in UTC: unambiguous for every calendar, and no VTIMEZONE block to get wrong.
    event.add("dtstart", invite.starts_at.astimezone(UTC))
    event.add("dtend", invite.ends_at.astimezone(UTC))
    event.add("summary", invite.title)
    event.add("sequence", invite.sequence)
    if invite.place:
        event.add("location", invite.place)
    if invite.description:
        event.add("description", invite.description)
    if invite.url:
        event.add("url", invite.url)
    if invite.organizer and invite.organizer.email:
        event.add("organizer", _address(invite.organizer))
    for attendee in invite.attendees:
        if attendee.email:
            event.add("attendee", _address(attendee, role=True), encode=False)
    return event


def _address(person: Invitee, *, role: bool = False) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    if role:
        address.params["role"] = vText("REQ-PARTICIPANT")
    return address
