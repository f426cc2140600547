"""Config loading: the shape, ${VAR} secrets, cross-checks and readable problems."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
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
    parse_duration,
)
from planerka_sync.errors import ConfigError
from planerka_sync.sandbox import seed

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
