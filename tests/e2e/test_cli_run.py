"""`planerka-sync run` as a process: --once, a clean stop on SIGTERM, a clear error without a DB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.test_cli_prepare import config_file, run


def test_once_runs_what_is_due_and_exits(tmp_path: Path, trello: SandboxServer) -> None:
    result = run("-c", str(config_file(tmp_path, trello)), "run", "--once")
    assert result.returncode == 0, result.stderr
    log = requests.get(f"{trello.url}/_sandbox/requests", timeout=5).json()
    assert log  # it looked at the board (a sync tick)


def test_sigterm_finishes_and_exits_zero(tmp_path: Path, trello: SandboxServer) -> None:
    path = config_file(tmp_path, trello)
    process = subprocess.Popen(
        [sys.executable, "-m", "planerka_sync", "-v", "-c", str(path), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until it has started ticking
            line = process.stderr.readline()
            if "planerka-sync run as" in line:
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path, trello: SandboxServer) -> None:
    raw = yaml.safe_load(config_file(tmp_path, trello).read_text(encoding="utf-8"))
    raw["database"] = "postgresql+psycopg://planerka:secret-pw@127.0.0.1:1/planerka"
    path = tmp_path / "pg.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = run("-c", str(path), "run", "--once")
    assert result.returncode != 0
    assert "не удаётся открыть базу состояния" in result.stderr  # the config's locale is ru
    assert "secret-pw" not in result.stderr and "Traceback" not in result.stderr
