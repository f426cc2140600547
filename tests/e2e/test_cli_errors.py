"""The CLI as a person meets it: one line per problem, exit code 2, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

GOOD = {
    "tracker": {"kind": "trello", "api_key": "k", "token": "${PS_TEST_TOKEN}", "board": "B"},
    "people": [{"id": "anna", "name": "Анна"}],
    "meetings": [{"id": "weekly", "title": "Планёрка", "participants": ["anna"]}],
}
SECRET = "tok-9f8e7d6c5b4a"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PS_TEST_TOKEN": SECRET, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "planerka_sync", *args],
        capture_output=True, text=True, env=full_env, timeout=60, check=False,
    )


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "planerka.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def broken(key: str) -> dict:
    data = json.loads(json.dumps(GOOD))
    if key == "unknown":
        data["tracker"]["colour"] = "red"
    elif key == "type":
        data["meetings"][0]["duration_minutes"] = "an hour"
    elif key == "unset":
        data["tracker"]["api_key"] = "${PS_TEST_UNSET_VAR}"
    return data


@pytest.mark.parametrize(
    ("case", "option"),
    [("unknown", "tracker.colour"), ("type", "meetings[0].duration_minutes"),
     ("unset", "tracker.api_key")],
)
def test_config_mistake_is_one_line_exit_2(tmp_path: Path, case: str, option: str) -> None:
    path = write(tmp_path, broken(case))
    result = run("-c", str(path), "config", "validate")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and f": {option}: " in lines[0]
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = run("-c", str(missing), "config", "validate", env={"LANG": "C.UTF-8", "LC_ALL": ""})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert str(missing) in result.stderr and "no such config file" in result.stderr
    assert "planerka-sync init" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_from_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = run("config", "validate", env={"PLANERKA_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    assert "людей: 1, серий встреч: 1" in result.stdout  # GOOD has no locale: ru, the default


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    result = run("-v", "-c", str(tmp_path / "nope.yaml"), "config", "validate")
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_schema_is_json_schema_with_both_tracker_shapes() -> None:
    result = run("config", "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    tracker = schema["properties"]["tracker"]
    assert set(tracker["discriminator"]["mapping"]) == {"trello", "jira"}
    assert schema["additionalProperties"] is False


def test_before_a_config_is_read_messages_follow_lang(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    russian = run("-c", str(missing), "sync",
                  env={"LANG": "ru_RU.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert russian.returncode == 2 and "файла настроек нет" in russian.stderr
    assert "planerka-sync init" in russian.stderr and "no such" not in russian.stderr
    english = run("-c", str(missing), "sync",
                  env={"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert "no such config file" in english.stderr


def test_a_config_mistake_is_said_in_lang_s_language(tmp_path: Path) -> None:
    """The config's own locale is what is being read, so its mistakes follow LANG."""
    path = write(tmp_path, {**GOOD, "timezone": "Moscow/Kremlin"})
    russian = run("-c", str(path), "config", "validate",
                  env={"LANG": "ru_RU.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert russian.returncode == 2
    assert "неизвестный часовой пояс 'Moscow/Kremlin'" in russian.stderr
    english = run("-c", str(path), "config", "validate",
                  env={"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert "unknown time zone 'Moscow/Kremlin'" in english.stderr
