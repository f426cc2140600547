"""The calendar of a meeting series, as an .ics file (RFC 5545, via icalendar).

Every meeting item carries the whole series, so a team adds it to its calendars once:

- a master VEVENT with the series' RRULE, DTSTART/DTEND as wall-clock times in the team's zone
  (``TZID``, with the VTIMEZONE that defines it), so a 10:00 meeting stays at 10:00 across a
  daylight-saving change, and EXDATE for the series' skipped dates;
- an override VEVENT (same UID, RECURRENCE-ID) for this meeting when it is not at its regular
  slot (another time, length or place).

The UID is the series', so importing a later meeting's file updates the same calendar entry
instead of adding a second series. Calendar clients take an update only if its SEQUENCE is not
lower than the one they hold (then the later DTSTAMP wins), so SEQUENCE comes from the moment the
file is made (:func:`sequence_at`): it only grows, whichever machine or state DB makes the file,
and it grows with every new version of the series. The same invite and stamp give the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dateutil import rrule

from planerka_sync.domain.cadence import MeetingSchedule

if TYPE_CHECKING:
    from icalendar import Event, Timezone, vCalAddress

PRODID = "-//planerka-sync//planerka-sync//EN"
UID_DOMAIN = "planerka-sync"
# SEQUENCE counts minutes from here: about 525,000 a year, far from 32-bit clients' limit.
SEQUENCE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
# The VTIMEZONE covers the series from its first year to this many years after the meeting.
ZONE_YEARS_AHEAD = 10


@dataclass(frozen=True)
class Invitee:
    name: str
    email: str | None


@dataclass(frozen=True)
class Recurrence:
    """When a series meets, as a calendar states it. Times are wall-clock times in ``zone``."""

    zone: str  # IANA name, the VTIMEZONE's TZID
    first_start: datetime  # DTSTART: the first meeting the calendar shows (a rule instance)
    duration: timedelta
    rule: str  # the RRULE value, e.g. "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
    exdates: tuple[datetime, ...] = ()  # instances the series skips


@dataclass(frozen=True)
class Slot:
    """The meeting an item is for: the series' slot it takes (``regular_start``) and where and
    when it really is. Only a slot that differs from the series' gets an override VEVENT."""

    regular_start: datetime
    starts_at: datetime
    ends_at: datetime
    place: str


@dataclass(frozen=True)
class Invite:
    series_id: str
    title: str  # the series' title: every meeting of the series shows it
    recurrence: Recurrence
    meeting: Slot
    place: str  # the series' place
    description: str
    url: str | None
    organizer: Invitee | None
    attendees: tuple[Invitee, ...]
    scope: str = ""  # where the series lives (tracker site and board/project), see invite_uid


def invite_uid(series_id: str, scope: str = "") -> str:
    """Stable per series: every meeting's file names the same calendar entry. ``scope`` (the
    tracker's site and board or project) keeps two teams' series of the same id apart in the
    calendar of someone who is in both."""
    suffix = f"-{hashlib.sha256(scope.encode('utf-8')).hexdigest()[:10]}" if scope else ""
    return f"planerka-{series_id}{suffix}@{UID_DOMAIN}"


def sequence_at(stamp: datetime) -> int:
    """Whole minutes since SEQUENCE_EPOCH: a later file never has a lower SEQUENCE."""
    return max(int((stamp.astimezone(UTC) - SEQUENCE_EPOCH) // timedelta(minutes=1)), 0)


def to_ics(invite: Invite, *, stamp: datetime) -> bytes:
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(_timezone(invite))
    calendar.add_component(_master(invite, stamp))
    if _moved(invite):
        calendar.add_component(_override(invite, stamp))
    return calendar.to_ical()


# --- from the schedule prepare uses ------------------------------------------------------------


def recurrence_of(schedule: MeetingSchedule, since: date) -> Recurrence:
    """The schedule as a calendar states it, shown from its first meeting on or after ``since``.

    The RRULE is the one the schedule evaluates (dateutil's RFC 5545 text of it); a rule that
    ends after a COUNT of meetings counted from the schedule's anchor ends instead at its last
    meeting (UNTIL), as the calendar counts from DTSTART. Skipped dates become EXDATEs of the
    meeting on that date."""
    rule = schedule.rule
    first = _instance_on_or_after(schedule, since)
    if first is None:
        raise ValueError(f"the schedule has no meeting on or after {since}")
    parts = _rule_parts(rule)
    if "COUNT" in parts or "UNTIL" in parts:
        last = rule[-1]
        parts.pop("COUNT", None)
        parts["UNTIL"] = f"{last.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    exdates = []
    for day in sorted(schedule.skip_dates):
        instance = _instance_on(rule, day, schedule.zone)
        if instance is not None and instance >= first:
            exdates.append(instance)
    return Recurrence(
        zone=schedule.zone.key, first_start=first, duration=schedule.duration,
        rule=";".join(f"{name}={value}" for name, value in parts.items()),
        exdates=tuple(exdates))


def _rule_parts(rule: rrule.rrule) -> dict[str, str]:
    line = next(line for line in str(rule).splitlines() if line.startswith("RRULE:"))
    return dict(part.split("=", 1) for part in line[len("RRULE:"):].split(";"))


def _instance_on(rule: rrule.rrule, day: date, zone: ZoneInfo) -> datetime | None:
    """The rule's meeting on a local date (a series meets at most once a day), as the rule
    states it: the wall-clock time, even one a daylight-saving change skips."""
    found = rule.after(datetime.combine(day, time.min, tzinfo=zone), inc=True)
    return found if found is not None and found.date() == day else None


def _instance_on_or_after(schedule: MeetingSchedule, since: date) -> datetime | None:
    found = schedule.rule.after(datetime.combine(since, time.min, tzinfo=schedule.zone), inc=True)
    while found is not None and found.date() in schedule.skip_dates:
        found = schedule.rule.after(found, inc=False)
    return found


# --- the components ----------------------------------------------------------------------------


def _timezone(invite: Invite) -> Timezone:
    from icalendar import Timezone

    recurrence = invite.recurrence
    last_year = max(recurrence.first_start.year, invite.meeting.starts_at.year) + ZONE_YEARS_AHEAD
    return Timezone.from_tzinfo(
        ZoneInfo(recurrence.zone), tzid=recurrence.zone,
        first_date=date(recurrence.first_start.year, 1, 1), last_date=date(last_year, 1, 1))


def _master(invite: Invite, stamp: datetime) -> Event:
    from icalendar import vRecur

    recurrence = invite.recurrence
    start = _local(recurrence.first_start, recurrence.zone)
    event = _event(invite, stamp, start, start + recurrence.duration, invite.place)
    event.add("rrule", vRecur.from_ical(recurrence.rule))
    if recurrence.exdates:
        event.add("exdate", [_local(d, recurrence.zone) for d in recurrence.exdates])
    return event


def _moved(invite: Invite) -> bool:
    slot = invite.meeting
    return (slot.starts_at != slot.regular_start
            or slot.ends_at - slot.starts_at != invite.recurrence.duration
            or slot.place != invite.place)


def _override(invite: Invite, stamp: datetime) -> Event:
    slot, zone = invite.meeting, invite.recurrence.zone
    event = _event(invite, stamp, _local(slot.starts_at, zone), _local(slot.ends_at, zone),
                   slot.place)
    event.add("recurrence-id", _local(slot.regular_start, zone))
    return event


def _event(invite: Invite, stamp: datetime, start: datetime, end: datetime, place: str) -> Event:
    from icalendar import Event

    event = Event()
    event.add("uid", invite_uid(invite.series_id, invite.scope))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", invite.title)
    event.add("sequence", sequence_at(stamp))
    if place:
        event.add("location", place)
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


def _local(moment: datetime, zone: str) -> datetime:
    """The wall-clock time in the series' zone, written with its TZID. A time already in that
    zone is kept as it is (a rule instance a daylight-saving change skips stays as the rule
    states it, which calendars read as the instant after the gap, as zoneinfo does)."""
    tz = ZoneInfo(zone)
    return moment if moment.tzinfo is tz else moment.astimezone(tz)


def _address(person: Invitee, *, role: bool = False) -> vCalAddress:
    from icalendar import vCalAddress, vText

    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    if role:
        address.params["role"] = vText("REQ-PARTICIPANT")
    return address
