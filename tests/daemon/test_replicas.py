"""Three replicas on one PostgreSQL, 200 series: every item once, every comment once, and a
replica killed mid-job loses nothing."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from planerka_sync.daemon import LEASE_TTL, STALE_JOB, Daemon
from planerka_sync.demo import demo_config
from planerka_sync.domain.model import ItemRef, MeetingDraft
from planerka_sync.ratelimit import Limit
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.store import open_store
from planerka_sync.store.models import CommentKind, Meeting, PostedComment
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy
from tests.integration.test_prepare import jira_auth
from tests.store.conftest import pg_server, pg_url  # noqa: F401 - fixtures

SERIES = int(__import__("os").environ.get("PLANERKA_TEST_SERIES", "200"))
MONDAY_BEFORE = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # after prepare and progress are due


class Died(BaseException):
    """The replica's process is gone (not an error any code path may catch)."""


@pytest.fixture
def jira() -> Iterator[SandboxServer]:
    server = SandboxServer(make_emulator("jira-cloud")).start()
    try:
        yield server
    finally:
        server.stop()


def replica(url: str, db_url: str, clock: list[datetime]) -> App:
    base = demo_config("jira-cloud", url)
    template = base.meetings[0].model_copy(update={"participants": ["anna"]})
    series = [template.model_copy(update={"id": f"s{i:03d}", "title": f"Планёрка {i:03d}"})
              for i in range(SERIES)]
    config = base.model_copy(update={"meetings": series})
    policy = RetryPolicy(attempts=3, sleep=lambda _: None)
    # The sandbox is no real Jira site: lift the client-side limit so the test measures the
    # replicas, not the 10 requests/s politeness towards Atlassian.
    unlimited = Limit(100_000, 1.0)
    return App(config, open_store(db_url),
               lambda: make_tracker(config, policy, jira_limit=unlimited),
               clock=lambda: clock[0])


def dies_after_creating(app: App, after: int) -> None:
    """The replica's process dies right after the tracker created its ``after``-th item, before
    the state DB heard about it: the worst moment."""
    tracker = app.tracker
    real = tracker.upsert_meeting
    created = [0]

    def upsert(draft: MeetingDraft, existing: ItemRef | None) -> ItemRef:
        ref = real(draft, existing)
        created[0] += 1
        if created[0] >= after:
            raise Died()
        return ref

    tracker.upsert_meeting = upsert  # type: ignore[method-assign]


def tick_all(daemons: list[Daemon]) -> None:
    def run(daemon: Daemon) -> None:
        with contextlib.suppress(Died):  # the replica's process ended there
            daemon.tick()

    threads = [threading.Thread(target=run, args=(d,)) for d in daemons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)


@pytest.mark.timeout(900)
def test_three_replicas_two_hundred_series_one_killed(jira: SandboxServer, pg_url: str) -> None:  # noqa: F811
    clock = [MONDAY_BEFORE]
    apps = [replica(jira.url, pg_url, clock) for _ in range(3)]
    try:
        dies_after_creating(apps[2], after=5)
        daemons = [Daemon(app) for app in apps]
        tick_all(daemons)
        clock[0] += LEASE_TTL + STALE_JOB + timedelta(minutes=1)  # the dead replica's leases
        tick_all(daemons[:2])  # and its abandoned job expire; the living take over
        with apps[0].store.session() as session:
            meetings = session.scalar(select(func.count()).select_from(Meeting).where(
                Meeting.state == "created"))
            progress = session.scalar(select(func.count()).select_from(PostedComment).where(
                PostedComment.kind == CommentKind.PROGRESS))
    finally:
        for app in apps:
            app.store.close()
    assert meetings == SERIES and progress == SERIES
    issues: list[dict] = []
    token = None  # Cloud answers 100 a page when a field is asked for: paged, as the API is
    while True:
        page = requests.post(f"{jira.url}/rest/api/3/search/jql", headers=jira_auth_for(jira),
                             json={"jql": "labels = planerka", "fields": ["labels"],
                                   "maxResults": 5000,
                                   **({"nextPageToken": token} if token else {})},
                             timeout=30).json()
        issues += page["issues"]
        token = page.get("nextPageToken")
        if not token:
            break
    per_series = [label for i in issues for label in i["fields"]["labels"]
                  if label.startswith("planerka-s")]
    assert sorted(per_series) == sorted(f"planerka-s{i:03d}" for i in range(SERIES))
    log = requests.get(f"{jira.url}/_sandbox/requests", timeout=30).json()
    comments = [e for e in log if e["method"] == "POST" and e["path"].endswith("/comment")]
    assert len(comments) == 2 * SERIES  # a progress and a KPI comment per meeting, once


def jira_auth_for(server: SandboxServer) -> dict[str, str]:
    class _World:
        flavour = "jira-cloud"

    return jira_auth(_World())  # type: ignore[arg-type]
