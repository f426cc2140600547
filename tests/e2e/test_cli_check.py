"""`planerka-sync check` as a doctor, on every sandbox: every list, status, issue type, person and
KPI source the config names is verified once; a mistake fails with exit 1 and advice naming the
option to fix and what exists; `--json` follows check.schema.json."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from planerka_sync.config import read_yaml
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.seed import JIRA_PROJECT_KEY
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.templates import builtin_dir
from tests.e2e.cli_json import valid_json

FLAVOURS = ["trello", "jira-cloud", "jira-dc"]
KPI_SECRET = "KPISECRET0123456789"


@pytest.fixture(params=FLAVOURS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[tuple[str, SandboxServer]]:
    server = SandboxServer(make_emulator(request.param)).start()
    try:
        yield request.param, server
    finally:
        server.stop()


class _Kpi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"visits": 20000}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def kpi_url() -> Iterator[str]:
    """A JSON metrics endpoint that answers, with a token in its query."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Kpi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/export?token={KPI_SECRET}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def config(tmp_path: Path, flavour: str, server: SandboxServer, kpi_url: str,
           change: Callable[[dict[str, Any]], None] | None = None, locale: str = "ru") -> Path:
    """The demo config on this sandbox, naming a status or list in status_map, a done list
    (Trello), the issue types (Jira) and a KPI source; ``change`` makes one mistake."""
    raw = read_yaml(builtin_dir() / "demo.yaml")
    raw["locale"] = locale
    if flavour == "trello":
        raw["tracker"] |= {"url": server.url, "status_map": {"In Progress": "in_progress",
                                                             "Done": "done"}}
    else:
        raw["tracker"] = {"kind": "jira", "url": server.url, "project": JIRA_PROJECT_KEY,
                          "token": "sandbox-token", "meeting_issue_type": "Task",
                          "task_issue_type": "Task",
                          "status_map": {"In Progress": "in_progress", "Done": "done"}}
        if flavour == "jira-cloud":
            raw["tracker"] |= {"deployment": "cloud", "email": "anna@example.org"}
        else:
            raw["tracker"] |= {"deployment": "datacenter"}
            for person in raw["people"]:
                person["jira"] = person["id"]
    raw["kpi_sources"] = [{"kind": "http-json", "url": kpi_url, "timeout": 5,
                           "headers": {"Authorization": f"Bearer {KPI_SECRET}"},
                           "pointers": {"sessions": "/visits"}}]
    raw["database"] = f"sqlite:///{tmp_path / 'state.db'}"
    if change is not None:
        change(raw)
    path = tmp_path / "planerka.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}
    result = subprocess.run([sys.executable, "-m", "planerka_sync", "-c", str(path), "check",
                             *args], capture_output=True, text=True, timeout=120, env=env,
                            check=False)
    assert "Traceback" not in result.stderr, result.stderr
    assert KPI_SECRET not in result.stdout + result.stderr
    return result


def checks(path: Path) -> tuple[int, dict[str, Any]]:
    result = run(path, "--json")
    payload = valid_json("check", result.stdout)
    ids = [c["id"] for c in payload["checks"]]
    assert len(ids) == len(set(ids)), ids  # each thing once
    assert payload["failed"] == sum(not c["ok"] for c in payload["checks"])
    assert payload["ok"] == (payload["failed"] == 0) == (result.returncode == 0)
    return result.returncode, payload


def test_a_good_config_passes(tmp_path: Path, sandbox: tuple[str, SandboxServer],
                              kpi_url: str) -> None:
    flavour, server = sandbox
    path = config(tmp_path, flavour, server, kpi_url)
    human = run(path)
    assert human.returncode == 0, human.stdout + human.stderr
    assert "✘" not in human.stdout and "что проверено" in human.stdout
    code, payload = checks(path)
    assert code == 0 and payload == {**payload, "ok": True, "failed": 0}
    ids = {c["id"] for c in payload["checks"]}
    people = {f"person:{p}" for p in ("anna", "ivan", "maria", "oleg", "dmitry")}
    assert {"config", "state_db", "kpi_source:0"} | people <= ids
    if flavour == "trello":
        assert {"board:Marketing", "list:Планёрки", "list:To Do", "list:In Progress",
                "list:Done"} <= ids
    else:
        assert {"credentials", f"project:{JIRA_PROJECT_KEY}", "issue_type:Task",
                "status:In Progress", "status:Done"} <= ids
    assert human.stdout.count("✔") == len(payload["checks"])  # the table: the same rows


def test_one_row_for_a_thing_several_options_name(
        tmp_path: Path, sandbox: tuple[str, SandboxServer], kpi_url: str) -> None:
    """Jira: the meeting and task issue types are both Task; Trello: Done is a done list and
    in status_map. One row each, naming both options; the table shows it once too."""
    flavour, server = sandbox
    path = config(tmp_path, flavour, server, kpi_url, locale="en")
    _, payload = checks(path)
    wanted = "list:Done" if flavour == "trello" else "issue_type:Task"
    options = (["tracker.done_lists", "tracker.status_map"] if flavour == "trello"
               else ["tracker.meeting_issue_type", "tracker.task_issue_type"])
    [row] = [c for c in payload["checks"] if c["id"] == wanted]
    assert row["ok"] and row["options"] == options
    assert all(option in row["what"] for option in options)
    human = run(path).stdout
    name = "list 'Done'" if flavour == "trello" else "issue type 'Task'"
    assert human.count(name) == 1, human


def _status_map(raw: dict[str, Any]) -> None:
    raw["tracker"]["status_map"] = {"In Progress": "in_progress", "Review": "in_progress"}


def _done(raw: dict[str, Any]) -> None:
    if raw["tracker"]["kind"] == "trello":
        raw["tracker"]["done_lists"] = ["Готово"]
    else:
        raw["tracker"]["status_map"] = {"Closed": "done"}


def _issue_type(raw: dict[str, Any]) -> None:
    raw["tracker"]["task_issue_type"] = "Story"


def _person(raw: dict[str, Any]) -> None:
    kind = raw["tracker"]["kind"]
    raw["people"][1][kind] = "nobody-here"


def _kpi(raw: dict[str, Any]) -> None:
    raw["kpi_sources"][0]["url"] = f"http://127.0.0.1:{closed_port()}/export?token={KPI_SECRET}"


# mistake -> (the change, the failed row's id on Trello / Jira, words its advice must hold)
MISTAKES: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[str, str], list[str]]] = {
    "status_map": (_status_map, ("list:Review", "status:Review"),
                   ["tracker.status_map", "In Progress"]),
    "done": (_done, ("list:Готово", "status:Closed"), ["Done"]),
    "issue_type": (_issue_type, ("", "issue_type:Story"),
                   ["tracker.task_issue_type", "Task"]),
    "person": (_person, ("person:ivan", "person:ivan"), ["nobody-here", "people[1]."]),
    "kpi_source": (_kpi, ("kpi_source:0", "kpi_source:0"),
                   ["источник недоступен", "kpi_sources[0].url"]),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_mistake_fails_and_says_what_to_fix(
        tmp_path: Path, sandbox: tuple[str, SandboxServer], kpi_url: str, mistake: str) -> None:
    flavour, server = sandbox
    change, (trello_id, jira_id), words = MISTAKES[mistake]
    wanted = trello_id if flavour == "trello" else jira_id
    if not wanted:
        pytest.skip("Trello has no issue types")
    path = config(tmp_path, flavour, server, kpi_url, change)
    code, payload = checks(path)
    assert code == 1 and payload["failed"] == 1 and not payload["ok"]
    [failed] = [c for c in payload["checks"] if not c["ok"]]
    assert failed["id"] == wanted
    key = {"done": "tracker.done_lists" if flavour == "trello" else "tracker.status_map"}
    for word in [*words, key.get(mistake, "")]:
        assert word in failed["advice"], failed
    human = run(path)
    assert human.returncode == 1
    assert human.stdout.count("✘") == 1 and failed["advice"][:40] in human.stdout
    assert "не пройдено проверок: 1" in human.stderr


def test_advice_in_english(tmp_path: Path, trello: SandboxServer, kpi_url: str) -> None:
    path = config(tmp_path, "trello", trello, kpi_url, _status_map, locale="en")
    code, payload = checks(path)
    [failed] = [c for c in payload["checks"] if not c["ok"]]
    assert code == 1
    assert failed["what"] == "list 'Review' (tracker.status_map)"
    assert failed["advice"] == (
        "board 'Marketing' has no list 'Review': create it in Trello, or use one of "
        "Планёрки, To Do, In Progress, Done in tracker.status_map")
    assert "1 check failed" in run(path).stderr


def test_a_near_miss_is_named(tmp_path: Path, jira_cloud_sandbox: SandboxServer,
                              kpi_url: str) -> None:
    def lower_case(raw: dict[str, Any]) -> None:
        raw["tracker"]["status_map"] = {"done": "done"}

    path = config(tmp_path, "jira-cloud", jira_cloud_sandbox, kpi_url, lower_case)
    _, payload = checks(path)
    [failed] = [c for c in payload["checks"] if not c["ok"]]
    assert "«Done»" in failed["advice"] and "совпадать точно" in failed["advice"]


def test_a_tracker_refusing_the_credentials_is_one_row_and_kpi_is_still_checked(
        tmp_path: Path, trello: SandboxServer, kpi_url: str) -> None:
    def other_board(raw: dict[str, Any]) -> None:
        raw["tracker"]["board"] = "Sales"

    code, payload = checks(config(tmp_path, "trello", trello, kpi_url, other_board))
    assert code == 1 and payload["failed"] == 1
    [failed] = [c for c in payload["checks"] if not c["ok"]]
    assert failed["id"] == "tracker" and "tracker.board" in failed["advice"]
    assert any(c["id"] == "kpi_source:0" and c["ok"] for c in payload["checks"])


@pytest.mark.parametrize("flavour", ["jira-cloud", "jira-dc"])
def test_a_person_jira_will_not_assign_is_named(tmp_path: Path, flavour: str,
                                                kpi_url: str) -> None:
    """A deactivated account exists (GET user answers) but Jira refuses it as an assignee:
    every decision task for them would fail at create, so check says it now."""
    emulator = make_emulator(flavour)
    emulator.db["people"]["oleg"]["active"] = False  # type: ignore[attr-defined]
    server = SandboxServer(emulator).start()
    try:
        code, payload = checks(config(tmp_path, flavour, server, kpi_url))
    finally:
        server.stop()
    assert code == 1 and payload["failed"] == 1
    [row] = [c for c in payload["checks"] if not c["ok"]]
    assert row["id"] == "person:oleg" and "people[3].jira" in row["advice"]
    assert "нельзя назначать задачи" in row["advice"]
