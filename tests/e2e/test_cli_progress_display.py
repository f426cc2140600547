"""Long steps show bars on a terminal, and nothing of them reaches a pipe: the same `sync`, with
the same decisions, run under a pseudo-terminal and with its output captured."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.test_cli_prepare import config_file, run
from tests.e2e.test_cli_scripting import comment
from tests.e2e.test_kill_and_stop import query


def on_a_terminal(*args: str) -> str:
    """What a person at a terminal would see, escape sequences and all."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "planerka_sync", *args], stdout=follower,
                               stderr=subprocess.PIPE, env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=120)
    os.close(leader)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return seen.decode("utf-8", "replace")


def test_sync_draws_bars_on_a_terminal_only(tmp_path: Path, trello: SandboxServer) -> None:
    config = str(config_file(tmp_path, trello))
    assert run("-c", config, "prepare").returncode == 0
    [(card_id,)] = query(Path(config), "SELECT item_id FROM meetings")
    due = (date.today() + timedelta(days=10)).strftime("%d.%m.%Y")
    comment(trello, card_id, [f"Решение: Задача {n}, отв. Иван, до {due}" for n in range(1, 4)])

    shown = on_a_terminal("-c", config, "sync")
    assert "решения в задачи" in shown and "3/3" in shown  # the bar, counting decisions
    assert "состояния задач" in shown  # the status pull's counter
    piped = run("-c", config, "sync")
    assert piped.returncode == 0
    assert "решения в задачи" not in piped.stdout + piped.stderr
    assert "\x1b[" not in piped.stdout  # no cursor movement in a file or a pipe
