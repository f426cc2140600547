"""Bad input is answered, never fatal: every config `config validate` accepts also works in
`prepare` and `run`, and every one it refuses is refused by them the same way — one line naming
the option, exit code 2, no traceback, nothing sent to a tracker."""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def closed_port() -> int:
    """A loopback port nothing listens on: a command that got as far as the tracker would fail
    there with exit 4, not 2."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def good(tmp_path: Path) -> dict:
    return {
        "tracker": {"kind": "trello", "api_key": "k", "token": "t", "board": "B",
                    "url": f"http://127.0.0.1:{closed_port()}"},
        "database": f"sqlite:///{tmp_path / 'state.db'}",
        "people": [{"id": "anna", "name": "Анна"}],
        "meetings": [{"id": "weekly", "title": "Планёрка", "participants": ["anna"]}],
    }


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}  # one problem, one line, however long
    return subprocess.run([sys.executable, "-m", "planerka_sync", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


MEETING_MISTAKES = [
    ({"weekday": "2MO"}, "meetings[0].weekday", "only makes sense for cadence: monthly"),
    ({"cadence": "RRULE:FREQ=WEEKLY;BYDAY=XX"}, "meetings[0].cadence", "invalid 'BYDAY'"),
    ({"cadence": "RRULE:FREQ=SOMETIMES"}, "meetings[0].cadence", "invalid 'FREQ'"),
    ({"cadence": "RRULE:"}, "meetings[0].cadence", "is empty"),
    ({"cadence": "RRULE:FREQ=WEEKLY;INTERVAL=0"}, "meetings[0].cadence", "1 or more"),
    ({"prepare_before": "99999999999d"}, "meetings[0].prepare_before", "at most 366 days"),
    ({"progress_before": "999999999d"}, "meetings[0].progress_before", "at most 366 days"),
    ({"first_date": "9999-12-31"}, "meetings[0].first_date", "between 1970-01-01"),
]


def bad_configs(tmp_path: Path) -> list[tuple[str, str, str]]:
    """(file text, option, words of the problem) for each kind of bad input."""
    cases = []
    for changes, option, says in MEETING_MISTAKES:
        data = copy.deepcopy(good(tmp_path))
        data["meetings"][0].update(changes)
        cases.append((yaml.safe_dump(data, allow_unicode=True), option, says))
    deep = yaml.safe_dump(good(tmp_path), allow_unicode=True).replace(
        "board: B", "board: " + "[" * 5000 + "]" * 5000)
    cases.append((deep, "tracker.board[0][0]…", "nested more than 50 levels deep"))
    cases.append(("tracker: &loop [*loop]\n", "tracker[0][0][0]…", "nested more than 50"))
    return cases


CASE_IDS = [f"{next(iter(c[0]))}={next(iter(c[0].values()))}" for c in MEETING_MISTAKES] + [
    "yaml-5000-deep", "yaml-alias-loop"]


@pytest.mark.parametrize("index", range(len(CASE_IDS)), ids=CASE_IDS)
@pytest.mark.parametrize("command", [("config", "validate"), ("prepare",), ("run", "--once")],
                         ids=" ".join)
def test_bad_config_is_one_line_exit_2_in_every_command(
    tmp_path: Path, index: int, command: tuple[str, ...]
) -> None:
    text, option, says = bad_configs(tmp_path)[index]
    path = tmp_path / "planerka.yaml"
    path.write_text(text, encoding="utf-8")
    result = run("-c", str(path), *command)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}: {option}: "), lines[0]
    assert says in lines[0]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_the_good_config_gets_past_validation(tmp_path: Path) -> None:
    """The control: the same file without the mistake validates (prepare would go on to the
    tracker, which is the other tests' business)."""
    path = tmp_path / "planerka.yaml"
    path.write_text(yaml.safe_dump(good(tmp_path), allow_unicode=True), encoding="utf-8")
    result = run("-c", str(path), "config", "validate")
    assert result.returncode == 0, result.stderr
