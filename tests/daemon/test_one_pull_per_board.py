"""Three series on one board or project: a daemon tick pulls task states once for all of them.

An idle tick (nothing due but the syncs) costs one status-pull request per board plus one read
per meeting still collecting decisions; a tick where every series reports progress does one
(full) pull, not one per series; and `sync` that adopts history pulls once, not twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from planerka_sync.daemon import Daemon
from planerka_sync.demo import demo_config
from planerka_sync.domain.model import TaskState
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.decisions import COLLECT_FOR
from planerka_sync.service.status import one_pull_per_board, pull_status, sync
from planerka_sync.store import open_store
from planerka_sync.store.models import CommentKind, Meeting, MeetingState, PostedComment
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy

SUNDAY = datetime(2026, 11, 29, 8, tzinfo=UTC)  # Monday's meetings are to be prepared now
MONDAY_PROGRESS = datetime(2026, 11, 30, 6, 10, tzinfo=UTC)  # progress due (07:00 - 1h)
SERIES = 3


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    running = SandboxServer(make_emulator(request.param)).start()
    running.flavour = request.param  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        running.stop()


def three_series(server: SandboxServer, db_url: str, clock: list[datetime]) -> App:
    flavour: str = server.flavour  # type: ignore[attr-defined]
    base = demo_config(flavour, server.url)
    template = base.meetings[0]
    series = [template.model_copy(update={"id": f"s{i}", "title": f"Планёрка {i}"})
              for i in range(SERIES)]
    config = base.model_copy(update={"meetings": series})
    policy = RetryPolicy(attempts=3, sleep=lambda _: None)
    return App(config, open_store(db_url), lambda: make_tracker(config, policy, rate_limited=False),
               clock=lambda: clock[0])


class Pulls:
    """Counts the adapter's status pulls (``task_states`` calls) of an app."""

    def __init__(self, app: App) -> None:
        self.count = 0
        tracker = app.tracker
        real = tracker.task_states

        def counted(since: datetime | None) -> Iterator[TaskState]:
            self.count += 1
            return real(since)

        tracker.task_states = counted  # type: ignore[method-assign]


def log(server: SandboxServer) -> list[dict]:
    return requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()


def clear_log(server: SandboxServer) -> None:
    requests.delete(f"{server.url}/_sandbox/requests", timeout=5)


def is_status_pull(flavour: str, entry: dict) -> bool:
    """The request a status pull makes: Trello's board request, Jira's search."""
    if flavour == "trello":
        return entry["path"].startswith("/1/boards/")
    return "/search" in entry["path"]


def collecting(app: App) -> int:
    """Meetings still collecting decisions: each is read once per sync."""
    with app.store.session() as session:
        return len(session.scalars(select(Meeting.id).where(
            Meeting.state == MeetingState.CREATED,
            Meeting.starts_at >= app.clock() - COLLECT_FOR)).all())


def test_an_idle_tick_pulls_the_board_once_for_three_series(
    server: SandboxServer, tmp_path: Path
) -> None:
    flavour: str = server.flavour  # type: ignore[attr-defined]
    clock = [SUNDAY]
    app = three_series(server, f"sqlite:///{tmp_path / 'state.db'}", clock)
    try:
        daemon = Daemon(app)
        daemon.tick()  # prepares the three meetings and syncs them
        clock[0] += timedelta(minutes=6)
        daemon.tick()  # settles whatever the first tick's writes left to notice
        live = collecting(app)
        assert live == SERIES
        pulls = Pulls(app)
        for _ in range(2):  # two idle ticks, one sync interval apart: each pulls once
            clear_log(server)
            clock[0] += timedelta(minutes=6)
            daemon.tick()
            sent = log(server)
            assert [e for e in sent if e["method"] != "GET" and not is_status_pull(flavour, e)
                    ] == []  # idle: nothing written
            assert len([e for e in sent if is_status_pull(flavour, e)]) == 1, sent
            assert len(sent) <= 1 + live, sent  # one pull per board + one read per meeting
        assert pulls.count == 2
    finally:
        app.store.close()


def test_a_tick_where_every_series_reports_progress_pulls_once(
    server: SandboxServer, tmp_path: Path
) -> None:
    clock = [SUNDAY]
    app = three_series(server, f"sqlite:///{tmp_path / 'state.db'}", clock)
    try:
        daemon = Daemon(app)
        daemon.tick()
        clock[0] = MONDAY_PROGRESS  # progress is due for all three, and their syncs
        pulls = Pulls(app)
        daemon.tick()
        with app.store.session() as session:
            progress = session.scalars(select(PostedComment).where(
                PostedComment.kind == CommentKind.PROGRESS)).all()
        assert len(progress) == SERIES
        assert pulls.count == 1  # the first progress' full pull served every later ask
    finally:
        app.store.close()


def test_sync_that_adopts_history_pulls_once(server: SandboxServer, tmp_path: Path) -> None:
    clock = [SUNDAY]
    first = three_series(server, f"sqlite:///{tmp_path / 'first.db'}", clock)
    try:
        Daemon(first).tick()  # the tracker now holds three meetings
    finally:
        first.store.close()
    fresh = three_series(server, f"sqlite:///{tmp_path / 'fresh.db'}", clock)  # a lost DB
    try:
        pulls = Pulls(fresh)
        clock[0] += timedelta(minutes=6)
        sync(fresh)  # adopts the three meetings (a full pull) and syncs: one pull
        assert collecting(fresh) == SERIES
        assert pulls.count == 1
    finally:
        fresh.store.close()


def test_outside_a_tick_every_pull_asks_the_tracker(server: SandboxServer, tmp_path: Path
                                                    ) -> None:
    clock = [SUNDAY]
    app = three_series(server, f"sqlite:///{tmp_path / 'state.db'}", clock)
    try:
        pulls = Pulls(app)
        pull_status(app)
        pull_status(app)  # a webhook's pull, the CLI's: nothing shares them
        with one_pull_per_board():
            pull_status(app)
            pull_status(app)
            with one_pull_per_board():  # nested: the outer block counts
                pull_status(app)
        assert pulls.count == 3
    finally:
        app.store.close()
