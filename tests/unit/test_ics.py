"""The .ics invite: parseable, the meeting's facts and people, a UID stable per series.

The recurrence itself (RRULE, EXDATE, VTIMEZONE, overrides) is tested in test_ics_series.py."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from planerka_sync.domain.cadence import build_schedule
from planerka_sync.render.ics import Invite, Invitee, Slot, invite_uid, recurrence_of, to_ics

MOSCOW = ZoneInfo("Europe/Moscow")
START = datetime(2026, 11, 30, 10, tzinfo=MOSCOW)
SCOPE = "https://api.trello.com|Marketing"


def invite(**changes: object) -> Invite:
    schedule = build_schedule("weekly", at=time(10), zone="Europe/Moscow")
    base = Invite(
        series_id="marketing-weekly", title="Планёрка", recurrence=recurrence_of(
            schedule, START.date()),
        meeting=Slot(START, START, START + timedelta(hours=1), "Переговорная 3"),
        place="Переговорная 3", description="Повестка",
        url="https://trello.example/c/1", organizer=Invitee("Анна", "anna@example.org"),
        attendees=(Invitee("Анна", "anna@example.org"), Invitee("Иван", "ivan@example.org"),
                   Invitee("Без почты", None)),
        scope=SCOPE,
    )
    return Invite(**{**base.__dict__, **changes})


def event(data: bytes):
    events = list(Calendar.from_ical(data).walk("VEVENT"))
    assert len(events) == 1
    return events[0]


def test_event_has_the_meeting_facts_in_the_teams_time_zone() -> None:
    vevent = event(to_ics(invite(), stamp=datetime(2026, 11, 26, tzinfo=UTC)))
    assert vevent.decoded("dtstart") == START
    assert vevent.decoded("dtstart").astimezone(UTC) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert vevent.decoded("dtend") == START + timedelta(hours=1)
    assert vevent["dtstart"].params["TZID"] == "Europe/Moscow"
    assert str(vevent["summary"]) == "Планёрка"
    assert str(vevent["location"]) == "Переговорная 3"
    assert str(vevent["description"]) == "Повестка"
    assert str(vevent["url"]) == "https://trello.example/c/1"
    assert str(vevent["organizer"]) == "mailto:anna@example.org"
    attendees = vevent.get("attendee")
    assert sorted(str(a) for a in attendees) == ["mailto:anna@example.org",
                                                 "mailto:ivan@example.org"]


def test_uid_is_stable_per_series_and_differs_between_series_and_teams() -> None:
    first = event(to_ics(invite(), stamp=datetime(2026, 11, 26, tzinfo=UTC)))
    again = event(to_ics(invite(title="changed"), stamp=datetime(2026, 11, 27, tzinfo=UTC)))
    later_start = START + timedelta(days=7)
    later = event(to_ics(invite(meeting=Slot(later_start, later_start,
                                              later_start + timedelta(hours=1),
                                              "Переговорная 3")),
                         stamp=datetime(2026, 12, 1, tzinfo=UTC)))
    other = event(to_ics(invite(series_id="sales-weekly"),
                         stamp=datetime(2026, 11, 26, tzinfo=UTC)))
    other_team = event(to_ics(invite(scope="https://acme.atlassian.net|MKT"),
                              stamp=datetime(2026, 11, 26, tzinfo=UTC)))
    assert str(first["uid"]) == str(again["uid"]) == str(later["uid"]) == invite_uid(
        "marketing-weekly", SCOPE)
    assert len({str(first["uid"]), str(other["uid"]), str(other_team["uid"])}) == 3
    assert int(again["sequence"]) > int(first["sequence"])  # a newer file, a higher SEQUENCE
