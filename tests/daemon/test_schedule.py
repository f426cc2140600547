"""The daemon on a fake clock: two weeks of a weekly series, restarted in the middle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import select

from planerka_sync.daemon import Daemon
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.store.models import CommentKind, Meeting, PostedComment
from tests.integration.test_prepare import World

START = datetime(2026, 11, 26, 12, tzinfo=UTC)  # Thursday; meetings Mondays 07:00 UTC
STEP = timedelta(minutes=30)


def walk(world: World, until: datetime, daemon: Daemon, clock: list[datetime]) -> None:
    while clock[0] < until:
        clock[0] += STEP
        daemon.tick()


def test_two_weeks_with_a_restart_each_job_once_at_its_time(tmp_path: Path) -> None:
    server = SandboxServer(make_emulator("trello")).start()
    try:
        world = World("trello", server, f"sqlite:///{tmp_path / 'state.db'}")
        clock = [START]
        app = world.app()
        app.clock = lambda: clock[0]
        walk(world, START + timedelta(days=7), Daemon(app), clock)
        app.store.close()
        restarted = world.app()  # a new process: new state handles, same DB
        restarted.clock = lambda: clock[0]
        walk(world, START + timedelta(days=14), Daemon(restarted), clock)

        with restarted.store.session() as session:
            meetings = list(session.scalars(select(Meeting).order_by(Meeting.starts_at)))
            progress = list(session.scalars(select(PostedComment).where(
                PostedComment.kind == CommentKind.PROGRESS)))
        restarted.store.close()
        starts = [m.starts_at for m in meetings]
        # Two Mondays in the fortnight (the third one's prepare is due after it ends).
        assert starts == [datetime(2026, 11, 30, 7, tzinfo=UTC),
                          datetime(2026, 12, 7, 7, tzinfo=UTC)]
        for meeting in meetings:  # prepared within one step of start - 24h
            due = meeting.starts_at - timedelta(hours=24)
            assert meeting.prepared_at is not None and due <= meeting.prepared_at < due + STEP
        assert len(progress) == 2  # the two meetings that happened in the two weeks
        for comment in progress:
            meeting = next(m for m in meetings if m.id == comment.meeting_id)
            due = meeting.starts_at - timedelta(hours=1)
            assert comment.posted_at is not None and due <= comment.posted_at < due + STEP
        log = requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()
        cards = [e for e in log if e["method"] == "POST" and e["path"] == "/1/cards"]
        assert len(cards) == 1 + 2  # the template once, a card per meeting once
        comments = [e for e in log if e["method"] == "POST" and e["path"].endswith("/comments")]
        assert len(comments) == 2 * 2  # progress + KPI, once per meeting
    finally:
        server.stop()


def test_jobs_missed_while_down_run_once_when_back(tmp_path: Path) -> None:
    server = SandboxServer(make_emulator("jira-cloud")).start()
    try:
        world = World("jira-cloud", server, f"sqlite:///{tmp_path / 'state.db'}")
        clock = [START]
        app = world.app()
        app.clock = lambda: clock[0]
        daemon = Daemon(app)
        daemon.tick()  # Thursday: nothing is due yet
        assert world.log() == [] or all(e["method"] != "POST" or e["path"].endswith("/search/jql")
                                        for e in world.log())
        clock[0] = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # down over Sunday's prepare time
        daemon.tick()
        daemon.tick()
        with app.store.session() as session:
            meetings = list(session.scalars(select(Meeting)))
            progress = list(session.scalars(select(PostedComment).where(
                PostedComment.kind == CommentKind.PROGRESS)))
        app.store.close()
        assert len(meetings) == 1 and len(progress) == 1
        created = [e for e in world.log() if e["method"] == "POST" and e["path"].endswith("/issue")]
        assert len(created) == 1
    finally:
        server.stop()


def test_a_tracker_that_is_down_for_long_is_waited_out(tmp_path: Path) -> None:
    server = SandboxServer(make_emulator("trello")).start()
    try:
        world = World("trello", server, f"sqlite:///{tmp_path / 'state.db'}")
        clock = [datetime(2026, 11, 29, 8, tzinfo=UTC)]  # Sunday: prepare is due
        app = world.app()
        app.clock = lambda: clock[0]
        daemon = Daemon(app)
        world.fault(path=".*", status=503, count=10_000)  # Trello is down
        for _ in range(6):  # half an hour of ticks: no crash, nothing created
            clock[0] += timedelta(minutes=5)
            daemon.tick()
        assert [e for e in world.log() if e["status"] != 503] == []
        requests.delete(f"{server.url}/_sandbox/faults", timeout=5)  # it is back
        clock[0] += timedelta(minutes=5)
        daemon.tick()
        with app.store.session() as session:
            meetings = list(session.scalars(select(Meeting)))
        app.store.close()
        assert len(meetings) == 1 and meetings[0].state == "created"
    finally:
        server.stop()
