"""Trello webhooks end to end: the sandbox delivers signed callbacks to a running `serve`, which
turns a decision typed on the meeting card into a task within seconds, with no poller running."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from planerka_sync.sandbox.trello import sign_webhook
from planerka_sync.service import leases
from planerka_sync.service.decisions import sync_decisions
from planerka_sync.service.events import meeting_for_item
from tests.web.world import APP_SECRET, KEY, SERVICE_TOKEN, TOKEN, WebWorld, wait_until, web_world

DECISION = "Решение: обновить лендинг @maria до 25.12.2026"


@pytest.fixture
def world() -> Iterator[WebWorld]:
    with web_world() as built:
        yield built


def task_creations(world: WebWorld) -> list[dict[str, Any]]:
    return [e for e in world.log() if e["method"] == "POST" and e["path"] == "/1/cards"]


def comment_event(world: WebWorld, text: str) -> bytes:
    """A real Trello commentCard action (what Trello would deliver), for a comment made while
    the sandbox does not deliver: the test then delivers it itself, as often as it likes."""
    world.options(deliver_webhooks=False)
    world.add_decision_comment(text)
    actions = requests.get(f"{world.sandbox_url}/1/cards/{world.meeting_card_id}/actions",
                           params={"key": KEY, "token": SERVICE_TOKEN, "filter": "commentCard"},
                           timeout=10).json()
    action = next(a for a in actions if a["data"]["text"] == text)
    return json.dumps({"action": action, "model": {"id": world.board_id}},
                      ensure_ascii=False).encode()


def deliver(world: WebWorld, body: bytes, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Trello-Webhook"] = signature
    return requests.post(f"{world.url}/webhooks/trello", data=body, headers=headers, timeout=10)


def signed(world: WebWorld, body: bytes, secret: str = APP_SECRET) -> str:
    return sign_webhook(secret, body, f"{world.url}/webhooks/trello")


def refusals(world: WebWorld) -> float:
    """serve's count of refused Trello deliveries, from its /metrics."""
    text = requests.get(f"{world.url}/metrics", timeout=5).text
    line = 'webhooks_total{outcome="refused",source="trello"} '
    return next((float(x.removeprefix(line)) for x in text.splitlines() if x.startswith(line)),
                0.0)


def settle(world: WebWorld) -> None:
    """Wait until the worker has nothing queued or in hand."""
    wait_until(lambda: world.running.web.worker.idle, timeout=10)


def test_a_decision_comment_becomes_a_task_within_two_seconds_without_a_poller(
        world: WebWorld) -> None:
    before = len(world.task_titles())
    world.clear_log()
    world.add_decision_comment(DECISION)
    titles = wait_until(lambda: len(world.task_titles()) > before and world.task_titles(),
                        timeout=2.0)
    assert "Обновить лендинг" in titles
    # It came through the webhook: Trello delivered to serve, and serve answered 200.
    assert any(d["status"] == 200 and d["url"].endswith("/webhooks/trello")
               for d in world.deliveries())
    assert len(task_creations(world)) == 1


def test_the_same_event_delivered_twice_makes_one_task(world: WebWorld) -> None:
    body = comment_event(world, DECISION)
    world.clear_log()
    signature = signed(world, body)
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(
        deliver(world, body, signature).status_code)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    wait_until(lambda: "Обновить лендинг" in world.task_titles(), timeout=5)
    deliver(world, body, signature).raise_for_status()  # and once more, later
    settle(world)
    assert world.task_titles().count("Обновить лендинг") == 1
    assert len(task_creations(world)) == 1


@pytest.mark.parametrize("tamper", ["wrong secret", "body altered by one byte",
                                    "missing header", "signed for another URL"])
def test_a_delivery_that_is_not_trellos_is_refused_and_nothing_is_done(
        world: WebWorld, tamper: str) -> None:
    body = comment_event(world, DECISION)
    signature: str | None = signed(world, body)
    if tamper == "wrong secret":
        signature = signed(world, body, "not-the-app-secret")
    elif tamper == "body altered by one byte":
        body = body.replace(b"25.12.2026", b"26.12.2026")
    elif tamper == "missing header":
        signature = None
    else:
        signature = sign_webhook(APP_SECRET, body, "https://attacker.example/webhooks/trello")
    world.clear_log()
    rounds = world.running.web.worker.rounds
    refused = refusals(world)
    answer = deliver(world, body, signature)
    assert answer.status_code == 401
    assert refusals(world) == refused + 1
    assert "nothing was done" in answer.json()["error"]
    assert not world.running.web.worker.pending
    assert world.running.web.worker.rounds == rounds
    assert world.log() == []  # not even a read of the card
    assert "Обновить лендинг" not in world.task_titles()


def test_trellos_registration_check_gets_a_200(world: WebWorld) -> None:
    answer = requests.head(f"{world.url}/webhooks/trello", timeout=5)
    assert answer.status_code == 200
    # ...and the sandbox, which HEADs the callback before saving a webhook, registered ours.
    hooks = requests.get(f"{world.sandbox_url}/1/tokens/{SERVICE_TOKEN}/webhooks",
                         params={"key": KEY, "token": SERVICE_TOKEN}, timeout=5).json()
    assert [h["callbackURL"] for h in hooks] == [f"{world.url}/webhooks/trello"]


def test_webhook_work_waits_while_another_process_holds_the_meeting(world: WebWorld) -> None:
    """A replica (or the poller) reading the meeting holds its lease: the webhook's worker does
    not read it alongside (two readers could both create the task), it tries again later."""
    reader = world.make_app()
    try:
        meeting_id = meeting_for_item(reader, world.meeting_card_id)
        name = f"meeting:{meeting_id}"
        assert leases.take(reader.store, name, "another-replica", reader.clock(),
                           timedelta(minutes=5))
        world.clear_log()
        rounds = world.running.web.worker.rounds
        world.add_decision_comment(DECISION)
        wait_until(lambda: world.running.web.worker.rounds > rounds, timeout=5)
        assert task_creations(world) == []
        leases.give_back(reader.store, "another-replica", reader.clock(), name)
        wait_until(lambda: "Обновить лендинг" in world.task_titles(), timeout=10)
    finally:
        reader.store.close()
    assert len(task_creations(world)) == 1


def test_acknowledged_work_lost_with_the_process_is_caught_by_the_poller(
        world: WebWorld) -> None:
    world.running.web.worker.stop()  # the process "dies" right after acknowledging
    body = comment_event(world, DECISION)
    assert deliver(world, body, signed(world, body)).json() == {"ok": True, "queued": True}
    assert "Обновить лендинг" not in world.task_titles()
    poller = world.make_app()
    try:
        [report] = sync_decisions(poller)
    finally:
        poller.store.close()
    assert [row.title for row in report.created] == ["Обновить лендинг"]


def test_events_about_other_cards_are_acknowledged_and_ignored(world: WebWorld) -> None:
    world.options(deliver_webhooks=False)
    other = requests.post(f"{world.sandbox_url}/1/cards",
                          params={"key": KEY, "token": TOKEN, "name": "Unrelated",
                                  "idList": _list_id(world, "To Do")}, timeout=5).json()
    body = json.dumps({"action": {"type": "commentCard", "data": {
        "card": {"id": other["id"]}, "text": DECISION}}}).encode()
    world.clear_log()
    answer = deliver(world, body, signed(world, body))
    assert answer.json() == {"ok": True, "queued": False}
    assert world.log() == []


def test_a_task_moved_to_done_updates_its_state_from_the_webhook(world: WebWorld) -> None:
    done = _list_id(world, "Done")
    requests.put(f"{world.sandbox_url}/1/cards/{world.task_card_id}",
                 params={"key": KEY, "token": TOKEN, "idList": done}, timeout=5).raise_for_status()

    def status() -> str | None:
        state = world.api("GET", f"/api/boards/{world.board_id}/cards/{world.task_card_id}"
                                 "/planerka").json()
        return state["task"]["status"] if state["task"]["done"] else None

    assert wait_until(status, timeout=2.0) == "done"


def _list_id(world: WebWorld, name: str) -> str:
    lists = requests.get(f"{world.sandbox_url}/1/boards/{world.board_id}/lists",
                         params={"key": KEY, "token": TOKEN}, timeout=5).json()
    return str(next(lst["id"] for lst in lists if lst["name"] == name))


def test_the_delivery_is_answered_before_the_work_is_done(world: WebWorld) -> None:
    """Trello and Jira give a callback seconds: serve answers first, reads the card after."""
    body = comment_event(world, DECISION)
    requests.post(f"{world.sandbox_url}/_sandbox/faults", json={
        "path": f"^/1/cards/{world.meeting_card_id}$", "method": "GET", "latency": 1.5},
        timeout=5).raise_for_status()
    world.clear_log()
    answer = deliver(world, body, signed(world, body))
    assert answer.json() == {"ok": True, "queued": True}
    assert task_creations(world) == []  # the slow read of the card has not even finished
    wait_until(lambda: "Обновить лендинг" in world.task_titles(), timeout=10)
