"""The series calendar: parsed back with icalendar and expanded with dateutil's own RRULE parser
(never our cadence code), it holds exactly the meetings prepare's schedule holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rruleset, rrulestr
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from planerka_sync.domain.cadence import MeetingSchedule, build_schedule
from planerka_sync.render.ics import (
    Invite,
    Invitee,
    Slot,
    recurrence_of,
    sequence_at,
    to_ics,
)

YEAR = timedelta(days=365)
# Mid-January: the year ahead crosses both daylight-saving changes of the northern zones.
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
ZONES = ["Europe/Moscow", "Europe/Berlin", "America/New_York"]
CADENCES = {
    "weekly": dict(cadence="weekly", weekday="MO"),
    "biweekly": dict(cadence="biweekly", weekday="TU", anchor=date(2025, 11, 18)),
    "monthly-first-monday": dict(cadence="monthly", weekday="1MO"),
    "monthly-day-31": dict(cadence="monthly", day_of_month=31),
    "rrule-count": dict(cadence="RRULE:FREQ=WEEKLY;BYDAY=MO,TH;COUNT=250"),
    "rrule-until": dict(cadence="RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261001T000000Z"),
}


# --- building what prepare builds ---------------------------------------------------------------


def series_invite(schedule: MeetingSchedule, now: datetime, since: date | None = None,
                  **changes: object) -> Invite:
    """The invite prepare attaches to the next meeting after ``now``; the calendar shows the
    series from ``since`` (the series' first meeting with an item), by default that meeting."""
    meeting = schedule.after(now)
    assert meeting is not None
    recurrence = recurrence_of(schedule, since or meeting.local_date)
    invite = Invite(
        series_id="marketing-weekly", title="Планёрка отдела маркетинга", recurrence=recurrence,
        meeting=Slot(meeting.starts_at, meeting.starts_at, meeting.ends_at, "Переговорная 3"),
        place="Переговорная 3", description="https://trello.example/c/1",
        url="https://trello.example/c/1", organizer=Invitee("Анна", "anna@example.org"),
        attendees=(Invitee("Анна", "anna@example.org"), Invitee("Иван", "ivan@example.org"),
                   Invitee("Без почты", None)),
        scope="https://api.trello.com|Marketing",
    )
    return replace(invite, **changes)


def schedule_for(zone: str, at: time = time(10), skip: tuple[date, ...] = (), **kw) -> (
        MeetingSchedule):
    return build_schedule(at=at, zone=zone, skip_dates=frozenset(skip), **kw)


# --- reading the file as a calendar client would -----------------------------------------------


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def master(calendar: Calendar):
    [event] = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e]
    return event


def exdates(event) -> list[datetime]:
    found = event.get("exdate")
    if found is None:
        return []
    lists = found if isinstance(found, list) else [found]
    return [d.dt for ex in lists for d in ex.dts]


def expand(calendar: Calendar, start: datetime, end: datetime) -> list[datetime]:
    """Wall-clock starts (in the event's zone) of the master's RRULE minus its EXDATEs, by
    dateutil's RFC 5545 parser, padded by two days: callers filter by instant."""
    event = master(calendar)
    dtstart = event.decoded("dtstart")
    rule = event["rrule"].to_ical().decode()
    expanded = rrulestr(f"RRULE:{rule}", dtstart=dtstart, forceset=True)
    assert isinstance(expanded, rruleset)
    for moment in exdates(event):
        expanded.exdate(moment)
    return list(expanded.between(start - timedelta(days=2), end + timedelta(days=2), inc=True))


def vtimezone_offset(calendar: Calendar, tzid: str, wall: datetime) -> timedelta:
    """The UTC offset the file's own VTIMEZONE gives a wall-clock time (RFC 5545 3.6.5: the
    latest onset, DTSTART or RDATE, not after it), not the offset the machine's tz database
    gives: a client without Europe/Berlin must place every meeting right too."""
    [zone] = [z for z in calendar.walk("VTIMEZONE") if str(z["tzid"]) == tzid]
    onsets: list[tuple[datetime, timedelta]] = []
    for observance in zone.subcomponents:
        offset = observance["tzoffsetto"].td
        starts = [observance.decoded("dtstart")]
        rdates = observance.get("rdate")
        for rdate in (rdates if isinstance(rdates, list) else [rdates]) if rdates else []:
            starts += [d.dt for d in rdate.dts]
        onsets += [(s.replace(tzinfo=None), offset) for s in starts]
        assert "RRULE" not in observance  # icalendar states every onset as an RDATE
    naive = wall.replace(tzinfo=None)
    before = [onset for onset in onsets if onset[0] <= naive]
    assert before, f"{wall} is before the VTIMEZONE's first onset"
    return max(before)[1]


def instants(calendar: Calendar, walls: list[datetime]) -> list[datetime]:
    tzid = str(master(calendar)["dtstart"].params["TZID"])
    return [(w.replace(tzinfo=None) - vtimezone_offset(calendar, tzid, w)).replace(tzinfo=UTC)
            for w in walls]


def schedule_instants(schedule: MeetingSchedule, start: datetime, end: datetime
                      ) -> list[datetime]:
    count = 16
    while True:  # as many as reach past the end: prepare's own upcoming(), asked for enough
        found = schedule.upcoming(start - timedelta(days=2), count)
        if len(found) < count or found[-1].starts_at.astimezone(UTC) >= end:
            break
        count *= 2
    return [o.starts_at.astimezone(UTC) for o in found
            if start <= o.starts_at.astimezone(UTC) < end]


def within(moments: list[datetime], start: datetime, end: datetime) -> list[datetime]:
    return [m for m in moments if start <= m < end]


# --- the key acceptance test: the calendar's meetings are prepare's meetings ---------------------


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("kind", list(CADENCES))
def test_the_calendar_holds_exactly_the_meetings_prepare_schedules_for_a_year(
    kind: str, zone: str
) -> None:
    options = dict(CADENCES[kind])
    skip = (date(2026, 5, 4), date(2026, 12, 31), date(2026, 7, 31), date(2026, 3, 17))
    schedule = schedule_for(zone, skip=skip, **options)
    calendar = parse(to_ics(series_invite(schedule, NOW), stamp=NOW))
    walls = expand(calendar, NOW, NOW + YEAR)
    expected = schedule_instants(schedule, NOW, NOW + YEAR)
    got = within(instants(calendar, walls), NOW, NOW + YEAR)
    assert got == expected and expected
    # The wall-clock time is the series' time all year, summer and winter alike.
    assert {w.time() for w in walls} == {time(10)}
    assert [w.astimezone(UTC) for w in walls if NOW <= w.astimezone(UTC) < NOW + YEAR] == got


def test_the_calendar_shown_from_the_series_first_meeting_still_has_next_years_meetings() -> None:
    """Later meetings' files show the series from its first meeting with an item."""
    schedule = schedule_for("Europe/Berlin", skip=(date(2026, 5, 4),), cadence="weekly")
    calendar = parse(to_ics(series_invite(schedule, NOW, since=date(2025, 9, 1)), stamp=NOW))
    event = master(calendar)
    assert event.decoded("dtstart") == datetime(2025, 9, 1, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    walls = expand(calendar, NOW, NOW + YEAR)
    assert within(instants(calendar, walls), NOW, NOW + YEAR) == schedule_instants(
        schedule, NOW, NOW + YEAR)


# --- the shape a calendar client expects -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rrule"),
    [("weekly", "FREQ=WEEKLY;BYDAY=MO"), ("biweekly", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
     ("monthly-first-monday", "FREQ=MONTHLY;BYDAY=+1MO"),
     ("monthly-day-31", "FREQ=MONTHLY;BYMONTHDAY=31")],
)
def test_master_event_states_the_cadence_as_an_rrule(kind: str, rrule: str) -> None:
    schedule = schedule_for("Europe/Moscow", **CADENCES[kind])
    event = master(parse(to_ics(series_invite(schedule, NOW), stamp=NOW)))
    assert event["rrule"].to_ical().decode() == rrule


def test_a_rule_ending_after_a_count_ends_at_its_last_meeting_instead() -> None:
    """COUNT counts from the schedule's anchor (2024), the calendar from DTSTART: it becomes
    UNTIL, the last meeting's start in UTC, as RFC 5545 requires with a TZID'd DTSTART."""
    schedule = schedule_for("Europe/Berlin", **CADENCES["rrule-count"])
    event = master(parse(to_ics(series_invite(schedule, NOW), stamp=NOW)))
    rule = event["rrule"]
    assert "COUNT" not in rule
    [until] = rule["UNTIL"]
    assert until == list(schedule.rule)[-1].astimezone(UTC)


def test_dtstart_and_dtend_are_wall_clock_times_with_a_vtimezone() -> None:
    schedule = schedule_for("America/New_York", cadence="weekly", weekday="MO",
                            duration_minutes=90)
    data = to_ics(series_invite(schedule, NOW), stamp=NOW)
    text = data.decode()
    assert "DTSTART;TZID=America/New_York:20260119T100000" in text
    assert "DTEND;TZID=America/New_York:20260119T113000" in text
    calendar = parse(data)
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "America/New_York"
    kinds = {(c.name, c["tzoffsetto"].to_ical()) for c in zone.subcomponents}
    assert kinds >= {("STANDARD", "-0500"), ("DAYLIGHT", "-0400")}
    # The zone covers the series from its first year to well beyond the year ahead.
    summer = datetime(2030, 7, 1, 10)
    assert vtimezone_offset(calendar, "America/New_York", summer) == timedelta(hours=-4)
    assert vtimezone_offset(calendar, "America/New_York", datetime(2026, 1, 19, 10)) == (
        timedelta(hours=-5))


def test_moscow_has_one_standard_observance() -> None:
    calendar = parse(to_ics(series_invite(schedule_for("Europe/Moscow", cadence="weekly"), NOW),
                            stamp=NOW))
    [zone] = calendar.walk("VTIMEZONE")
    assert {(c.name, c["tzoffsetto"].to_ical()) for c in zone.subcomponents} == {
        ("STANDARD", "+0300")}


def test_skipped_dates_are_exdates_of_the_meeting_on_that_date() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 4 May and 27 Jul are Mondays; 5 May is not a meeting day; 2025 is before DTSTART.
    skip = (date(2026, 5, 4), date(2026, 5, 5), date(2026, 7, 27), date(2025, 12, 1))
    schedule = schedule_for("Europe/Berlin", skip=skip, cadence="weekly")
    event = master(parse(to_ics(series_invite(schedule, NOW), stamp=NOW)))
    assert exdates(event) == [datetime(2026, 5, 4, 10, tzinfo=berlin),
                              datetime(2026, 7, 27, 10, tzinfo=berlin)]
    assert event["exdate"].params["TZID"] == "Europe/Berlin"


def test_dtstart_is_never_a_skipped_meeting() -> None:
    schedule = schedule_for("Europe/Moscow", skip=(date(2026, 1, 19),), cadence="weekly")
    event = master(parse(to_ics(series_invite(schedule, NOW), stamp=NOW)))
    assert event.decoded("dtstart").date() == date(2026, 1, 26)
    assert exdates(event) == []


def test_sequence_only_grows_so_clients_take_every_newer_version() -> None:
    schedule = schedule_for("Europe/Moscow", cadence="weekly")
    stamps = [NOW, NOW + timedelta(minutes=1), NOW + timedelta(days=200)]
    sequences = [int(master(parse(to_ics(series_invite(schedule, NOW), stamp=s)))["sequence"])
                 for s in stamps]
    assert sequences == sorted(set(sequences)) and sequences[0] > 0
    assert sequence_at(datetime(2024, 1, 1, tzinfo=UTC)) == 0
    assert sequence_at(datetime(2124, 1, 1, tzinfo=UTC)) < 2**31  # clients' 32-bit integers


def test_the_same_invite_and_stamp_give_the_same_bytes() -> None:
    schedule = schedule_for("Europe/Berlin", skip=(date(2026, 5, 4),), cadence="weekly")
    assert to_ics(series_invite(schedule, NOW), stamp=NOW) == to_ics(
        series_invite(schedule, NOW), stamp=NOW)


def test_a_meeting_at_its_regular_slot_has_no_override() -> None:
    calendar = parse(to_ics(series_invite(schedule_for("Europe/Berlin", cadence="weekly"), NOW),
                            stamp=NOW))
    assert len(calendar.walk("VEVENT")) == 1


def test_a_moved_meeting_is_an_override_of_its_slot() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    schedule = schedule_for("Europe/Berlin", cadence="weekly")
    regular = datetime(2026, 1, 19, 10, tzinfo=berlin)
    moved = Slot(regular, regular + timedelta(hours=4), regular + timedelta(hours=5), "Zoom")
    calendar = parse(to_ics(series_invite(schedule, NOW, meeting=moved), stamp=NOW))
    events = calendar.walk("VEVENT")
    [override] = [e for e in events if "RECURRENCE-ID" in e]
    assert len(events) == 2 and str(override["uid"]) == str(master(calendar)["uid"])
    assert override.decoded("recurrence-id") == regular
    assert override.decoded("dtstart") == datetime(2026, 1, 19, 14, tzinfo=berlin)
    assert override.decoded("dtend") == datetime(2026, 1, 19, 15, tzinfo=berlin)
    assert str(override["location"]) == "Zoom"
    assert int(override["sequence"]) == int(master(calendar)["sequence"])


def test_a_meeting_time_a_dst_change_skips_is_where_the_schedule_puts_it() -> None:
    """02:30 does not exist in Berlin on 29 Mar 2026: the schedule holds that meeting at 03:30
    CEST (RFC 5545: the offset before the gap), and so does a client reading the file."""
    schedule = schedule_for("Europe/Berlin", at=time(2, 30), cadence="weekly", weekday="SU")
    now = datetime(2026, 3, 20, tzinfo=UTC)
    calendar = parse(to_ics(series_invite(schedule, now), stamp=now))
    walls = expand(calendar, now, now + timedelta(days=30))
    got = within(instants(calendar, walls), now, now + timedelta(days=30))
    assert datetime(2026, 3, 29, 1, 30, tzinfo=UTC) in got
    assert got == schedule_instants(schedule, now, now + timedelta(days=30))


# --- a property: any series, any zone, any year ------------------------------------------------

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
PROPERTY_ZONES = ["Europe/Moscow", "Europe/Berlin", "America/New_York", "Europe/London",
                  "Australia/Sydney", "America/Sao_Paulo", "Asia/Tokyo", "America/Santiago"]


@st.composite
def series_options(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["weekly", "biweekly", "monthly-weekday", "monthly-day", "rrule"]))
    options: dict = {"anchor": draw(st.dates(date(2023, 1, 1), date(2027, 12, 31)))}
    if kind in ("weekly", "biweekly"):
        options.update(cadence=kind, weekday=draw(st.sampled_from(WEEKDAYS)))
    elif kind == "monthly-weekday":
        n = draw(st.sampled_from(["1", "2", "3", "4", "-1"]))
        options.update(cadence="monthly", weekday=n + draw(st.sampled_from(WEEKDAYS)))
    elif kind == "monthly-day":
        options.update(cadence="monthly", day_of_month=draw(st.integers(1, 31)))
    else:
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        interval = draw(st.integers(1, 3))
        end = draw(st.sampled_from(["", ";COUNT=120", ";UNTIL=20280101T000000Z"]))
        options.update(cadence=f"RRULE:FREQ=WEEKLY;INTERVAL={interval};BYDAY={','.join(days)}{end}")
    return options


@settings(max_examples=100, deadline=None)
@given(
    options=series_options(),
    zone=st.sampled_from(PROPERTY_ZONES),
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    now=st.datetimes(datetime(2024, 6, 1), datetime(2029, 6, 1), timezones=st.just(UTC)),
    skip_picks=st.lists(st.integers(0, 30), max_size=4),
)
def test_property_calendar_meetings_are_the_schedule_meetings(
    options: dict, zone: str, at: time, now: datetime, skip_picks: list[int]
) -> None:
    plain = schedule_for(zone, at=at, **options)
    upcoming = plain.upcoming(now, 31)
    assume(upcoming)
    skip = tuple(upcoming[i].local_date for i in skip_picks if i < len(upcoming))
    schedule = schedule_for(zone, at=at, skip=skip, **options)
    meeting = schedule.after(now)
    assume(meeting is not None)
    calendar = parse(to_ics(series_invite(schedule, now), stamp=now))
    walls = expand(calendar, now, now + YEAR)
    assert within(instants(calendar, walls), now, now + YEAR) == schedule_instants(
        schedule, now, now + YEAR)
    assert {w.time() for w in walls} <= {at}
