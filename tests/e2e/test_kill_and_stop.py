"""A crash costs seconds, not minutes; a stop takes seconds, not the rest of the tick.

Real processes against a Trello sandbox on loopback whose every request takes 0.5 s (a slow
tracker): `sync` killed with SIGKILL in the middle of creating tasks, then run again at once;
`run` sent SIGTERM in the middle of its work.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import create_engine, text

from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.test_cli_prepare import config_file, log, run

AUTH = {"key": "sandbox-key", "token": "sandbox-token"}
OWNERS = ["Олег", "@ivan", "Мария", "@dmitry", "Анна", "@oleg"]
LATENCY = 0.5


def slow_down(server: SandboxServer) -> None:
    requests.post(f"{server.url}/_sandbox/faults", timeout=5, json={
        "path": ".*", "latency": LATENCY, "count": 100_000}).raise_for_status()


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "planerka_sync", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})


def query(config: Path, sql: str) -> list[tuple]:
    """Read the state DB behind the process's back (SQLite, as the config says)."""
    url = yaml.safe_load(config.read_text(encoding="utf-8"))["database"]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str,
             timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the process ended before {what}: {process.returncode}\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def holds(config: Path, meeting_id: int, pid: int) -> bool:
    """Whether process ``pid`` holds the meeting's lease now (SQLite keeps naive UTC text)."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return bool(query(config, f"SELECT 1 FROM leases WHERE name = 'meeting:{meeting_id}' "
                              f"AND pid = {pid} AND expires_at > '{now}'"))


def write_decisions(server: SandboxServer, card_id: str, count: int) -> None:
    """What the team types in the meeting card: a comment of decision lines, due in 10 days."""
    due = (date.today() + timedelta(days=10)).strftime("%d.%m.%Y")
    lines = [f"Решение: Задача номер {n + 1}, отв. {OWNERS[n % len(OWNERS)]}, до {due}"
             if not OWNERS[n % len(OWNERS)].startswith("@")
             else f"Решение: Задача номер {n + 1} {OWNERS[n % len(OWNERS)]} до {due}"
             for n in range(count)]
    requests.post(f"{server.url}/1/cards/{card_id}/actions/comments", timeout=10,
                  params={**AUTH, "text": "\n".join(lines)}).raise_for_status()


def task_markers(server: SandboxServer) -> Counter[str]:
    """Every task card on the board (archived ones too), counted by its marker."""
    boards = requests.get(f"{server.url}/1/members/me/boards", timeout=10,
                          params={**AUTH, "fields": "name"}).json()
    cards = requests.get(f"{server.url}/1/boards/{boards[0]['id']}/cards", timeout=10,
                         params={**AUTH, "filter": "all"}).json()
    found = (re.search(r"`planerka:(planerka-d-[0-9a-f]+)`", c.get("desc") or "") for c in cards)
    return Counter(m.group(1) for m in found if m)


def task_creates(server: SandboxServer) -> int:
    return sum(1 for e in log(server) if e["method"] == "POST" and e["path"] == "/1/cards")


@pytest.mark.timeout(240)
def test_sync_killed_mid_work_is_taken_over_at_once_and_creates_nothing_twice(
    tmp_path: Path, trello: SandboxServer
) -> None:
    config = config_file(tmp_path, trello)
    prepared = run("-c", str(config), "prepare")
    assert prepared.returncode == 0, prepared.stderr
    [(meeting_id, card_id)] = query(config, "SELECT id, item_id FROM meetings")
    decisions = 6
    write_decisions(trello, card_id, decisions)
    requests.delete(f"{trello.url}/_sandbox/requests", timeout=5)
    slow_down(trello)

    first = start("-c", str(config), "sync")
    try:
        # Kill it once it holds the meeting's lease and has created a task: the worst moment.
        wait_for(lambda: task_creates(trello) >= 1 and holds(config, meeting_id, first.pid),
                 first, "a task created under the meeting's lease")
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL  # reaped: its pid is gone
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert holds(config, meeting_id, first.pid)  # the dead process's lease has not expired

    started = time.monotonic()
    second = run_within(35, "-c", str(config), "sync")
    assert second.returncode == 0, second.stdout + second.stderr
    assert time.monotonic() - started < 35
    time.sleep(2 * LATENCY)  # a create the killed process had in flight lands by now
    markers = task_markers(trello)
    assert [m for m, n in markers.items() if n > 1] == []  # no task twice
    # At most the one create in flight at the kill is left in doubt (looked up, never resent,
    # until tracker.settle_after); every other decision has its task.
    assert decisions - 1 <= len(markers) <= decisions
    [(tasks_known,)] = query(config, "SELECT count(*) FROM decisions WHERE task_id IS NOT NULL")
    assert tasks_known >= decisions - 1


def run_within(seconds: float, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "planerka_sync", *args], capture_output=True,
                          text=True, timeout=seconds, check=False,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.mark.timeout(180)
def test_sigterm_with_a_slow_tracker_exits_zero_within_ten_seconds(
    tmp_path: Path, trello: SandboxServer
) -> None:
    # Prepare and progress both due now: a tick of a hundred-odd requests, ~50 s at 0.5 s each.
    config = config_file(tmp_path, trello)
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["meetings"][0] |= {"prepare_before": "8d", "progress_before": "7d"}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    slow_down(trello)

    process = start("-c", str(config), "run")
    try:
        wait_for(lambda: task_creates(trello) >= 1, process, "the meeting card being created")
        stopped_at = time.time()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        _, err = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, err
    assert "Traceback" not in err
    # Nothing was sent after the stop but the request already in flight.
    started_after = [e for e in log(trello)
                     if e["at"] - e["duration_ms"] / 1000 > stopped_at + LATENCY]
    assert started_after == []
    # The interrupted job is left for the next run: failed (retried at once), never running.
    states = {state for (state,) in query(config, "SELECT state FROM jobs")}
    assert "running" not in states and states <= {"failed", "done"}

    requests.delete(f"{trello.url}/_sandbox/faults", timeout=5)
    again = run("-c", str(config), "run", "--once")  # resumes it, creating nothing twice
    assert again.returncode == 0, again.stderr
    assert {s for (s,) in query(config, "SELECT state FROM jobs")} == {"done"}
    cards = requests.get(f"{trello.url}/1/boards/{board_id(trello)}/cards", timeout=10,
                         params={**AUTH, "filter": "all"}).json()
    meeting_cards = [c for c in cards if "Планёрка отдела маркетинга" in c["name"]]
    assert len(meeting_cards) == 1


def board_id(server: SandboxServer) -> str:
    boards = requests.get(f"{server.url}/1/members/me/boards", timeout=10,
                          params={**AUTH, "fields": "name"}).json()
    return str(boards[0]["id"])
