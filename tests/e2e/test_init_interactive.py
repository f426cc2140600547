"""`planerka-sync init` as a person uses it: in a real terminal (tmux), typing the answers at
rich's prompts - a wrong token first, which is refused and asked again - and ending with a config
that passes `check`."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.test_init import KEY, SECRET_VARIABLES, TOKEN, seed

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
TIMEOUT = 30.0


class Terminal:
    """One tmux session running a command; what it shows, and keys typed into it."""

    def __init__(self, command: str, cwd: Path) -> None:
        self.name = f"planerka-init-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
        env.update({"LANG": "en_US.UTF-8", "LC_ALL": "", "TERM": "xterm-256color",
                    "COLUMNS": "160"})
        env.pop("LC_ALL")
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50",
                        "-c", str(cwd), f"{command}; echo EXIT=$?; sleep 60"],
                       env=env, check=True, timeout=10)
        self.seen = 0  # how much of the screen has been answered

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-S", "-", "-t", self.name],
                              capture_output=True, text=True, check=True, timeout=10).stdout

    def wait_for(self, text: str) -> str:
        """The screen once ``text`` shows after what was already answered."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            screen = self.screen()
            found = screen.find(text, self.seen)
            if found >= 0:
                self.seen = found + len(text)
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not show; the screen:\n{self.screen()}")

    def answer(self, prompt: str, keys: str) -> None:
        self.wait_for(prompt)
        time.sleep(0.05)
        if keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", keys], check=True,
                           timeout=10)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True, timeout=10)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False, timeout=10)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(make_emulator("trello", seed("trello"))).start()
    try:
        yield server
    finally:
        server.stop()


def test_typing_through_init_in_a_terminal(tmp_path: Path, sandbox: SandboxServer) -> None:
    command = f"{shlex.quote(sys.executable)} -m planerka_sync init"
    terminal = Terminal(command, tmp_path)
    try:
        terminal.answer("Language / язык", "en")
        terminal.answer("Time zone of the team", "Europe/Berlin")
        terminal.answer("Tracker", "1")
        terminal.answer("Tracker URL", sandbox.url)
        terminal.answer("Trello API key", KEY)
        terminal.answer("Trello token", "WRONG-TOKEN-0123456789")
        terminal.wait_for("did not accept these credentials")
        terminal.answer("Trello API key", KEY)
        terminal.answer("Trello token", TOKEN)
        terminal.wait_for("signed in as Анна Смирнова")
        terminal.answer("Trello board", "")  # the proposal: the only board
        terminal.answer("List for the meeting cards", "")
        terminal.answer("List where decision tasks are created", "")
        terminal.answer("Lists whose cards are done", "")
        terminal.answer("Who is on the team?", "")
        terminal.answer("Change anyone's id or aliases?", "")
        terminal.answer("Meeting title", "Marketing weekly")
        terminal.answer("Series id", "")
        terminal.answer("How often", "")
        terminal.answer("Weekday", "tuesday")
        terminal.answer("Start time", "9:30")
        terminal.answer("Length in minutes", "")
        terminal.answer("Place or call link", "Room 5")
        terminal.answer("Participants", "")
        terminal.answer("Facilitator", "")
        screen = terminal.wait_for("EXIT=")
    finally:
        terminal.close()
    assert "EXIT=0" in screen, screen
    checks = screen.split("signed in as", 1)[1]  # the wrong token's ✘ is before it
    assert "planerka-sync check" in checks and "✘" not in checks and "✔" in checks
    assert KEY not in screen and TOKEN not in screen  # the secrets were typed unseen
    raw = yaml.safe_load((tmp_path / "planerka.yaml").read_text("utf-8"))
    assert raw["locale"] == "en" and raw["timezone"] == "Europe/Berlin"
    series = raw["meetings"][0]
    assert (series["weekday"], series["time"], series["place"]) == ("TU", "09:30", "Room 5")
    assert series["facilitator"] == "anna" and "newperson" in series["participants"]
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    checked = subprocess.run([sys.executable, "-m", "planerka_sync", "check"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60, env=env, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
