"""Times as the team reads them, and due dates in the team's zone: the working day's end, the
labelled local time, and the config option that sets it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest
import yaml
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from planerka_sync.config import parse_config
from planerka_sync.demo import demo_config
from planerka_sync.domain.texts import local_time
from planerka_sync.domain.workday import WorkingDay
from planerka_sync.errors import ConfigError
from planerka_sync.trackers.http import TrackerSession
from planerka_sync.trackers.trello import TrelloAdapter

ROOT = Path(__file__).resolve().parents[2]
ZONES = sorted(available_timezones())


def trello(working_day: WorkingDay) -> TrelloAdapter:
    """The adapter alone: building it sends nothing."""
    return TrelloAdapter(demo_config("trello", "http://127.0.0.1:9").tracker,
                         TrackerSession("Trello"), working_day=working_day)


# --- the end of the working day ----------------------------------------------------------------


def test_the_default_is_six_in_the_evening_in_moscow() -> None:
    moscow = WorkingDay.of()
    assert moscow.due_at(date(2026, 12, 5)) == datetime(2026, 12, 5, 15, tzinfo=UTC)
    assert trello(moscow)._due(date(2026, 12, 5)) == "2026-12-05T15:00:00.000Z"


def test_a_late_end_in_new_york_is_tomorrow_in_utc_and_today_for_the_team() -> None:
    new_york = WorkingDay.of("America/New_York", time(23, 0))
    adapter = trello(new_york)
    assert adapter._due(date(2026, 12, 5)) == "2026-12-06T04:00:00.000Z"
    assert adapter._day("2026-12-06T04:00:00.000Z") == date(2026, 12, 5)
    # Summer time: the same wall clock is an hour earlier in UTC.
    assert adapter._due(date(2026, 7, 3)) == "2026-07-04T03:00:00.000Z"


def test_dues_written_before_read_back_on_their_day() -> None:
    """Tasks made by earlier versions are due at 12:00Z: still their day from UTC-11 to UTC+11,
    now read in the team's zone."""
    for zone in ("Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Vladivostok"):
        assert trello(WorkingDay.of(zone))._day("2026-12-05T12:00:00.000Z") == date(2026, 12, 5)


def test_a_due_a_person_set_is_the_teams_date_not_utcs() -> None:
    """A check item due at 01:30 Moscow is 22:30Z the day before."""
    assert trello(WorkingDay.of())._day("2026-12-04T22:30:00.000Z") == date(2026, 12, 5)
    assert trello(WorkingDay.of())._day(None) is None


def exists(day: date, zone: ZoneInfo) -> bool:
    """Whether any moment falls on ``day`` in ``zone``: Samoa skipped 30 Dec 2011 (no day that
    exists is shorter than the quarter hour stepped by)."""
    start = datetime.combine(day, time(), tzinfo=UTC) - timedelta(days=2)
    return any((start + timedelta(minutes=15 * i)).astimezone(zone).date() == day
               for i in range(4 * 24 * 5))


def wall_time_exists(day: date, end: time, zone: ZoneInfo) -> bool:
    """False in a gap: the clock jumped over ``end`` on ``day``."""
    wanted = datetime.combine(day, end, tzinfo=zone)
    return wanted.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wanted.replace(
        tzinfo=None)


@settings(max_examples=400, deadline=None)
@given(zone=st.sampled_from(ZONES), day=st.dates(date(1971, 1, 1), date(2199, 12, 31)),
       end=st.builds(time, st.integers(0, 23), st.integers(0, 59)))
@example(zone="America/Sao_Paulo", day=date(2018, 11, 4), end=time(0, 30))  # 00:00-01:00 skipped
@example(zone="Pacific/Apia", day=date(2011, 12, 29), end=time(23, 59))  # before the skipped day
@example(zone="Pacific/Kiritimati", day=date(2026, 12, 5), end=time(18, 0))  # UTC+14
@example(zone="Pacific/Pago_Pago", day=date(2026, 12, 5), end=time(23, 59))  # UTC-11
@example(zone="Europe/Moscow", day=date(2026, 3, 29), end=time(2, 30))  # no DST in Moscow now
@example(zone="Europe/Berlin", day=date(2026, 3, 29), end=time(2, 30))  # in the spring gap
@example(zone="Europe/Berlin", day=date(2026, 10, 25), end=time(2, 30))  # happens twice
def test_a_due_date_reads_back_as_itself_in_any_zone(zone: str, day: date, end: time) -> None:
    """date -> the due moment Trello keeps -> the date read back: the identity, for every IANA
    zone and every working-day end (on any day the zone has at all)."""
    working_day = WorkingDay.of(zone, end)
    assume(exists(day, working_day.zone))
    moment = working_day.due_at(day)
    assert moment.utcoffset() == timedelta(0)
    assert working_day.day_of(moment) == day
    adapter = trello(working_day)
    wire = adapter._due(day)
    assert wire is not None and wire.endswith("Z")
    assert adapter._day(wire) == day
    if wall_time_exists(day, end, working_day.zone):
        assert moment.astimezone(working_day.zone).time() == end


def test_a_day_the_zone_skipped_still_gets_a_due() -> None:
    """Samoa went from 29 to 31 December 2011: nobody can pick the 30th there, but a date typed
    as text still gets a moment (the day after's)."""
    samoa = WorkingDay.of("Pacific/Apia")
    assert samoa.day_of(samoa.due_at(date(2011, 12, 30))) == date(2011, 12, 31)


# --- a moment as the team reads it ------------------------------------------------------------

MEETING = datetime(2026, 11, 30, 7, tzinfo=UTC)  # Monday 10:00 in Moscow


@pytest.mark.parametrize(("zone", "locale", "expected"), [
    ("Europe/Moscow", "ru", "30.11.2026 10:00 (Москва, +03:00)"),
    ("Europe/Moscow", "en", "2026-11-30 10:00 (Moscow, +03:00)"),
    ("Europe/Berlin", "ru", "30.11.2026 08:00 (Берлин, +01:00)"),
    ("Europe/Berlin", "en", "2026-11-30 08:00 (Berlin, +01:00)"),
    ("America/New_York", "en", "2026-11-30 02:00 (New York, -05:00)"),
    ("Asia/Yekaterinburg", "ru", "30.11.2026 12:00 (Екатеринбург, +05:00)"),
    ("Asia/Kathmandu", "ru", "30.11.2026 12:45 (Kathmandu, +05:45)"),  # no Russian name known
    ("Pacific/Kiritimati", "ru", "30.11.2026 21:00 (Kiritimati, +14:00)"),
    ("America/St_Johns", "en", "2026-11-30 03:30 (St Johns, -03:30)"),
    ("Etc/GMT+5", "en", "2026-11-30 02:00 (-05:00)"),  # "GMT+5" is UTC-5: the offset alone
])
def test_local_time_names_the_zone_and_its_offset(zone: str, locale: str,
                                                   expected: str) -> None:
    assert local_time(MEETING, zone, locale) == expected  # type: ignore[arg-type]


def test_local_time_follows_daylight_saving() -> None:
    summer = datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert local_time(summer, "Europe/Berlin", "ru") == "01.07.2026 09:00 (Берлин, +02:00)"
    assert local_time(summer, "America/New_York", "en") == "2026-07-01 03:00 (New York, -04:00)"


def test_local_time_with_seconds_without_the_date() -> None:
    moment = datetime(2026, 11, 26, 10, 2, 11, tzinfo=UTC)
    assert local_time(moment, "Europe/Moscow", "ru", seconds=True,
                      with_date=False) == "13:02:11 (Москва, +03:00)"
    assert local_time(moment, ZoneInfo("Europe/Moscow"), "en",
                      seconds=True) == "2026-11-26 13:02:11 (Moscow, +03:00)"


def test_any_aware_moment_is_shown_in_the_teams_zone_and_a_naive_one_is_refused() -> None:
    from_berlin = datetime(2026, 11, 30, 8, tzinfo=ZoneInfo("Europe/Berlin"))
    assert local_time(from_berlin, "Europe/Moscow", "ru") == "30.11.2026 10:00 (Москва, +03:00)"
    with pytest.raises(ValueError, match="naive"):
        local_time(datetime(2026, 11, 30, 7), "Europe/Moscow", "ru")


# --- the option --------------------------------------------------------------------------------


def config_with(tmp_path: Path, text: str) -> dict:
    """demo.yaml with ``text`` (YAML, as a person writes it) added at the top level."""
    raw = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    raw.update(yaml.safe_load(text) or {})
    return raw


def test_working_day_end_defaults_to_18_00(tmp_path: Path) -> None:
    config = parse_config(config_with(tmp_path, ""), "planerka.yaml", {})
    assert config.working_day_end == time(18, 0)
    assert config.working_day == WorkingDay(ZoneInfo("Europe/Moscow"), time(18, 0))


@pytest.mark.parametrize(("written", "expected"), [
    ('working_day_end: "19:30"', time(19, 30)),
    ("working_day_end: 17:45", time(17, 45)),  # unquoted: YAML reads the number 1065
    ("working_day_end: '9:05'", time(9, 5)),
    ("working_day_end: 09:00", time(9, 0)),
    ("working_day_end: '23:59'", time(23, 59)),
])
def test_working_day_end_as_people_write_it(tmp_path: Path, written: str,
                                            expected: time) -> None:
    config = parse_config(config_with(tmp_path, written), "planerka.yaml", {})
    assert config.working_day_end == expected
    assert config.working_day.end == expected


@pytest.mark.parametrize(("written", "problem"), [
    ('working_day_end: "24:00"', 'expected a time of day like "18:00" (HH:MM, 24-hour clock)'),
    ("working_day_end: 6pm", 'expected a time of day like "18:00" (HH:MM, 24-hour clock)'),
    ("working_day_end: 18", 'YAML read the number 18: write it as "HH:MM" in quotes'),
    ("working_day_end: 18:00:00", 'YAML read the number 64800: write it as "HH:MM" in quotes'),
    ('working_day_end: "18:00+03:00"', 'expected a time of day like "18:00"'),
    ("working_day_end: null", 'expected a time of day like "18:00"'),
])
def test_a_wrong_working_day_end_is_named_with_its_fix(tmp_path: Path, written: str,
                                                       problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(config_with(tmp_path, written), "planerka.yaml", {})
    [line] = error.value.problems
    assert line.startswith("planerka.yaml: working_day_end: ")
    assert problem in line


def test_an_unquoted_meeting_time_is_the_time_written(tmp_path: Path) -> None:
    """`time: 10:00` unquoted is 600 to YAML, which was read as 600 seconds: 00:10."""
    raw = config_with(tmp_path, "")
    raw["meetings"][0]["time"] = yaml.safe_load("time: 10:00")["time"]
    assert raw["meetings"][0]["time"] == 600
    assert parse_config(raw, "planerka.yaml", {}).meetings[0].time == time(10, 0)
