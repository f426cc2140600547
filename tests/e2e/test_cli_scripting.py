"""The lead's commands as scripts use them: `--json` shaped as its schema in
planerka_sync/cli/schemas and true to the tracker, dates in every form the team writes, SERIES
left out when there is one, `decisions import` keeping the good lines, -q, and messages in the
config's language."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import requests
import yaml

from planerka_sync.config import read_yaml
from planerka_sync.errors import INCOMPLETE_EXIT_CODE
from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.cli_json import valid_json
from tests.e2e.test_cli_prepare import config_file, log, run
from tests.e2e.test_kill_and_stop import AUTH, query

SERIES = "marketing-weekly"


def comment(trello: SandboxServer, card_id: str, lines: list[str]) -> None:
    requests.post(f"{trello.url}/1/cards/{card_id}/actions/comments", timeout=10,
                  params={**AUTH, "text": "\n".join(lines)}).raise_for_status()


def card(trello: SandboxServer, card_id: str) -> dict:
    found = requests.get(f"{trello.url}/1/cards/{card_id}", params=AUTH, timeout=10)
    found.raise_for_status()
    return found.json()


def soon(days: int = 10) -> date:
    return date.today() + timedelta(days=days)


def test_prepare_sync_and_progress_json_agree_with_the_tracker(
        tmp_path: Path, trello: SandboxServer) -> None:
    config = str(config_file(tmp_path, trello))
    prepared = run("-c", config, "prepare", "--json")
    assert prepared.returncode == 0, prepared.stderr
    [meeting] = valid_json("prepare", prepared.stdout)["meetings"]
    assert meeting["action"] == "create" and meeting["series"] == SERIES
    assert datetime.fromisoformat(meeting["starts_at"]).utcoffset() == timedelta(hours=3)
    assert card(trello, meeting["item"]["id"])["name"] == meeting["title"]
    again = valid_json("prepare", run("-c", config, "prepare", "--json").stdout)
    assert again["meetings"][0]["action"] == "unchanged"

    due = soon().strftime("%d.%m.%Y")
    comment(trello, meeting["item"]["id"], [f"Решение: Подготовить отчёт, отв. Иван, до {due}",
                                            f"Решение: Сделать что-то, отв. Незнакомец, до {due}"])
    synced = run("-c", config, "sync", "--json")
    assert synced.returncode == INCOMPLETE_EXIT_CODE, synced.stderr
    shape = valid_json("sync", synced.stdout)
    assert shape["incomplete"] is True and shape["task_states"] is not None
    [report] = shape["meetings"]
    [made] = report["created"]
    [failed] = report["failed"]
    assert made["owner"] == "ivan" and made["due"] == soon().isoformat()
    assert "Незнакомец" in failed["text"] and failed["error"] and failed["task"] is None
    task = card(trello, made["task"]["id"])  # the task the JSON names is in the tracker
    assert task["name"] == made["title"] and made["task"]["url"] in (task["url"], task["shortUrl"])

    shown = run("-c", config, "progress", "--dry-run", "--json")
    assert shown.returncode == 0, shown.stderr
    [progress] = valid_json("progress", shown.stdout)["meetings"]
    counts = progress["counts"]
    # The decision belongs to the coming meeting itself: the progress reviews earlier ones.
    assert counts["total"] == 0 == counts["done"] + counts["in_progress"] + counts["not_started"]
    assert progress["posted"] is False and progress["by_owner"] == []
    human = run("-c", config, "progress", "--dry-run")
    assert progress["text"].strip() and progress["text"].strip() in human.stdout


def test_an_error_under_json_is_json_too(tmp_path: Path, trello: SandboxServer) -> None:
    result = run("-c", str(config_file(tmp_path, trello)), "prepare", "sales-daily", "--json")
    assert result.returncode == 1
    error = valid_json("error", result.stdout)["error"]
    assert "sales-daily" in error["message"] and error["exit_code"] == 1
    assert "sales-daily" in result.stderr  # and the person at the terminal is told as well


def test_decisions_import_keeps_the_good_lines_and_names_the_bad_ones(
        tmp_path: Path, trello: SandboxServer) -> None:
    config = str(config_file(tmp_path, trello))
    assert run("-c", config, "prepare").returncode == 0
    due = soon().strftime("%d.%m")
    minutes = tmp_path / "minutes.md"
    minutes.write_text(f"# Планёрка\n- [ ] Обновить лендинг @maria до {due}\n"
                       f"- [ ] Сделать что-то @nobody до {due}\n"
                       f"- [ ] Подготовить отчёт по SEO @oleg до {due}\n", encoding="utf-8")
    imported = run("-c", config, "decisions", "import", str(minutes), "--json")  # no SERIES
    assert imported.returncode == INCOMPLETE_EXIT_CODE, imported.stderr
    shape = valid_json("sync", imported.stdout)
    assert sorted(d["owner"] for d in shape["meetings"][0]["created"]) == ["maria", "oleg"]
    [rejected] = shape["rejected"]
    assert rejected["ref"] == "minutes.md:3" and rejected["error"]
    assert "minutes.md:3" in imported.stderr and "nobody" in imported.stderr
    tasks = query(Path(config), "SELECT owner_person_id FROM decisions WHERE task_id IS NOT NULL")
    assert sorted(owner for (owner,) in tasks) == ["maria", "oleg"]

    # Fixed and imported again: the fixed line is taken, the others are not taken twice.
    minutes.write_text(minutes.read_text(encoding="utf-8").replace("@nobody", "@ivan"),
                       encoding="utf-8")
    before = len([e for e in log(trello) if e["method"] == "POST" and e["path"] == "/1/cards"])
    again = run("-c", config, "decisions", "import", SERIES, str(minutes), "--json")
    assert again.returncode == 0, again.stderr
    assert [d["owner"] for d in valid_json("sync", again.stdout)["meetings"][0]["created"]] == [
        "ivan"]
    after = len([e for e in log(trello) if e["method"] == "POST" and e["path"] == "/1/cards"])
    assert after == before + 1


def test_every_date_form_names_the_same_day(tmp_path: Path, trello: SandboxServer) -> None:
    config = str(config_file(tmp_path, trello))
    planned = valid_json("prepare", run("-c", config, "prepare", "--dry-run", "--json").stdout)
    day = datetime.fromisoformat(planned["meetings"][0]["starts_at"]).date()
    starts = set()
    for form in (day.isoformat(), day.strftime("%d.%m.%Y"), day.strftime("%d.%m")):
        result = run("-c", config, "prepare", SERIES, "--for", form, "--dry-run", "--json")
        assert result.returncode == 0, (form, result.stderr)
        starts.add(valid_json("prepare", result.stdout)["meetings"][0]["starts_at"])
    assert starts == {planned["meetings"][0]["starts_at"]}
    wrong = run("-c", config, "prepare", "--for", "31.02.2026")
    assert wrong.returncode == 2 and "31.02.2026" in wrong.stderr
    assert "2026-12-05, 05.12.2026 or 05.12" in wrong.stderr and "Traceback" not in wrong.stderr


def test_decide_without_series_and_with_a_short_date(tmp_path: Path,
                                                     trello: SandboxServer) -> None:
    config = str(config_file(tmp_path, trello))
    assert run("-c", config, "prepare").returncode == 0
    due = soon(12)
    decided = run("-c", config, "decide", "Обновить лендинг", "--owner", "maria",
                  "--due", due.strftime("%d.%m"), "--json")
    assert decided.returncode == 0, decided.stderr
    [made] = valid_json("sync", decided.stdout)["meetings"][0]["created"]
    assert made["owner"] == "maria" and made["due"] == due.isoformat()
    too_many = run("-c", config, "decide", SERIES, "Обновить", "лендинг")
    assert too_many.returncode == 2 and "[SERIES] TEXT" in too_many.stderr


def test_two_series_and_none_named(tmp_path: Path, trello: SandboxServer) -> None:
    path = config_file(tmp_path, trello)
    raw = read_yaml(path)
    raw["meetings"].append({**raw["meetings"][0], "id": "sales-weekly"})
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = run("-c", str(path), "decide", "Обновить лендинг")
    assert result.returncode == 1
    assert SERIES in result.stderr and "sales-weekly" in result.stderr
    assert "несколько серий" in result.stderr  # the config is Russian


def test_quiet_prints_nothing_and_the_exit_code_still_tells(
        tmp_path: Path, trello: SandboxServer) -> None:
    config = str(config_file(tmp_path, trello))
    quiet = run("-c", config, "prepare", "-q")
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stdout
    assert len(query(Path(config), "SELECT id FROM meetings")) == 1  # it did its work
    loud = run("-c", config, "sync", "-vv")  # -vv after the command name too: debug lines
    assert loud.returncode == 0 and "DEBUG planerka_sync.http: Trello GET" in loud.stderr
    assert "sandbox-token" not in loud.stderr  # redacted at every verbosity


def test_messages_follow_the_configs_language(tmp_path: Path, trello: SandboxServer) -> None:
    path = config_file(tmp_path, trello)
    russian = run("-c", str(path), "prepare", "--dry-run")
    assert "Пробный запуск" in russian.stdout and "Dry run" not in russian.stdout
    raw = read_yaml(path)
    raw["locale"] = "en"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    english = subprocess.run([sys.executable, "-m", "planerka_sync", "-c", str(path), "prepare",
                              "--dry-run"], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "LANG": "ru_RU.UTF-8"}, check=False)
    assert english.returncode == 0, english.stderr
    assert "Dry run" in english.stdout and "would create" in english.stdout
    assert "Пробный" not in english.stdout  # the config's language wins over LANG


def test_report_writes_a_dated_file_by_default_and_where_o_says(
        tmp_path: Path, trello: SandboxServer) -> None:
    config = str(config_file(tmp_path, trello))
    here = tmp_path / "here"
    here.mkdir()
    result = subprocess.run([sys.executable, "-m", "planerka_sync", "-c", config, "report"],
                            capture_output=True, text=True, timeout=120, cwd=here, check=False)
    assert result.returncode == 0, result.stderr
    [written] = here.iterdir()
    assert written.name.startswith("planerka-report-") and written.suffix == ".html"
    assert "<html" in written.read_text(encoding="utf-8").lower()
    chosen = tmp_path / "out.html"
    told = run("-c", config, "report", SERIES, "-o", str(chosen))
    assert told.returncode == 0 and "записан" in told.stdout and str(chosen) in told.stdout
    assert "<html" in chosen.read_text(encoding="utf-8").lower()
