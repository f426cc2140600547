"""A running `serve` against a Trello sandbox that delivers signed webhooks, with a prepared
meeting and one decision already turned into a task: what the webhook and Power-Up tests share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import requests

from planerka_sync import service
from planerka_sync.config import Config
from planerka_sync.demo import demo_config
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.seed import DEFAULT_PEOPLE, TRELLO_BOARD_NAME, TRELLO_LISTS
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.decisions import sync_decisions
from planerka_sync.service.webhook_setup import install
from planerka_sync.store import open_store
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy
from planerka_sync.trackers.trello import TASK_MARKER
from planerka_sync.web.app import Running, start_web

KEY = "sandbox-key"
SERVICE_TOKEN = "sandbox-token"  # anna's: the lead's token planerka-sync runs with
TOKEN = "ivan-powerup-token"  # what the Power-Up gets when Ivan authorises it
STRANGER_TOKEN = "stranger-token"  # a Trello member who is not on the board
APP_SECRET = "sandbox-secret"
FIRST_DECISION = "Решение: запустить email-рассылку @ivan до 20.12.2026"


def trello_seed() -> dict[str, Any]:
    members = [{"id": p["trello_id"], "username": p["trello_username"], "fullName": p["name"]}
               for p in DEFAULT_PEOPLE]
    members.append({"id": "5f00000000000000000000ff", "username": "stranger",
                    "fullName": "Stranger"})
    team = [p["trello_username"] for p in DEFAULT_PEOPLE]
    return {
        "members": members,
        "boards": [{"name": TRELLO_BOARD_NAME, "lists": list(TRELLO_LISTS), "members": team},
                   {"name": "Elsewhere", "lists": ["Inbox"], "members": ["stranger"]}],
        "credentials": [{"key": KEY, "token": SERVICE_TOKEN, "member": "anna"},
                        {"key": KEY, "token": TOKEN, "member": "ivan"},
                        {"key": KEY, "token": STRANGER_TOKEN, "member": "stranger"}],
    }


@dataclass
class WebWorld:
    sandbox: SandboxServer
    running: Running
    config: Config
    make_app: Callable[[], App]
    meeting_card_id: str
    task_card_id: str
    board_id: str
    key: str = KEY
    token: str = TOKEN

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def sandbox_url(self) -> str:
        return self.sandbox.url

    # --- acting as the team, in Trello ----------------------------------------------------------
    def add_decision_comment(self, text: str) -> str:
        card = f"{self.sandbox_url}/1/cards/{self.meeting_card_id}"
        answer = requests.post(f"{card}/actions/comments",
                               params={"key": KEY, "token": TOKEN, "text": text}, timeout=10)
        answer.raise_for_status()
        return str(answer.json()["id"])

    def cards(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.sandbox_url}/1/boards/{self.board_id}/cards/all",
                              params={"key": KEY, "token": SERVICE_TOKEN, "fields": "name,desc"},
                              timeout=10)
        answer.raise_for_status()
        return list(answer.json())

    def task_titles(self) -> list[str]:
        return [c["name"] for c in self.cards() if TASK_MARKER.search(c.get("desc") or "")]

    # --- watching -------------------------------------------------------------------------------
    def deliveries(self) -> list[dict[str, Any]]:
        emulator: Any = self.sandbox.emulator
        with emulator.lock:
            return list(emulator.deliveries)

    def log(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.sandbox_url}/_sandbox/requests", timeout=5).json())

    def clear_log(self) -> None:
        requests.delete(f"{self.sandbox_url}/_sandbox/requests", timeout=5)

    def options(self, **values: Any) -> None:
        requests.post(f"{self.sandbox_url}/_sandbox/options", json=values,
                      timeout=5).raise_for_status()

    def api(self, method: str, path: str, token: str | None = TOKEN,
            **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30,
                                **kwargs)


def wait_until(check: Callable[[], Any], timeout: float = 5.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(every)


@contextmanager
def web_world(flavour: str = "trello", *, register_webhook: bool = True,
              serve: dict[str, Any] | None = None, db: str | None = None) -> Iterator[WebWorld]:
    """The sandbox, a prepared meeting with one decision made a task, and `serve` running with
    its Trello webhook registered, on the state DB ``db`` (default: a new SQLite file). Only
    ``trello`` has a Power-Up; Jira tests build their own."""
    if flavour != "trello":
        raise ValueError("web_world serves a Trello board; the Jira webhook tests start their own")
    sandbox = SandboxServer(make_emulator("trello", seed=trello_seed(),
                                          options={"deliver_webhooks": True,
                                                   "app_secret": APP_SECRET,
                                                   "webhook_head_check": True})).start()
    with TemporaryDirectory(prefix="planerka-web-") as tmp:
        config = demo_config("trello", sandbox.url)
        if serve:
            config = config.model_copy(update={"serve": config.serve.model_copy(update=serve)})
        db = db or f"sqlite:///{Path(tmp) / 'planerka.db'}"
        policy = RetryPolicy(attempts=3, sleep=lambda _: None)

        def make_app() -> App:
            return App(config, open_store(db), lambda: make_tracker(config, policy))

        setup = make_app()
        running: Running | None = None
        try:
            [prepared] = service.prepare(setup)
            assert prepared.ref is not None
            meeting = prepared.ref
            board_id = setup.tracker.layout().board_id  # type: ignore[attr-defined]
            requests.post(f"{sandbox.url}/1/cards/{meeting.id}/actions/comments",
                          params={"key": KEY, "token": TOKEN, "text": FIRST_DECISION},
                          timeout=10).raise_for_status()
            [report] = sync_decisions(setup)
            [task] = report.created
            setup.store.close()  # its pooled connection released: `serve` alone holds the DB
            running = start_web(config, make_app, "127.0.0.1:0")
            if register_webhook:
                install(setup, running.url)
            yield WebWorld(sandbox, running, config, make_app, meeting.id,
                           task.task_id or "", board_id)
        finally:
            if running is not None:
                running.stop()
            setup.store.close()
            sandbox.stop()
