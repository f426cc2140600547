"""The lead's commands as a subprocess, against a sandbox served on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from planerka_sync.config import read_yaml
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.templates import builtin_dir

WRITES = {"POST", "PUT", "DELETE"}


def config_file(tmp_path: Path, server: SandboxServer, **tracker_changes: object) -> Path:
    raw = read_yaml(builtin_dir() / "demo.yaml")
    raw["tracker"] |= {"url": server.url, **tracker_changes}
    raw["database"] = f"sqlite:///{tmp_path / 'state.db'}"
    path = tmp_path / "planerka.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "planerka_sync", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def log(server: SandboxServer) -> list[dict]:
    return requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()


def test_check_passes_on_the_demo_board(tmp_path: Path, trello: SandboxServer) -> None:
    result = run("-c", str(config_file(tmp_path, trello)), "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✘" not in result.stdout
    assert result.stdout.count("✔") >= 2 + 4 + 5  # config, DB, board, lists, people


def test_check_and_prepare_name_a_missing_list_and_write_nothing(
    tmp_path: Path, trello: SandboxServer
) -> None:
    path = config_file(tmp_path, trello, meetings_list="Встречи")
    checked = run("-c", str(path), "check")
    assert checked.returncode != 0
    assert "✘" in checked.stdout and "Встречи" in checked.stdout
    assert "tracker.meetings_list" in checked.stdout
    prepared = run("-c", str(path), "prepare")
    assert prepared.returncode != 0
    assert "Встречи" in prepared.stderr and "Traceback" not in prepared.stderr
    assert [e for e in log(trello) if e["method"] in WRITES] == []


def test_check_flags_a_person_missing_from_the_board(tmp_path: Path, trello: SandboxServer) -> None:
    raw = yaml.safe_load(config_file(tmp_path, trello).read_text(encoding="utf-8"))
    raw["people"][1]["trello"] = "ivan-the-unknown"
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = run("-c", str(path), "check")
    assert result.returncode != 0
    assert "ivan-the-unknown" in result.stdout


def test_prepare_dry_run_then_for_real(tmp_path: Path, trello: SandboxServer) -> None:
    path = config_file(tmp_path, trello)
    dry = run("-c", str(path), "prepare", "marketing-weekly", "--for", "2026-12-07", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "будет создана" in dry.stdout and "Круглый стол" in dry.stdout
    assert [e for e in log(trello) if e["method"] in WRITES] == []
    real = run("-c", str(path), "prepare", "marketing-weekly", "--for", "2026-12-07")
    assert real.returncode == 0, real.stderr
    assert "создана" in real.stdout and "07.12.2026 10:00" in real.stdout
    again = run("-c", str(path), "prepare", "marketing-weekly", "--for", "2026-12-07")
    assert "без изменений" in again.stdout


def test_prepare_for_a_day_without_a_meeting(tmp_path: Path, trello: SandboxServer) -> None:
    result = run("-c", str(config_file(tmp_path, trello)), "prepare", "--for", "2026-12-08")
    assert result.returncode == 1
    # the demo config's locale is ru
    assert "нет встречи 2026-12-08" in result.stderr and "следующая — 2026-12-14" in result.stderr


def test_unknown_series(tmp_path: Path, trello: SandboxServer) -> None:
    result = run("-c", str(config_file(tmp_path, trello)), "prepare", "sales-daily")
    assert result.returncode == 1
    assert "sales-daily" in result.stderr and "marketing-weekly" in result.stderr


@pytest.mark.parametrize("flavour", ["trello", "jira-cloud", "jira-dc"])
def test_demo_runs_on_every_sandbox(flavour: str) -> None:
    result = run("demo", "--tracker", flavour)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "создана" in out and "Круглый стол" in out  # prepare
    assert re.search(r"Подготовить отчёт по SEO \(oleg, \d\d\.\d\d\.\d{4}\)", out)  # a task
    assert "Ход выполнения решений" in out and "Выполнено 1 из 2" in out  # progress
    # The KPIs came from the analytics sandboxes, nobody typed them: the pull names each
    # source, and blocks 1-5 of the comment have numbers compared with the period before.
    for source in ("Яндекс Метрика", "Яндекс Директ", "таблица"):
        assert source in out, source
    comment = out[out.index("Показатели (KPI)"):]
    for block in ("1. Трафик сайта", "2. Конверсии", "3. CAC и LTV", "4. ROI",
                  "5. Рекламный бюджет"):
        body = comment[comment.index(block):].split("\n\n", 2)[1]
        # a change against the period before ("−37,8 %" in a line or a table cell)
        assert re.search(r"[+−]\d+(,\d+)?\s?%", body), (block, body)
        assert "Нет данных" not in body, block


def test_a_relative_database_is_the_config_folders_wherever_the_command_runs(
    tmp_path: Path, trello: SandboxServer
) -> None:
    team = tmp_path / "team"
    team.mkdir()
    path = config_file(team, trello)
    raw = read_yaml(path)
    raw["database"] = "sqlite:///state/planerka.db"  # relative: next to the config file
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "COLUMNS": "200"}
    for cwd in (tmp_path, elsewhere):
        result = subprocess.run([sys.executable, "-m", "planerka_sync", "-c", str(path),
                                 "prepare"], capture_output=True, text=True, timeout=120,
                                env=env, cwd=cwd, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "team" / "state" / "planerka.db").is_file()
    assert not list(elsewhere.iterdir()) and not (tmp_path / "state").exists()
    checked = run("-c", str(path), "check")
    assert str(tmp_path / "team" / "state" / "planerka.db") in checked.stdout.replace("\n", "")
    created = [e for e in log(trello) if e["method"] == "POST" and e["path"] == "/1/cards"]
    assert len(created) == 2  # the template card and the one meeting card, never a second
