"""Config loading: the shape, ${VAR} secrets, cross-checks and readable problems."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.config import (
    Config,
    HttpJsonSource,
    JiraTracker,
    MeetingSeries,
    Person,
    TrelloTracker,
    interpolate,
    load_config,
    parse_config,
    parse_duration,
)
from planerka_sync.errors import ConfigError
from planerka_sync.kpi_sources.ga4 import Ga4Settings
from planerka_sync.kpi_sources.sheet import SheetSettings
from planerka_sync.kpi_sources.yandex_direct import YandexDirectSettings
from planerka_sync.kpi_sources.yandex_metrica import YandexMetricaSettings
from planerka_sync.sandbox import seed
from planerka_sync.service.app import schedule_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "planerka.example.yaml"
DEMO = ROOT / "config" / "demo.yaml"


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "planerka.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def minimal() -> dict:
    return {
        "tracker": {"kind": "trello", "api_key": "k", "token": "t", "board": "Marketing"},
        "people": [{"id": "anna", "name": "Анна"}],
        "meetings": [{"id": "weekly", "title": "Планёрка", "participants": ["anna"]}],
    }


def test_defaults_follow_the_guide(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, minimal()))
    series = config.meetings[0]
    assert (series.cadence, series.weekday, series.time.hour) == ("weekly", "MO", 10)
    assert series.prepare_before == timedelta(hours=24)
    assert config.locale == "ru"
    assert isinstance(config.tracker, TrelloTracker)
    assert config.tracker.tasks_list == "To Do"


def test_jira_shape_is_chosen_by_kind(tmp_path: Path) -> None:
    data = minimal()
    data["tracker"] = {"kind": "jira", "deployment": "datacenter", "url": "https://j", "token": "p",
                       "project": "MKT"}
    config = load_config(write(tmp_path, data))
    assert isinstance(config.tracker, JiraTracker)
    assert config.tracker.deployment == "datacenter"


def test_jira_cloud_needs_an_email(tmp_path: Path) -> None:
    data = minimal()
    data["tracker"] = {"kind": "jira", "url": "https://j", "token": "p", "project": "MKT"}
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, data))
    assert any("tracker" in p and "email" in p for p in err.value.problems)


def test_secrets_come_from_the_environment_and_stay_hidden(tmp_path: Path) -> None:
    data = minimal()
    data["tracker"]["token"] = "${MY_TOKEN}"
    config = load_config(write(tmp_path, data), env={"MY_TOKEN": "s3cr3t-value"})
    assert isinstance(config.tracker, TrelloTracker)
    assert config.tracker.token.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(config)
    assert "s3cr3t-value" not in str(config.model_dump())


def test_every_problem_is_reported_at_once_with_its_path(tmp_path: Path) -> None:
    data = minimal()
    data["tracker"]["token"] = "${UNSET_TOKEN}"
    data["tracker"]["boardd"] = "typo"
    data["meetings"][0]["duration_minutes"] = "long"
    data["meetings"][0]["participants"] = ["anna", "ivna"]
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    problems = err.value.problems
    expected = {
        "tracker.token": "UNSET_TOKEN",
        "tracker.boardd": "unknown option",
        "meetings[0].duration_minutes": "integer",
        "meetings[0].participants[1]": "ivna",
    }
    for where, what in expected.items():
        assert any(p.startswith(f"{path}: {where}: ") and what in p for p in problems), where
    assert len(problems) == len(expected)


def test_unknown_option_suggests_the_close_one(tmp_path: Path) -> None:
    data = minimal()
    data["meetings"][0]["partcipants"] = ["anna"]
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, data))
    assert any("meetings[0].partcipants" in p and "'participants'" in p
               for p in err.value.problems)


def test_duplicate_ids_and_unknown_facilitator(tmp_path: Path) -> None:
    data = minimal()
    data["people"].append({"id": "anna", "name": "Другая Анна"})
    data["meetings"][0]["facilitator"] = "anan"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, data))
    text = "\n".join(err.value.problems)
    assert "people[1].id: duplicate id 'anna'" in text
    assert "meetings[0].facilitator: unknown person 'anan'; did you mean 'anna'?" in text


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tracker:\n  kind: trello\n   board: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert re.match(rf"{re.escape(str(path))}: line \d+, column \d+: not valid YAML",
                    err.value.problems[0])


@pytest.mark.parametrize("cadence", ["daily", "every monday", ""])
def test_unknown_cadence(tmp_path: Path, cadence: str) -> None:
    data = minimal()
    data["meetings"][0]["cadence"] = cadence
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, data))
    assert any("meetings[0].cadence" in p for p in err.value.problems)


def test_example_documents_every_option() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for model in (Config, TrelloTracker, JiraTracker, Person, MeetingSeries, HttpJsonSource):
        for name in model.model_fields:
            assert re.search(rf"^\s*#?\s*(- )?{name}:", text, re.M) or f"{name}:" in text, name
    config = load_config(EXAMPLE, env={"TRELLO_API_KEY": "k", "TRELLO_TOKEN": "t"})
    assert config.meetings[0].skip_dates


@pytest.mark.parametrize("model", [YandexMetricaSettings, Ga4Settings, YandexDirectSettings,
                                   SheetSettings])
def test_example_has_a_block_for_each_kpi_source_with_every_option(model: Any) -> None:
    """Each analytics source has its own (commented) block listing every option it takes."""
    text = EXAMPLE.read_text(encoding="utf-8")
    kind = model.model_fields["kind"].annotation.__args__[0]
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines) if re.match(rf"^#?\s*- kind: {kind}\b", line)]
    assert starts, f"config/planerka.example.yaml has no block for {kind}"
    block = [lines[starts[0]]]
    for line in lines[starts[0] + 1:]:
        if not re.match(r"^#?\s{3,}[a-z_]+:", line):  # the block's option lines, commented or not
            break
        block.append(line)
    found = "\n".join(block)
    for name in model.model_fields:
        assert re.search(rf"^#?\s*(- )?{name}:", found, re.M), (kind, name)


def test_demo_config_matches_the_sandbox_seed() -> None:
    config = load_config(DEMO, env={})
    assert isinstance(config.tracker, TrelloTracker)
    assert config.tracker.board == seed.TRELLO_BOARD_NAME
    lists = {config.tracker.meetings_list, config.tracker.tasks_list, *config.tracker.done_lists}
    assert lists <= set(seed.TRELLO_LISTS)
    by_id = {p["id"]: p for p in seed.DEFAULT_PEOPLE}
    assert [p.id for p in config.people] == list(by_id)
    for person in config.people:
        assert person.name == by_id[person.id]["name"]
        assert person.trello == by_id[person.id]["trello_username"]
        assert person.jira == by_id[person.id]["jira_account_id"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24h", timedelta(hours=24)), ("1h30m", timedelta(minutes=90)), ("2d", timedelta(days=2)),
     ("90m", timedelta(minutes=90)), (15, timedelta(minutes=15))],
)
def test_durations(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "h", "1x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_interpolation_defaults_and_escape() -> None:
    data = {"a": "${X:-fallback}", "b": ["$${NOT}", "${Y}-${Y}"]}
    out, problems = interpolate(data, {"Y": "1"})
    assert out == {"a": "fallback", "b": ["${NOT}", "1-1"]}
    assert problems == []


@given(st.text().filter(lambda s: "$" not in s))
def test_interpolation_leaves_plain_text_alone(text: str) -> None:
    assert interpolate({"k": [text]}, {}) == ({"k": [text]}, [])


# --- every config that validates also works: mistakes are found here, not by prepare or run ------


def with_meeting(**changes: object) -> dict:
    data = minimal()
    data["meetings"][0].update(changes)
    return data


def only_problem(tmp_path: Path, data: dict) -> str:
    """The single problem line a config gets, without the file name."""
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert len(err.value.problems) == 1, err.value.problems
    problem = err.value.problems[0]
    assert problem.startswith(f"{path}: ")
    return problem.removeprefix(f"{path}: ")


@pytest.mark.parametrize(("changes", "option", "says"), [
    ({"weekday": "2MO"}, "meetings[0].weekday", "only makes sense for cadence: monthly"),
    ({"cadence": "biweekly", "weekday": "-1FR"}, "meetings[0].weekday", "plain day like FR"),
    ({"cadence": "RRULE:FREQ=WEEKLY;BYDAY=XX"}, "meetings[0].cadence", "invalid 'BYDAY'"),
    ({"cadence": "RRULE:FREQ=SOMETIMES"}, "meetings[0].cadence", "invalid 'FREQ'"),
    ({"cadence": "RRULE:"}, "meetings[0].cadence", "is empty"),
    ({"cadence": "RRULE:FREQ=WEEKLY;INTERVAL=0"}, "meetings[0].cadence", "1 or more"),
    ({"cadence": "RRULE:FREQ=MINUTELY"}, "meetings[0].cadence", "at most once a day"),
    ({"prepare_before": "99999999999d"}, "meetings[0].prepare_before", "at most 366 days"),
    ({"prepare_before": "999999999d"}, "meetings[0].prepare_before", "at most 366 days"),
    ({"progress_before": "367d"}, "meetings[0].progress_before", "at most 366 days"),
    ({"sync_interval": 10**20}, "meetings[0].sync_interval", "at most 366 days"),
    ({"prepare_before": -30}, "meetings[0].prepare_before", "not a negative one"),
    ({"first_date": "0001-01-01"}, "meetings[0].first_date", "between 1970-01-01"),
    ({"first_date": "9999-12-31"}, "meetings[0].first_date", "and 2199-12-31"),
    # ordinary mistakes stay one line each, however the checks above are layered
    ({"weekday": "XX"}, "meetings[0].weekday", "expected one of MO"),
    ({"cadence": "daily"}, "meetings[0].cadence", "expected weekly, biweekly"),
    ({"prepare_before": "soon"}, "meetings[0].prepare_before", "expected a duration"),
    ({"day_of_month": 32}, "meetings[0].day_of_month", "less than or equal to 31"),
])
def test_a_meeting_that_could_not_be_scheduled_is_one_problem_at_its_option(
    tmp_path: Path, changes: dict, option: str, says: str
) -> None:
    problem = only_problem(tmp_path, with_meeting(**changes))
    assert problem.startswith(f"{option}: "), problem
    assert says in problem


def test_the_tracker_settle_time_is_bounded_too(tmp_path: Path) -> None:
    data = minimal()
    data["tracker"]["settle_after"] = "99999999999d"
    assert only_problem(tmp_path, data).startswith("tracker.settle_after: at most 366 days")


@pytest.mark.parametrize(("text", "expected"), [
    ("366d", timedelta(days=366)), ("8784h", timedelta(days=366)), (0, timedelta(0)),
    (timedelta(hours=2, seconds=30), timedelta(hours=2, seconds=30)),
])
def test_durations_up_to_a_year(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("value", ["367d", "8785h", "99999999999d", 10**20, -1,
                                   timedelta(days=400), timedelta(minutes=-1)])
def test_durations_beyond_a_year_or_negative_are_a_value_error(value: object) -> None:
    with pytest.raises(ValueError):  # not OverflowError: pydantic reports only ValueError
        parse_duration(value)


CADENCES = st.sampled_from([
    "weekly", "biweekly", "monthly", "RRULE:FREQ=WEEKLY;BYDAY=MO,TH", "RRULE:FREQ=MONTHLY",
    "RRULE:FREQ=DAILY;INTERVAL=3", "RRULE:FREQ=YEARLY;COUNT=2", "RRULE:FREQ=WEEKLY;INTERVAL=0",
    "RRULE:FREQ=WEEKLY;BYDAY=9XX", "RRULE:FREQ=HOURLY", "RRULE:", "RRULE:FREQ",
])
WEEKDAY_WORDS = st.sampled_from([None, "MO", "fr", "1MO", "-1FR", "5SU", "0MO", "XX", ""])
DURATIONS = st.sampled_from(["24h", "1h30m", "0m", "366d", "367d", "99999999999d", 15, -5,
                             10**30, "1x"])


@settings(max_examples=150, deadline=None)
@given(cadence=CADENCES, weekday=WEEKDAY_WORDS, day=st.sampled_from([None, 1, 15, 31]),
       first=st.sampled_from([None, "2026-01-12", "1970-01-01", "2199-12-31", "0001-01-01",
                              "9999-12-31"]),
       lead=DURATIONS, zone=st.sampled_from(["Europe/Moscow", "Pacific/Kiritimati",
                                             "Pacific/Pago_Pago"]))
def test_a_meeting_config_either_validates_and_schedules_or_names_its_option(
    cadence: str, weekday: str | None, day: int | None, first: str | None, lead: object,
    zone: str,
) -> None:
    raw = minimal()
    raw["timezone"] = zone
    raw["meetings"][0].update(cadence=cadence, weekday=weekday, day_of_month=day,
                              prepare_before=lead, time="23:30")
    if first is not None:
        raw["meetings"][0]["first_date"] = date.fromisoformat(first)
    try:
        config = parse_config(raw, "planerka.yaml", env={})
    except ConfigError as err:
        assert err.problems
        assert all(re.match(r"planerka\.yaml: meetings\[0\]\.\w+: \S", p) for p in err.problems)
        return
    # What prepare and the daemon do with it (service.prepare, daemon.due_jobs).
    series = config.meetings[0]
    schedule = schedule_of(series, config.timezone)
    for moment in (datetime(2026, 11, 27, tzinfo=UTC), datetime(2199, 12, 30, tzinfo=UTC)):
        occurrence = schedule.after(moment)
        if occurrence is not None:
            assert occurrence.starts_at - series.prepare_before < occurrence.ends_at


# --- a file nested too deep, or an alias loop, is a problem line, not a RecursionError ---------


def write_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "planerka.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "where"), [
    ("tracker: " + "[" * 5000 + "]" * 5000 + "\n", "tracker[0][0][0]…"),
    ("tracker: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", "tracker.a.a.a…"),
    ("people:\n  - id: anna\n    name: " + "[" * 5000 + "\n", "people[0].name[0]…"),
    ("".join(" " * i + f"k{i}:\n" for i in range(1500)), "k0.k1.k2.k3…"),
    ("tracker: &loop [*loop]\n", "tracker[0][0][0]…"),
])
def test_deep_nesting_is_one_clear_problem(tmp_path: Path, text: str, where: str) -> None:
    path = write_text(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.problems == [f"{path}: {where}: nested more than 50 levels deep; a config "
                                  "is a few levels deep, so look for unclosed brackets or an "
                                  "alias (*name) inside the value it names"]


def test_an_alias_repeated_into_billions_of_values_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(ConfigError) as err:
        load_config(write_text(tmp_path, "\n".join(lines) + "\n"), env={})
    assert len(err.value.problems) == 1 and "more than 100000 values" in err.value.problems[0]


def test_a_deep_mapping_handed_to_parse_config_is_a_problem_too() -> None:
    raw: dict = minimal()
    node = raw["tracker"]
    for _ in range(5000):
        node["nested"] = {}
        node = node["nested"]
    with pytest.raises(ConfigError) as err:
        parse_config(raw, "demo.yaml", env={})
    assert err.value.problems[0].startswith("demo.yaml: tracker.nested.nested.nested…: nested")


def test_a_config_as_deep_as_real_ones_is_fine(tmp_path: Path) -> None:
    data = minimal()
    data["tracker"]["status_map"] = {"Review": "in_progress"}
    data["meetings"][0]["skip_dates"] = [date(2026, 12, 31)]
    assert load_config(write(tmp_path, data), env={}).meetings[0].skip_dates
