"""`planerka-sync serve`, `webhooks install|list|remove` and `run --http` as processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.test_cli_prepare import config_file, run


def start(*args: str, ready: str) -> tuple[subprocess.Popen[str], str]:
    """Start a long-running command and return it with the line that says it is ready."""
    process = subprocess.Popen(
        [sys.executable, "-m", "planerka_sync", *args], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if ready in line:
            return process, line
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"never printed {ready!r}:\n{''.join(seen)}")


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()


def with_serve(path: Path, **serve: object) -> Path:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["serve"] = {**raw.get("serve", {}), **serve}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def jira_dc() -> Iterator[SandboxServer]:
    server = SandboxServer(make_emulator("jira-dc")).start()
    try:
        yield server
    finally:
        server.stop()


def test_serve_listens_answers_health_and_stops_on_sigterm(
        tmp_path: Path, trello: SandboxServer) -> None:
    path = config_file(tmp_path, trello)
    process, line = start("-c", str(path), "serve", "--port", "0",
                          ready="принимает запросы на")  # the demo config's locale is ru
    try:
        url = line.rsplit(" ", 1)[1].strip()
        assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
        assert requests.head(f"{url}/webhooks/trello", timeout=5).status_code == 200
        assert requests.get(f"{url}/powerup/index.html", timeout=5).status_code == 200
    finally:
        assert stop(process) == 0


def test_serve_refuses_a_busy_port_clearly(tmp_path: Path, trello: SandboxServer) -> None:
    path = config_file(tmp_path, trello)
    port = trello.url.rsplit(":", 1)[1]
    result = run("-c", str(path), "serve", "--port", port)
    assert result.returncode == 2
    assert "cannot listen on" in result.stderr and "Traceback" not in result.stderr


def test_run_http_serves_the_webhooks_too(tmp_path: Path, trello: SandboxServer) -> None:
    path = config_file(tmp_path, trello)
    process, line = start("-c", str(path), "run", "--http", "127.0.0.1:0",
                          ready="serving webhooks")
    try:
        url = line[line.index("http://"):].split()[0]
        assert requests.head(f"{url}/webhooks/trello", timeout=5).status_code == 200
        unsigned = requests.post(f"{url}/webhooks/trello", data=b"{}", timeout=5)
        assert unsigned.status_code == 401
        assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        assert stop(process) == 0


def test_webhooks_install_list_remove_on_trello(tmp_path: Path, trello: SandboxServer) -> None:
    path = with_serve(config_file(tmp_path, trello), public_url="https://planerka.example.org")
    requests.post(f"{trello.url}/_sandbox/options", json={"webhook_head_check": False},
                  timeout=5).raise_for_status()  # nobody answers at example.org
    installed = run("-c", str(path), "webhooks", "install")
    assert installed.returncode == 0, installed.stderr
    assert "https://planerka.example.org/webhooks/trello" in installed.stdout
    again = run("-c", str(path), "webhooks", "install")  # idempotent
    assert again.returncode == 0
    state = requests.get(f"{trello.url}/_sandbox/state", timeout=5).json()
    assert [h["callbackURL"] for h in state["webhooks"].values()] == [
        "https://planerka.example.org/webhooks/trello"]
    listed = run("-c", str(path), "webhooks", "list")
    assert "https://planerka.example.org/webhooks/trello" in listed.stdout
    assert "активен" in listed.stdout  # the demo config is Russian
    removed = run("-c", str(path), "webhooks", "remove")
    assert removed.returncode == 0 and "удалён" in removed.stdout
    assert requests.get(f"{trello.url}/_sandbox/state", timeout=5).json()["webhooks"] == {}


def test_webhooks_install_without_an_address_says_what_to_set(
        tmp_path: Path, trello: SandboxServer) -> None:
    result = run("-c", str(config_file(tmp_path, trello)), "webhooks", "install")
    assert result.returncode == 2
    assert "serve.public_url" in result.stderr and "--url" in result.stderr
    assert "Traceback" not in result.stderr


def test_trello_refuses_a_callback_that_does_not_answer(
        tmp_path: Path, trello: SandboxServer) -> None:
    requests.post(f"{trello.url}/_sandbox/options", json={"webhook_head_check": True},
                  timeout=5).raise_for_status()
    result = run("-c", str(config_file(tmp_path, trello)), "webhooks", "install",
                 "--url", "http://127.0.0.1:9")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert requests.get(f"{trello.url}/_sandbox/state", timeout=5).json()["webhooks"] == {}


def dc_config(tmp_path: Path, server: SandboxServer) -> Path:
    path = config_file(tmp_path, server)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["tracker"] = {"kind": "jira", "deployment": "datacenter", "url": server.url,
                      "token": "sandbox-token", "project": "MKT"}
    for person in raw["people"]:
        person["jira"] = person["id"]
    raw["serve"] = {"public_url": "https://planerka.example.org",
                    "jira_webhook_secret": "${PLANERKA_JIRA_WEBHOOK_SECRET:-dc-secret}"}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_webhooks_install_registers_on_jira_data_center(
        tmp_path: Path, jira_dc: SandboxServer) -> None:
    path = dc_config(tmp_path, jira_dc)
    result = run("-c", str(path), "webhooks", "install")
    assert result.returncode == 0, result.stderr
    [hook] = requests.get(f"{jira_dc.url}/_sandbox/webhooks", timeout=5).json()
    assert hook["url"] == "https://planerka.example.org/webhooks/jira"
    assert hook["filters"]["issue-related-events-section"] == "labels = planerka"
    assert {"comment_created", "jira:issue_updated"} <= set(hook["events"])
    assert "dc-secret" not in result.stdout + result.stderr
    listed = run("-c", str(path), "webhooks", "list")
    assert "https://planerka.example.org/webhooks/jira" in listed.stdout
    assert run("-c", str(path), "webhooks", "remove").returncode == 0
    assert requests.get(f"{jira_dc.url}/_sandbox/webhooks", timeout=5).json() == []


def test_without_admin_rights_jira_dc_gets_the_steps(
        tmp_path: Path, jira_dc: SandboxServer) -> None:
    state = requests.get(f"{jira_dc.url}/_sandbox/state", timeout=5).json()
    assert state["admins"]
    seed = make_emulator("jira-dc").default_seed()  # type: ignore[attr-defined]
    seed["admins"] = ["ivan"]  # the lead (anna) is not a Jira administrator here
    requests.post(f"{jira_dc.url}/_sandbox/seed", json=seed, timeout=5).raise_for_status()
    result = run("-c", str(dc_config(tmp_path, jira_dc)), "webhooks", "install")
    assert result.returncode == 0, result.stderr
    assert "нужен администратор Jira" in result.stdout  # the demo config's locale is ru
    assert "labels = planerka" in result.stdout
    assert "dc-secret" not in result.stdout  # the secret is named, never printed
    assert requests.get(f"{jira_dc.url}/_sandbox/webhooks", timeout=5).json() == []


def test_jira_cloud_install_prints_the_admin_steps_and_json(tmp_path: Path,
                                                            jira_dc: SandboxServer) -> None:
    path = dc_config(tmp_path, jira_dc)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["tracker"] |= {"deployment": "cloud", "email": "anna@example.org",
                       "url": "https://acme.atlassian.net"}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = run("-c", str(path), "webhooks", "install")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "https://acme.atlassian.net/plugins/servlet/webhooks" in out
    assert "URL: https://planerka.example.org/webhooks/jira" in out
    assert "Фильтр JQL: labels = planerka" in out  # the demo config's locale is ru
    definition = json.loads(out[out.index("{"):])
    assert definition["filters"] == {"issue-related-events-section": "labels = planerka"}
    assert "dc-secret" not in out


@pytest.mark.parametrize("flavour", ["trello", "jira-dc"])
def test_demo_shows_the_event_driven_path(flavour: str) -> None:
    result = run("demo", "--webhooks", "--tracker", flavour)
    assert result.returncode == 0, result.stdout + result.stderr
    # The demo team's locale is ru.
    assert "сам вызывает planerka-sync serve (подписанный вебхук)" in result.stdout
    assert "задач создано вебхуком: 2 из 2" in result.stdout
    assert "страховочная синхронизация по расписанию создала ещё: 0" in result.stdout
