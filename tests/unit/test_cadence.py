"""Recurrence: the right next meeting for each cadence, in local time, across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
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
    assert occurrences[0].starts_at > moment
    for previous, current in itertools.pairwise(occurrences):
        assert current.starts_at > previous.starts_at
        assert current.number > previous.number
    for occurrence in occurrences:
        local = occurrence.starts_at.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (hour, 0)
        assert local.strftime("%a")[:2].upper() == weekday
