"""`planerka-sync demo`: the whole thing against an in-process sandbox, no account needed."""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from planerka_sync.config import Config, parse_config, read_yaml
from planerka_sync.domain.model import ItemRef
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.seed import JIRA_PROJECT_KEY
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.webhook_setup import callback_url, install
from planerka_sync.store import open_store
from planerka_sync.store.models import Decision, DecisionState, Meeting
from planerka_sync.templates import builtin_dir
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.jira import webhook_definition
from planerka_sync.web.app import Running, start_web


def demo_config(flavour: str, url: str) -> Config:
    """config/demo.yaml, pointed at a sandbox of the given flavour."""
    raw = copy.deepcopy(read_yaml(builtin_dir() / "demo.yaml"))
    if flavour != "trello":
        raw["tracker"] = _jira_tracker(flavour)
        if flavour == "jira-dc":
            # Data Center names people by username; the demo team's usernames are their ids.
            for person in raw["people"]:
                person["jira"] = person["id"]
    env = {"SANDBOX_URL": url}
    return parse_config(raw, f"demo.yaml ({flavour})", env)


def _jira_tracker(flavour: str) -> dict[str, Any]:
    tracker: dict[str, Any] = {
        "kind": "jira", "url": "${SANDBOX_URL}", "project": JIRA_PROJECT_KEY,
        "token": "sandbox-token",
    }
    if flavour == "jira-cloud":
        tracker |= {"deployment": "cloud", "email": "anna@example.org"}
    else:
        tracker |= {"deployment": "datacenter"}
    return tracker


@dataclass
class Demo:
    app: App
    server: SandboxServer

    def write_decisions(self, meeting: ItemRef, lines: list[str]) -> None:
        """What the team would type in the meeting item: a comment with decision lines."""
        text = "\n".join(lines)
        url = self.server.url
        if self.server.emulator.flavour == "trello":
            response = requests.post(f"{url}/1/cards/{meeting.id}/actions/comments",
                                     params={"key": "demo", "token": "demo", "text": text},
                                     timeout=10)
        elif self.server.emulator.flavour == "jira-cloud":
            body = {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": line}]}
                for line in lines]}
            response = requests.post(f"{url}/rest/api/3/issue/{meeting.key}/comment",
                                     json={"body": body}, auth=("ivan@example.org", "demo"),
                                     timeout=10)
        else:
            response = requests.post(f"{url}/rest/api/2/issue/{meeting.key}/comment",
                                     json={"body": text}, headers={"Authorization": "Bearer x"},
                                     timeout=10)
        response.raise_for_status()


    def finish_task(self, task: ItemRef) -> None:
        """A team member moves the task to Done, as they would in the tracker."""
        url = self.server.url
        if self.server.emulator.flavour == "trello":
            keys = {"key": "demo", "token": "demo"}
            boards = requests.get(f"{url}/1/members/me/boards", timeout=10,
                                  params={**keys, "lists": "open", "fields": "name"}).json()
            done = next(lst["id"] for b in boards for lst in b["lists"] if lst["name"] == "Done")
            requests.put(f"{url}/1/cards/{task.id}", params={**keys, "idList": done},
                         timeout=10).raise_for_status()
            return
        api = "3" if self.server.emulator.flavour == "jira-cloud" else "2"
        headers = ({"Authorization": "Bearer x"} if api == "2" else {})
        auth = ("ivan@example.org", "demo") if api == "3" else None
        endpoint = f"{url}/rest/api/{api}/issue/{task.key}/transitions"
        options = requests.get(endpoint, headers=headers, auth=auth, timeout=10).json()
        done_id = next(t["id"] for t in options["transitions"] if t["to"]["name"] == "Done")
        requests.post(endpoint, json={"transition": {"id": done_id}}, headers=headers, auth=auth,
                      timeout=10).raise_for_status()


    # --- the event-driven path (`demo --webhooks`) -----------------------------------------------
    def serve(self) -> Running:
        """`planerka-sync serve` on a free port, with the sandbox's webhook pointed at it."""
        config, db_url = self.app.config, self.app.store.url

        def make_app() -> App:
            return App(config, open_store(db_url), lambda: make_tracker(config))

        running = start_web(config, make_app, "127.0.0.1:0")
        try:
            self._register_webhook(running.url)
        except Exception:
            running.stop()
            raise
        return running

    def _register_webhook(self, base: str) -> None:
        flavour = self.server.emulator.flavour
        if flavour == "trello":
            # Trello signs with the app secret of the API key; the demo config knows the same.
            self.server.emulator.options.update(
                {"deliver_webhooks": True, "app_secret": DEMO_TRELLO_SECRET})
            install(self.app, base)
        elif flavour == "jira-dc":
            install(self.app, base)  # the demo lead is a Jira administrator
        else:  # Jira Cloud: what an admin enters in Settings → System → WebHooks
            secret = self.app.config.serve.jira_webhook_secret
            hook = webhook_definition(callback_url(self.app.config, base),
                                      secret.get_secret_value() if secret else None)
            requests.post(f"{self.server.url}/_sandbox/webhooks", json=hook,
                          timeout=10).raise_for_status()

    def wait_for_tasks(self, meeting: ItemRef, count: int, timeout: float = 10.0
                       ) -> list[Decision]:
        """The meeting's decisions that have tasks, once ``count`` have (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.app.store.session() as session:
                rows = list(session.scalars(
                    select(Decision).join(Meeting, Decision.meeting_id == Meeting.id)
                    .where(Meeting.item_id == meeting.id,
                           Decision.state == DecisionState.CREATED)
                    .order_by(Decision.id)))
            if len(rows) >= count or time.monotonic() >= deadline:
                return rows
            time.sleep(0.05)


DEMO_TRELLO_SECRET = "sandbox-secret"  # config/demo.yaml's serve.trello_app_secret default

# Two weeks of a marketing team's numbers, for the KPI comment and its chart.
DEMO_KPIS = [
    {"sessions": 18000, "unique_visitors": 12500, "conversions": 450, "new_customers": 90,
     "marketing_spend": 400000, "revenue": 1100000, "arpu": 2000, "gross_margin": 0.5,
     "lifetime_months": 12, "emails_sent": 10000, "emails_opened": 2300, "email_clicks": 280},
    {"sessions": 20000, "unique_visitors": 13900, "conversions": 520, "new_customers": 104,
     "marketing_spend": 410000, "revenue": 1250000, "arpu": 2050, "gross_margin": 0.5,
     "lifetime_months": 12, "emails_sent": 10500, "emails_opened": 2600, "email_clicks": 330},
]

DEMO_DECISIONS = {
    "ru": ["Решение: Подготовить отчёт по SEO, отв. Олег, до пятницы",
           "Решение: Запустить новогоднюю рассылку @ivan до 5 декабря"],
    "en": ["Decision: Prepare the SEO report, owner: Oleg, by Friday",
           "Decision: Launch the New Year newsletter @ivan by December 5"],
}


@contextmanager
def running_demo(flavour: str, database: str | None = None) -> Iterator[Demo]:
    """A sandbox on a free loopback port, the demo config, and a throwaway state DB."""
    server = SandboxServer(make_emulator(flavour)).start()
    try:
        with tempfile.TemporaryDirectory(prefix="planerka-demo-") as tmp:
            config = demo_config(flavour, server.url)
            store = open_store(database or f"sqlite:///{Path(tmp) / 'planerka.db'}")
            try:
                yield Demo(App(config, store, lambda: make_tracker(config)), server)
            finally:
                store.close()
    finally:
        server.stop()
