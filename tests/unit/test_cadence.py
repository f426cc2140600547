"""Recurrence: the right next meeting for each cadence, in local time, across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.cadence import CadenceError, build_schedule

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0, tz: ZoneInfo = MSK) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=tz)


def test_weekly_next_monday_at_ten() -> None:
    schedule = build_schedule("weekly", at=time(10), zone="Europe/Moscow", weekday="MO")
    # Thursday 26 Nov 2026 -> Monday 30 Nov 2026, 10:00 Moscow (07:00 UTC).
    nxt = schedule.after(at(2026, 11, 26, 12))
    assert nxt is not None
    assert nxt.starts_at == at(2026, 11, 30, 10)
    assert nxt.starts_at.astimezone(UTC) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert nxt.ends_at - nxt.starts_at == timedelta(minutes=60)


def test_weekly_on_the_day_before_and_after_the_start() -> None:
    schedule = build_schedule("weekly", at=time(10), zone="Europe/Moscow", weekday="MO")
    assert schedule.after(at(2026, 11, 30, 9, 59)).starts_at == at(2026, 11, 30, 10)
    assert schedule.after(at(2026, 11, 30, 10)).starts_at == at(2026, 12, 7, 10)
    assert schedule.after(at(2026, 11, 30, 10), inclusive=True).starts_at == at(2026, 11, 30, 10)


def test_biweekly_keeps_its_phase_from_the_anchor() -> None:
    schedule = build_schedule("biweekly", at=time(9, 30), zone="Europe/Moscow", weekday="TU",
                              anchor=date(2026, 11, 3))
    starts = [o.starts_at.date() for o in schedule.upcoming(at(2026, 11, 4), 3)]
    assert starts == [date(2026, 11, 17), date(2026, 12, 1), date(2026, 12, 15)]


def test_monthly_first_monday() -> None:
    schedule = build_schedule("monthly", at=time(10), zone="Europe/Moscow", weekday="1MO")
    starts = [o.starts_at.date() for o in schedule.upcoming(at(2026, 11, 26), 3)]
    assert starts == [date(2026, 12, 7), date(2027, 1, 4), date(2027, 2, 1)]


def test_monthly_plain_weekday_means_the_first_one() -> None:
    schedule = build_schedule("monthly", at=time(10), zone="Europe/Moscow", weekday="WE")
    assert schedule.after(at(2026, 11, 26)).starts_at.date() == date(2026, 12, 2)


def test_monthly_on_a_day_number() -> None:
    schedule = build_schedule("monthly", at=time(10), zone="Europe/Moscow", day_of_month=15)
    assert schedule.after(at(2026, 11, 26)).starts_at.date() == date(2026, 12, 15)


def test_dst_change_keeps_the_local_time() -> None:
    # Berlin moves from CET (+1) to CEST (+2) on Sunday 29 March 2026.
    schedule = build_schedule("weekly", at=time(10), zone="Europe/Berlin", weekday="MO")
    before, after = schedule.upcoming(at(2026, 3, 20, tz=BERLIN), 2)
    assert (before.starts_at.hour, after.starts_at.hour) == (10, 10)
    assert before.starts_at.utcoffset() == timedelta(hours=1)
    assert after.starts_at.utcoffset() == timedelta(hours=2)
    assert after.starts_at.astimezone(UTC).hour == 8


def test_skip_dates_are_skipped_and_keep_numbering() -> None:
    schedule = build_schedule("weekly", at=time(10), zone="Europe/Moscow",
                              skip_dates={date(2026, 12, 28)})
    upcoming = schedule.upcoming(at(2026, 12, 22), 2)
    assert [o.starts_at.date() for o in upcoming] == [date(2027, 1, 4), date(2027, 1, 11)]
    previous = schedule.after(at(2026, 12, 20))
    assert upcoming[0].number == previous.number + 2


def test_rrule_cadence() -> None:
    schedule = build_schedule("RRULE:FREQ=WEEKLY;BYDAY=WE,FR", at=time(11), zone="Europe/Moscow")
    starts = [o.starts_at for o in schedule.upcoming(at(2026, 11, 26), 3)]
    assert starts == [at(2026, 11, 27, 11), at(2026, 12, 2, 11), at(2026, 12, 4, 11)]


def test_on_a_date_and_before() -> None:
    schedule = build_schedule("weekly", at=time(10), zone="Europe/Moscow")
    assert schedule.on(date(2026, 12, 7)).starts_at == at(2026, 12, 7, 10)
    assert schedule.on(date(2026, 12, 8)) is None
    assert schedule.before(at(2026, 12, 7, 10)).starts_at == at(2026, 11, 30, 10)


@pytest.mark.parametrize(
    ("cadence", "weekday"),
    [("daily", "MO"), ("weekly", "XX"), ("weekly", "2MO"), ("RRULE:FOO", None)],
)
def test_bad_cadence_is_a_clear_error(cadence: str, weekday: str | None) -> None:
    with pytest.raises(CadenceError):
        build_schedule(cadence, at=time(10), zone="Europe/Moscow", weekday=weekday)


@given(
    cadence=st.sampled_from(["weekly", "biweekly", "monthly"]),
    weekday=st.sampled_from(["MO", "TU", "WE", "TH", "FR"]),
    hour=st.integers(7, 12),
    zone=st.sampled_from(["Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]),
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_occurrences_are_increasing_at_the_local_time_on_the_weekday(
    cadence: str, weekday: str, hour: int, zone: str, start: datetime
) -> None:
    schedule = build_schedule(cadence, at=time(hour), zone=zone, weekday=weekday)
    moment = start.replace(tzinfo=UTC)
    occurrences = schedule.upcoming(moment, 4)
    assert len(occurrences) == 4
    assert occurrences[0].starts_at >= moment  # upcoming() counts a meeting starting right now
    for previous, current in itertools.pairwise(occurrences):
        assert current.starts_at > previous.starts_at
        assert current.number > previous.number
    for occurrence in occurrences:
        local = occurrence.starts_at.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (hour, 0)
        assert local.strftime("%a")[:2].upper() == weekday


# --- rules that cannot work are refused when the schedule is built, naming the option ----------


@pytest.mark.parametrize(("cadence", "weekday", "option", "says"), [
    ("weekly", "2MO", "weekday", "only makes sense for cadence: monthly"),
    ("biweekly", "-1FR", "weekday", "use a plain day like FR"),
    ("weekly", "XX", "weekday", "unknown weekday"),
    ("RRULE:FREQ=WEEKLY;BYDAY=XX", None, "cadence", "invalid 'BYDAY': XX"),
    ("RRULE:FREQ=SOMETIMES", None, "cadence", "invalid 'FREQ': SOMETIMES"),
    ("RRULE:", None, "cadence", "is empty"),
    ("RRULE:FOO", None, "cadence", "each part is NAME=VALUE"),
    ("RRULE:INTERVAL=2", None, "cadence", "has no FREQ"),
    ("RRULE:FREQ=WEEKLY;INTERVAL=0", None, "cadence", "1 or more"),  # looped forever
    ("RRULE:FREQ=WEEKLY;INTERVAL=-1", None, "cadence", "1 or more"),  # failed on first use
    ("RRULE:FREQ=SECONDLY", None, "cadence", "at most once a day"),  # counting took hours
    ("RRULE:FREQ=DAILY;BYHOUR=9,15", None, "cadence", "remove BYHOUR"),
    ("RRULE:FREQ=WEEKLY\nEXDATE:20250101", None, "cadence", "a single RRULE"),
    ("RRULE:FREQ=WEEKLY;UNTIL=20250101", None, "cadence", "UTC"),
    ("RRULE:FREQ=WEEKLY;COUNT=3;UNTIL=20300101T000000Z", None, "cadence", "one of them"),
])
def test_a_rule_that_cannot_work_names_the_option_and_a_fix(
    cadence: str, weekday: str | None, option: str, says: str
) -> None:
    with pytest.raises(CadenceError) as caught:
        build_schedule(cadence, at=time(10), zone="Europe/Moscow", weekday=weekday)
    assert caught.value.option == option
    assert says in str(caught.value)
    assert "unpack" not in str(caught.value)  # no Python internals in a message for people


def test_a_rule_is_read_however_it_is_spaced() -> None:
    schedule = build_schedule("rrule: freq=weekly ; byday=WE,FR;", at=time(11),
                              zone="Europe/Moscow")
    assert schedule.after(at(2026, 11, 26)).starts_at == at(2026, 11, 27, 11)


RULE_PARTS = st.sampled_from([
    "FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=YEARLY", "FREQ=HOURLY", "FREQ=X",
    "INTERVAL=-1", "INTERVAL=0", "INTERVAL=2", "INTERVAL=x", "COUNT=3", "COUNT=0",
    "UNTIL=20300101T000000Z", "UNTIL=20300101", "BYDAY=MO,TH", "BYDAY=2MO", "BYDAY=XX",
    "BYMONTHDAY=15", "BYMONTHDAY=-1", "BYMONTHDAY=99", "BYSETPOS=1", "BYSETPOS=0",
    "WKST=SU", "BYHOUR=9", "BYWEEKNO=5", "X-FOO=1", "=", "FREQ", "", "DTSTART=20250101",
])


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(RULE_PARTS, max_size=5), tail=st.text(max_size=10))
def test_any_rule_text_is_a_schedule_or_a_cadence_error(parts: list[str], tail: str) -> None:
    try:
        schedule = build_schedule("RRULE:" + ";".join(parts) + tail, at=time(10),
                                  zone="Europe/Moscow")
    except CadenceError as error:
        assert str(error) and error.option == "cadence"
        return
    # What was accepted must also answer: the daemon asks this every tick.
    for occurrence in schedule.upcoming(at(2026, 11, 26), 2):
        assert occurrence.starts_at > at(2026, 11, 26)
