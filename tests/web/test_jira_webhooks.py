"""Jira admin webhooks end to end: the Jira sandbox (Cloud and Data Center) delivers signed
events to a running `serve`; replays are de-duplicated and forgeries refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from planerka_sync import service
from planerka_sync.config import Config
from planerka_sync.demo import Demo, demo_config
from planerka_sync.domain.model import ItemRef
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.webhook_setup import install
from planerka_sync.store import open_store
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy
from planerka_sync.web.app import Running, start_web
from tests.web.world import wait_until

SECRET = "sandbox-jira-secret"  # config/demo.yaml's serve.jira_webhook_secret default
AUTOMATION_TOKEN = "automation-shared-token"
DECISION = "Решение: обновить лендинг @maria до 25.12.2026"


@dataclass
class JiraWorld:
    sandbox: SandboxServer
    running: Running
    config: Config
    meeting: ItemRef
    demo: Demo

    @property
    def url(self) -> str:
        return self.running.url

    def tasks(self) -> list[str]:
        found = requests.get(f"{self.sandbox.url}/_sandbox/state", timeout=5).json()
        return [issue["summary"] for issue in found["issues"].values()
                if any(label.startswith("planerka-d-") for label in issue.get("labels", []))]

    def creations(self) -> list[dict[str, Any]]:
        log = requests.get(f"{self.sandbox.url}/_sandbox/requests", timeout=5).json()
        return [e for e in log if e["method"] == "POST" and e["path"].endswith("/issue")]

    def deliveries(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.sandbox.url}/_sandbox/deliveries", timeout=5).json())

    def post(self, body: bytes, headers: dict[str, str], path: str = "/webhooks/jira"
             ) -> requests.Response:
        return requests.post(f"{self.url}{path}", data=body, timeout=10,
                             headers={"Content-Type": "application/json", **headers})

    def mute(self) -> None:
        requests.post(f"{self.sandbox.url}/_sandbox/options", json={"deliver_webhooks": False},
                      timeout=5).raise_for_status()


@pytest.fixture(params=["jira-cloud", "jira-dc"])
def jira(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JiraWorld]:
    flavour = request.param
    sandbox = SandboxServer(make_emulator(flavour)).start()
    config = demo_config(flavour, sandbox.url)
    config = config.model_copy(update={"serve": config.serve.model_copy(
        update={"jira_automation_token": SecretStr(AUTOMATION_TOKEN)})})
    db = f"sqlite:///{tmp_path / 'planerka.db'}"
    policy = RetryPolicy(attempts=3, sleep=lambda _: None)

    def make_app() -> App:
        return App(config, open_store(db), lambda: make_tracker(config, policy))

    setup = make_app()
    running = None
    try:
        [prepared] = service.prepare(setup)
        assert prepared.ref is not None
        running = start_web(config, make_app, "127.0.0.1:0")
        if flavour == "jira-dc":  # registered over REST with the lead's (admin) token
            done = install(setup, running.url)
            assert done.webhook is not None
        else:  # Cloud: an admin makes it in the settings; the sandbox's stand-in for that page
            hook = json.loads(json.dumps(webhook_definition(running.url)))
            requests.post(f"{sandbox.url}/_sandbox/webhooks", json=hook,
                          timeout=5).raise_for_status()
        requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=5)  # setup's requests
        yield JiraWorld(sandbox, running, config, prepared.ref, Demo(setup, sandbox))
    finally:
        if running is not None:
            running.stop()
        setup.store.close()
        sandbox.stop()


def webhook_definition(base: str) -> dict[str, Any]:
    from planerka_sync.trackers.jira import webhook_definition as definition

    return definition(f"{base}/webhooks/jira", SECRET)


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def comment_event(jira: JiraWorld) -> bytes:
    """What Jira delivers for a comment on the meeting issue (the comment made with deliveries
    muted, so the test delivers it itself)."""
    jira.mute()
    jira.demo.write_decisions(jira.meeting, [DECISION])
    return json.dumps({"timestamp": 1, "webhookEvent": "comment_created",
                       "comment": {"id": "1", "body": DECISION},
                       "issue": {"id": jira.meeting.id, "key": jira.meeting.key}}).encode()


def test_a_decision_comment_becomes_a_task_within_two_seconds(jira: JiraWorld) -> None:
    jira.demo.write_decisions(jira.meeting, [DECISION])
    wait_until(lambda: "Обновить лендинг" in jira.tasks(), timeout=2.0)
    signed_deliveries = [d for d in jira.deliveries() if d["url"].endswith("/webhooks/jira")]
    assert signed_deliveries and all(d["status"] == 200 for d in signed_deliveries)
    assert len(jira.creations()) == 1


def test_a_replayed_delivery_is_deduplicated(jira: JiraWorld) -> None:
    body = comment_event(jira)
    headers = {"X-Hub-Signature": signed(body), "X-Atlassian-Webhook-Identifier": "d-1"}
    first = jira.post(body, headers)
    assert first.json() == {"ok": True, "queued": True}
    replay = jira.post(body, headers)
    assert replay.json() == {"ok": True, "duplicate": True}
    wait_until(lambda: "Обновить лендинг" in jira.tasks(), timeout=5)
    wait_until(lambda: jira.running.web.worker.idle, timeout=5)
    assert jira.tasks().count("Обновить лендинг") == 1


def test_jiras_own_duplicate_deliveries_make_one_task(jira: JiraWorld) -> None:
    requests.post(f"{jira.sandbox.url}/_sandbox/options", json={"webhook_duplicates": 2},
                  timeout=5).raise_for_status()
    jira.demo.write_decisions(jira.meeting, [DECISION])
    wait_until(lambda: "Обновить лендинг" in jira.tasks(), timeout=5)
    wait_until(lambda: len(jira.deliveries()) >= 6, timeout=5)  # 2 events x 3 copies
    wait_until(lambda: jira.running.web.worker.idle, timeout=5)
    assert len(jira.creations()) == 1


@pytest.mark.parametrize("tamper", ["wrong secret", "body altered by one byte",
                                    "missing header", "not sha256"])
def test_a_delivery_that_is_not_jiras_is_refused_and_nothing_is_done(
        jira: JiraWorld, tamper: str) -> None:
    body = comment_event(jira)
    signature: str | None = signed(body)
    if tamper == "wrong secret":
        signature = signed(body, "guessed")
    elif tamper == "body altered by one byte":
        body = body.replace(b'"1"', b'"2"', 1)
    elif tamper == "missing header":
        signature = None
    elif tamper == "not sha256":
        signature = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    headers = {"X-Atlassian-Webhook-Identifier": uuid.uuid4().hex}
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    rounds = jira.running.web.worker.rounds
    answer = jira.post(body, headers)
    assert answer.status_code == 401
    assert jira.running.web.worker.rounds == rounds and jira.running.web.worker.idle
    assert "Обновить лендинг" not in jira.tasks()


def test_a_refused_delivery_does_not_use_up_its_identifier(jira: JiraWorld) -> None:
    """A forger replaying an identifier first must not make Jira's real delivery a 'repeat'."""
    body = comment_event(jira)
    forged = jira.post(body, {"X-Hub-Signature": signed(body, "guessed"),
                              "X-Atlassian-Webhook-Identifier": "d-7"})
    assert forged.status_code == 401
    real = jira.post(body, {"X-Hub-Signature": signed(body),
                            "X-Atlassian-Webhook-Identifier": "d-7"})
    assert real.json() == {"ok": True, "queued": True}
    wait_until(lambda: "Обновить лендинг" in jira.tasks(), timeout=5)


def test_an_automation_rule_with_the_shared_token_triggers_ingestion(jira: JiraWorld) -> None:
    jira.mute()
    jira.demo.write_decisions(jira.meeting, [DECISION])
    body = json.dumps({"issue": {"id": jira.meeting.id, "key": jira.meeting.key}}).encode()
    wrong = jira.post(body, {"X-Planerka-Token": "nope"}, path="/webhooks/jira-automation")
    assert wrong.status_code == 401
    right = jira.post(body, {"X-Planerka-Token": AUTOMATION_TOKEN},
                      path="/webhooks/jira-automation")
    assert right.json() == {"ok": True, "queued": True}
    wait_until(lambda: "Обновить лендинг" in jira.tasks(), timeout=5)
