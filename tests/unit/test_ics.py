"""The .ics invite: parseable, in UTC, with a UID stable per occurrence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from planerka_sync.render.ics import Invite, Invitee, invite_uid, to_ics

START = datetime(2026, 11, 30, 10, tzinfo=ZoneInfo("Europe/Moscow"))


def invite(**changes: object) -> Invite:
    base = Invite(
        series_id="marketing-weekly", title="Планёрка — 30.11.2026 10:00", starts_at=START,
        ends_at=START + timedelta(hours=1), place="Переговорная 3", description="Повестка",
        url="https://trello.example/c/1", organizer=Invitee("Анна", "anna@example.org"),
        attendees=(Invitee("Анна", "anna@example.org"), Invitee("Иван", "ivan@example.org"),
                   Invitee("Без почты", None)),
    )
    return Invite(**{**base.__dict__, **changes})


def event(data: bytes):
    events = list(Calendar.from_ical(data).walk("VEVENT"))
    assert len(events) == 1
    return events[0]


def test_event_has_the_meeting_facts_in_utc() -> None:
    vevent = event(to_ics(invite(), stamp=datetime(2026, 11, 26, tzinfo=UTC)))
    assert vevent.decoded("dtstart") == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert vevent.decoded("dtend") == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert str(vevent["summary"]) == "Планёрка — 30.11.2026 10:00"
    assert str(vevent["location"]) == "Переговорная 3"
    attendees = vevent.get("attendee")
    assert sorted(str(a) for a in attendees) == ["mailto:anna@example.org",
                                                 "mailto:ivan@example.org"]


def test_uid_is_stable_per_occurrence_and_differs_between_occurrences() -> None:
    first = event(to_ics(invite(), stamp=datetime(2026, 11, 26, tzinfo=UTC)))
    again = event(to_ics(invite(title="changed", sequence=1), stamp=datetime.now(UTC)))
    later = event(to_ics(invite(starts_at=START + timedelta(days=7)), stamp=datetime.now(UTC)))
    assert str(first["uid"]) == str(again["uid"]) == invite_uid("marketing-weekly", START)
    assert str(later["uid"]) != str(first["uid"])
    assert int(again["sequence"]) == 1
