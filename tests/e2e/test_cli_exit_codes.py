"""What scripts and shells rely on: a bare `planerka-sync` answers with its help (exit 0); `sync`
exits 6 when it finished but a decision line could not become a task, so cron notices; shell
completion scripts load and complete."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from planerka_sync.errors import INCOMPLETE_EXIT_CODE
from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.test_cli_prepare import config_file, run
from tests.e2e.test_kill_and_stop import AUTH, query


def test_bare_command_shows_help_and_exits_0() -> None:
    result = run()
    assert result.returncode == 0, result.stderr
    assert "Usage: planerka-sync" in result.stdout and "prepare" in result.stdout


def test_sync_exits_6_when_a_decision_line_cannot_become_a_task(
        tmp_path: Path, trello: SandboxServer) -> None:
    config = config_file(tmp_path, trello)
    assert run("-c", str(config), "prepare").returncode == 0
    [(card_id,)] = query(config, "SELECT item_id FROM meetings")
    due = (date.today() + timedelta(days=10)).strftime("%d.%m.%Y")
    lines = [f"Решение: Подготовить отчёт, отв. Иван, до {due}",
             f"Решение: Сделать что-то, отв. Незнакомец, до {due}"]  # nobody of that name
    requests.post(f"{trello.url}/1/cards/{card_id}/actions/comments", timeout=10,
                  params={**AUTH, "text": "\n".join(lines)}).raise_for_status()

    synced = run("-c", str(config), "sync")
    assert synced.returncode == INCOMPLETE_EXIT_CODE == 6, synced.stdout + synced.stderr
    assert "Подготовить отчёт" in synced.stdout and "Незнакомец" in synced.stdout
    again = run("-c", str(config), "sync")  # still there: still said, still 6
    assert again.returncode == 6


def test_sync_with_nothing_wrong_exits_0(tmp_path: Path, trello: SandboxServer) -> None:
    config = config_file(tmp_path, trello)
    assert run("-c", str(config), "prepare").returncode == 0
    synced = run("-c", str(config), "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_completion_loads_and_completes(tmp_path: Path) -> None:
    script = run("completion", "bash")
    assert script.returncode == 0, script.stderr
    # Load it in a real bash, as ~/.bashrc would, and check it registered itself.
    loaded = subprocess.run(["bash", "-c", f"{script.stdout}\ncomplete -p planerka-sync"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert loaded.returncode == 0 and "planerka-sync" in loaded.stdout, loaded.stderr
    # What bash asks the program for while a person types `planerka-sync pre<TAB>`.
    env = {**os.environ, "COMP_WORDS": "planerka-sync pre", "COMP_CWORD": "1",
           "_PLANERKA_SYNC_COMPLETE": "bash_complete"}
    asked = subprocess.run([sys.executable, "-m", "planerka_sync"], capture_output=True,
                           text=True, timeout=60, env=env, check=False)
    assert "plain,prepare" in asked.stdout.split()  # click's bash protocol: type,value


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_the_program(shell: str) -> None:
    script = run("completion", shell)
    assert script.returncode == 0, script.stderr
    assert "_PLANERKA_SYNC_COMPLETE" in script.stdout and "planerka-sync" in script.stdout
    assert run("completion", "tcsh").returncode == 2  # a shell we have no script for
