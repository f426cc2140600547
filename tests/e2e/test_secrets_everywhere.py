"""Issue 12, secrets never printed: every command, at -vv, against a Trello and a Jira Cloud
sandbox, answered normally and with forced errors (401, 404, 429, a closed port). The secrets
are long sentinel values in the environment, referenced by the config as ${VAR}; none may
show in stdout, stderr, the state DB, the HTML report, or what the tracker was sent.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from planerka_sync.config import read_yaml
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.seed import JIRA_PROJECT_KEY
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.templates import builtin_dir

SECRETS = {
    "TRELLO_API_KEY": "SENTINELKEY1234567890abcdef",
    "TRELLO_TOKEN": "SENTINELTOKEN0123456789abcdefSENTINELTOKEN",
    "TRELLO_APP_SECRET": "SENTINELAPPSECRET0123456789",
    "JIRA_TOKEN": "SENTINELJIRATOKEN0123456789abcdef",
    "JIRA_WEBHOOK_SECRET": "SENTINELJIRAHOOK0123456789",
    "KPI_TOKEN": "SENTINELKPITOKEN0123456789",
}
JIRA_EMAIL = "anna@example.org"
# What Jira Cloud is sent: email:token as HTTP Basic credentials.
JIRA_BASIC = base64.b64encode(f"{JIRA_EMAIL}:{SECRETS['JIRA_TOKEN']}".encode()).decode()
# Every sentinel starts so: a secret cut short or re-cased still shows.
MARK = "SENTINEL"
SERIES = "marketing-weekly"
TIMEOUT = 60


@dataclass
class Workspace:
    """One config + state DB + files a command may write, against one sandbox."""

    root: Path
    config: Path
    server: SandboxServer

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **SECRETS, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
        return subprocess.run(
            [sys.executable, "-m", "planerka_sync", "-vv", "-c", str(self.config), *args],
            capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=self.root,
            check=False)


def workspace(root: Path, server: SandboxServer, flavour: str, url: str | None = None
              ) -> Workspace:
    """The demo config with every secret taken from the environment as ${VAR}."""
    root.mkdir(parents=True, exist_ok=True)
    raw = read_yaml(builtin_dir() / "demo.yaml")
    if flavour == "trello":
        raw["tracker"] |= {"api_key": "${TRELLO_API_KEY}", "token": "${TRELLO_TOKEN}"}
    else:
        raw["tracker"] = {"kind": "jira", "deployment": "cloud", "project": JIRA_PROJECT_KEY,
                          "email": JIRA_EMAIL, "token": "${JIRA_TOKEN}"}
    raw["tracker"]["url"] = url or server.url
    raw["serve"] = {"trello_app_secret": "${TRELLO_APP_SECRET}",
                    "jira_webhook_secret": "${JIRA_WEBHOOK_SECRET}"}
    # A KPI source nobody answers: its failure is logged, with its URL, at every progress.
    raw["kpi_sources"] = [{
        "kind": "http-json", "url": f"http://127.0.0.1:{closed_port()}/kpi.json",
        "headers": {"Authorization": "Bearer ${KPI_TOKEN}"}, "pointers": {"sessions": "/v"}}]
    raw["database"] = f"sqlite:///{root / 'state.db'}"
    config = root / "planerka.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    (root / "minutes.md").write_text("- [ ] Запустить рассылку @maria\n", encoding="utf-8")
    (root / "kpi.csv").write_text("metric,period_end,value\nsessions,2026-11-30,21000\n",
                                  encoding="utf-8")
    return Workspace(root, config, server)


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Every command that reads the config, in an order that gives each something to do. From
# `planerka-sync --help`; demo, sandbox and `config schema` never read the config's secrets
# (serve is run on its own below).
COMMANDS: list[tuple[str, ...]] = [
    ("config", "validate"),
    ("check",),
    ("prepare", SERIES),
    ("sync", SERIES),
    ("decide", SERIES, "Обновить лендинг", "--owner", "ivan", "--due", "+7d"),
    ("decisions", "import", SERIES, "minutes.md"),
    ("kpi", "record", "--series", SERIES, "sessions=20000", "conversions=500"),
    ("kpi", "import", "--series", SERIES, "kpi.csv"),
    ("kpi", "show", SERIES),
    ("progress", SERIES),
    ("report", SERIES, "-o", "report.html"),
    ("check", "--json"),  # what scripts read: the JSON outputs and the JSON error
    ("sync", SERIES, "--json"),
    ("progress", SERIES, "--json", "--dry-run"),
    ("webhooks", "install", "--url", "http://127.0.0.1:9/planerka"),
    ("webhooks", "list"),
    ("webhooks", "remove"),
    ("run", "--once"),
]
# What a forced error is tried on: each way an error is shown (a command's error line, check's
# advice table, the daemon's log). Every command meets the fault at its first tracker call, so
# more commands would only repeat these.
FAULTED = [("check",), ("sync", SERIES), ("run", "--once")]
# Trello's webhooks are listed at /1/tokens/{token}/webhooks: faulted alone, after the board
# was found, so the error is about that path.
TOKEN_PATH = "^/1/tokens/"
# A closed port costs the retries' back-off (seconds each): a write and the token-in-path call.
REFUSED = [("prepare", SERIES), ("webhooks", "list")]
FAULTS: dict[str, dict[str, Any]] = {
    "401": {"status": 401, "body": "invalid token"},
    "404": {"status": 404, "body": {"errorMessages": ["not found"]}},
    "429": {"status": 429, "headers": {"Retry-After": "0"},
            "body": {"error": "API_TOKEN_LIMIT_EXCEEDED"}},
}


@pytest.fixture(params=["trello", "jira-cloud"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[tuple[str, SandboxServer]]:
    server = SandboxServer(make_emulator(request.param)).start()
    try:
        yield request.param, server
    finally:
        server.stop()


def leaks(text: str) -> list[str]:
    """The secrets in ``text`` (any sentinel, or Jira's Basic credentials)."""
    found = [name for name, value in SECRETS.items() if value in text]
    return found + [kind for kind, value in (("sentinel", MARK), ("basic", JIRA_BASIC))
                    if value in text]


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    command = " ".join(result.args[6:])
    assert not leaks(result.stdout), f"{command}: stdout leaks {leaks(result.stdout)}"
    assert not leaks(result.stderr), f"{command}: stderr leaks {leaks(result.stderr)}"


def assert_files_clean(root: Path) -> None:
    """The state DB (read as bytes: free pages and the WAL too), the report, any log."""
    files = [f for f in root.rglob("*") if f.is_file() and f.suffix not in (".yaml", ".md")]
    assert any(f.name == "state.db" for f in files)
    for file in files:
        text = file.read_bytes().decode("latin-1")
        assert not leaks(text), f"{file.name} leaks {leaks(text)}"


def sandbox_state(server: SandboxServer) -> dict[str, Any]:
    state = requests.get(f"{server.url}/_sandbox/state", timeout=5).json()
    # The tracker's own record of who registered a webhook (as real Trello keeps it) is not
    # something we wrote: everything else - cards, comments, issues, attachments - is.
    for hook in (state.get("webhooks") or {}).values():
        hook.pop("token", None)
    state.pop("credentials", None)
    return state


def fault(server: SandboxServer, spec: dict[str, Any], path: str = "^/(1|rest)/") -> None:
    requests.delete(f"{server.url}/_sandbox/faults", timeout=5).raise_for_status()
    response = requests.post(f"{server.url}/_sandbox/faults", timeout=5,
                             json={"path": path, "count": 10_000, **spec})
    response.raise_for_status()


def test_every_command_at_debug_level_shows_no_secret(
    tmp_path: Path, sandbox: tuple[str, SandboxServer]
) -> None:
    flavour, server = sandbox
    space = workspace(tmp_path, server, flavour)
    results = [space.run(*command) for command in COMMANDS]
    for command, result in zip(COMMANDS, results, strict=True):
        assert_clean(result)
        if command[0] == "webhooks" and flavour != "trello":
            continue  # Jira Cloud: admin steps, or an answer that it has none to list
        if command[0] == "check":
            # The workspace's KPI source answers nobody: that row, and it alone, fails.
            assert result.returncode == 1, f"{command}: {result.stdout}{result.stderr}"
            assert "проверок: 1;" in result.stderr and "kpi_sources[0]" in result.stdout
            continue
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    debug = "".join(r.stderr for r in results)
    assert "DEBUG urllib3" in debug  # -vv really logged every request ...
    if flavour == "trello":
        assert "token=***" in debug  # ... with the URLs Trello wants its key and token in
    assert (tmp_path / "report.html").stat().st_size > 0
    assert_files_clean(tmp_path)
    state = json.dumps(sandbox_state(server), ensure_ascii=False)
    assert ".ics" in state  # the invite was attached, and is checked with the rest
    assert not leaks(state)


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_tracker_errors_show_no_secret(
    tmp_path: Path, sandbox: tuple[str, SandboxServer], kind: str
) -> None:
    flavour, server = sandbox
    fault(server, FAULTS[kind])
    results = run_each(tmp_path / "all", server, flavour, FAULTED)
    if flavour == "trello":
        fault(server, FAULTS[kind], path=TOKEN_PATH)
        [listed] = run_each(tmp_path / "token", server, flavour, [("webhooks", "list")])
        assert "/1/tokens/***/webhooks" in listed.stderr, listed.stderr[-2000:]
        results.append(listed)
    for result in results:
        assert_clean(result)
        assert f" -> {kind} (" in result.stderr  # the fault really hit (http.py's debug line)
    if kind == "429":
        assert all("retrying in" in r.stderr for r in results)
    assert_files_clean(tmp_path)


def test_an_unreachable_tracker_shows_no_secret(
    tmp_path: Path, sandbox: tuple[str, SandboxServer]
) -> None:
    flavour, server = sandbox
    url = f"http://127.0.0.1:{closed_port()}"
    results = run_each(tmp_path, server, flavour, REFUSED, url=url)
    for result in results:
        assert_clean(result)
        assert "cannot reach" in result.stderr or "Traceback" in result.stderr
    assert_files_clean(tmp_path)


def run_each(root: Path, server: SandboxServer, flavour: str,
             commands: list[tuple[str, ...]], url: str | None = None
             ) -> list[subprocess.CompletedProcess[str]]:
    """Each command in a workspace (and DB) of its own, all at once: errors need no order."""
    spaces = [workspace(root / f"c{n}", server, flavour, url) for n in range(len(commands))]
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda pair: pair[0].run(*pair[1]), zip(spaces, commands,
                                                                     strict=True)))


def test_serve_shows_no_secret(tmp_path: Path, sandbox: tuple[str, SandboxServer]) -> None:
    flavour, server = sandbox
    space = workspace(tmp_path, server, flavour)
    env = {**os.environ, **SECRETS, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "planerka_sync", "-vv", "-c", str(space.config), "serve",
         "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "принимает запросы на" in first, first  # the demo config's locale is ru
        # Not at once: serve's handler sets an Event, and a SIGTERM landing while the main
        # thread holds that Event's lock (entering its wait) deadlocks it - a bug of serve's
        # own, apart from what this test is about.
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert not leaks(first + stdout) and not leaks(stderr), leaks(first + stdout + stderr)
