"""`planerka-sync demo`: the whole thing against an in-process sandbox, no account needed."""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
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


def demo_config(flavour: str, url: str, sources: list[dict[str, Any]] | None = None) -> Config:
    """config/demo.yaml, pointed at a sandbox of the given flavour (and, given ``sources``,
    its KPI sources)."""
    raw = copy.deepcopy(read_yaml(builtin_dir() / "demo.yaml"))
    if sources is not None:
        raw["kpi_sources"] = sources
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
    services: dict[str, SandboxServer] = field(default_factory=dict)  # the analytics APIs

    def write_sheet(self, rows: dict[date, dict[str, float]]) -> None:
        """What the team keeps in its sheet: a value per metric and period end, one a row."""
        text = SHEET_HEADER + "".join(f"{metric},{day.isoformat()},{value:g}\n"
                                      for day, values in sorted(rows.items())
                                      for metric, value in values.items())
        requests.post(f"{self.services['sheet'].url}/_sandbox/documents/{SHEET_ID}",
                      json=_published(text), timeout=10).raise_for_status()

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

# Two weeks of what the demo team keeps in its sheet (what Metrica and Direct do not know).
SHEET_HEADER = "metric,period_end,value\n"
DEMO_SHEET = [
    {"new_customers": 90, "marketing_spend": 400000, "revenue": 1100000, "arpu": 2000,
     "gross_margin": 0.5, "lifetime_months": 12, "emails_sent": 10000, "emails_opened": 2300,
     "email_clicks": 280},
    {"new_customers": 104, "marketing_spend": 410000, "revenue": 1250000, "arpu": 2050,
     "gross_margin": 0.5, "lifetime_months": 12, "emails_sent": 10500, "emails_opened": 2600,
     "email_clicks": 330},
]

DEMO_DECISIONS = {
    "ru": ["Решение: Подготовить отчёт по SEO, отв. Олег, до пятницы",
           "Решение: Запустить новогоднюю рассылку @ivan до 5 декабря"],
    "en": ["Decision: Prepare the SEO report, owner: Oleg, by Friday",
           "Decision: Launch the New Year newsletter @ivan by December 5"],
}


# The analytics the demo team reads its KPIs from: Metrica (site traffic, goals, organic),
# Direct (search ads) and the team's published sheet (the rest of the CAC/LTV and ROI inputs,
# email); each is a sandbox of its API on loopback.
SHEET_ID = "demo-kpi-sheet"


def _sources(services: dict[str, SandboxServer], cache: Path) -> list[dict[str, Any]]:
    from planerka_sync.sandbox.yandex_metrica import COUNTER, TOKEN

    return [
        {"kind": "yandex-metrica", "token": TOKEN, "counter": COUNTER, "goals": [1001, 1002],
         "url": services["yandex-metrica"].url},
        {"kind": "yandex-direct", "token": "direct-token", "url": services["yandex-direct"].url,
         "max_wait": 5},
        {"kind": "sheet", "cache_dir": str(cache),
         "url": f"{services['sheet'].url}/spreadsheets/d/e/{SHEET_ID}/pub?output=csv"},
    ]


def _published(csv_text: str) -> dict[str, Any]:
    return {"access": "published", "sheets": {"0": {"csv": csv_text}}}


@contextmanager
def running_demo(flavour: str, database: str | None = None) -> Iterator[Demo]:
    """A tracker sandbox and the analytics sandboxes on free loopback ports, the demo config,
    and a throwaway state DB."""
    server = SandboxServer(make_emulator(flavour)).start()
    services: dict[str, SandboxServer] = {}
    try:
        for kind, seed in (("yandex-metrica", None), ("yandex-direct", None),
                           ("sheet", {"documents": {SHEET_ID: _published(SHEET_HEADER)}})):
            services[kind] = SandboxServer(make_emulator(kind, seed)).start()
        with tempfile.TemporaryDirectory(prefix="planerka-demo-") as tmp:
            config = demo_config(flavour, server.url, _sources(services, Path(tmp) / "sheets"))
            store = open_store(database or f"sqlite:///{Path(tmp) / 'planerka.db'}")
            try:
                yield Demo(App(config, store, lambda: make_tracker(config)), server, services)
            finally:
                store.close()
    finally:
        for running in [*services.values(), server]:
            running.stop()
