"""The status pull writes in bulk: a handful of statements however many tasks changed, on
SQLite and on PostgreSQL; deleted tasks found by the DB without loading decisions; the writes,
their history and the cursor commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import event, func, insert, select

from planerka_sync.demo import demo_config
from planerka_sync.domain.model import ItemRef, TaskState
from planerka_sync.service import App, status
from planerka_sync.service.status import DELETED, FULL_PULL_EVERY, cursor_key, pull_status
from planerka_sync.store import Store, open_store
from planerka_sync.store.models import (
    Decision,
    DecisionState,
    Meeting,
    StatusCategory,
    SyncCursor,
    TaskStatusHistory,
)
from planerka_sync.trackers.base import Tracker as TrackerProtocol
from tests.store.pg import pg_server, pg_url  # noqa: F401 - fixtures

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
N = 1000
GONE = 10  # decisions whose tasks the tracker no longer has
CATEGORIES = [("new", "To Do"), ("indeterminate", "In Progress"), ("done", "Done")]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("pg_url"))


class Tracker:
    """The tracker's answer, set by the test: the pull is about the state DB here."""

    kind = "trello"

    def __init__(self) -> None:
        self.states: list[TaskState] = []

    def task_states(self, since: datetime | None) -> Iterator[TaskState]:
        return iter(self.states)


def marker(i: int) -> str:
    return f"planerka-d-{i:010x}"


def state(i: int, category: str, name: str, when: datetime) -> TaskState:
    return TaskState(marker=marker(i), ref=ItemRef(f"card{i}", f"https://trello.test/c/{i}"),
                     title=f"Task {i}", category=category, status_name=name, assignee="anna",
                     due=when.date(), done_at=when if category == "done" else None,
                     updated_at=when)


def states(n: int, shift: int = 0, when: datetime = NOW) -> list[TaskState]:
    return [state(i, *CATEGORIES[(i + shift) % 3], when) for i in range(n)]


@dataclass
class World:
    app: App
    tracker: Tracker
    clock: list[datetime]

    def later(self, by: timedelta) -> None:
        self.clock[0] += by


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    store = open_store(db_url)
    tracker, clock = Tracker(), [NOW]
    app = App(demo_config("trello", "http://127.0.0.1:9"), store,
              lambda: cast(TrackerProtocol, tracker), clock=lambda: clock[0])
    try:
        yield World(app, tracker, clock)
    finally:
        store.close()


def seed(store: Store, decisions: int, **extra: Any) -> None:
    with store.session() as session:
        meeting_id = session.execute(insert(Meeting).values(
            series_id="weekly", starts_at=NOW - timedelta(days=7), tracker="trello",
            state="created", marker="meeting-weekly", item_id="meeting-card")
            .returning(Meeting.id)).scalar_one()
        session.execute(insert(Decision), [{
            "meeting_id": meeting_id, "series_id": "weekly", "source": "checklist",
            "source_ref": f"item{i}", "line_hash": f"{i:064x}", "text": f"Task {i}",
            "title": f"Task {i}", "marker": marker(i), "state": "created",
            "task_id": f"card{i}", "attempts": 1, **extra,
        } for i in range(decisions)])


class Watch:
    """SQL statements sent (an executemany counts once) and decisions loaded as ORM objects."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.statements: list[str] = []
        self.loaded = 0

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def _load(self, *_args: Any) -> None:
        self.loaded += 1

    def __enter__(self) -> Watch:
        event.listen(self.store.engine, "before_cursor_execute", self._statement)
        event.listen(Decision, "load", self._load)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.store.engine, "before_cursor_execute", self._statement)
        event.remove(Decision, "load", self._load)

    def touching(self, *tables: str) -> list[str]:
        return [s for s in self.statements if any(t in s for t in tables)]


def rows(store: Store) -> dict[str, Decision]:
    with store.session() as session:
        return {d.marker: d for d in session.scalars(select(Decision))}


def history_count(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(TaskStatusHistory)) or 0)


def test_a_pull_of_a_thousand_changed_tasks_is_a_handful_of_statements(
    world: World
) -> None:
    app, tracker = world.app, world.tracker
    seed(app.store, N + GONE)
    tracker.states = states(N)
    with Watch(app.store) as first:
        report = pull_status(app)  # the first pull: every task changes, the gone are marked
    assert (report.seen, report.changed, report.deleted, report.full) == (N, N, GONE, True)
    writes = first.touching("decisions", "task_status_history")
    assert len(writes) <= 5, writes  # read the rows, update, update the deleted, history x2
    assert len(first.statements) <= 25, first.statements
    assert first.loaded == 0  # no decision loaded as an ORM object

    by_marker = rows(app.store)
    for i in range(N):
        row, (category, name) = by_marker[marker(i)], CATEGORIES[i % 3]
        assert (row.status_category, row.status_name) == (category, name)
        assert row.status_changed_at == NOW
        assert row.done_at == (NOW if category == "done" else None)
    for i in range(N, N + GONE):
        assert by_marker[marker(i)].status_name == DELETED
    assert history_count(app.store) == N + GONE

    # An hour later every task moved again: done ones reopened, others on; same statements.
    world.later(timedelta(hours=1))
    later = NOW + timedelta(minutes=30)
    tracker.states = states(N, shift=1, when=later)
    with Watch(app.store) as second:
        report = pull_status(app)
    assert (report.changed, report.deleted, report.full) == (N, 0, False)
    assert len(second.touching("decisions", "task_status_history")) <= 3
    assert second.loaded == 0
    by_marker = rows(app.store)
    for i in range(N):
        row, (category, name) = by_marker[marker(i)], CATEGORIES[(i + 1) % 3]
        assert (row.status_category, row.status_name, row.status_changed_at) == (
            category, name, later)
        was_done = CATEGORIES[i % 3][0] == "done"
        # done_at: set when a task gets done, kept while done, cleared when it is reopened
        assert row.done_at == (later if category == "done" and not was_done else None)
    assert history_count(app.store) == 2 * N + GONE

    with Watch(app.store) as idle:  # the same answer again: nothing to write
        report = pull_status(app)
    assert report.changed == 0
    assert idle.touching("UPDATE decisions", "INSERT INTO task_status_history") == []
    assert history_count(app.store) == 2 * N + GONE


def test_the_statements_do_not_grow_with_the_tasks(world: World) -> None:
    app, tracker = world.app, world.tracker
    seed(app.store, N)
    tracker.states = states(10)
    with Watch(app.store) as few:
        pull_status(app)  # ten changed, 990 gone
    world.later(FULL_PULL_EVERY)
    tracker.states = states(N, shift=1)
    with Watch(app.store) as many:
        pull_status(app, full=True)  # a thousand changed (990 come back), none gone
    tables = ("decisions", "task_status_history", "sync_cursors")  # the leases aside
    assert len(many.touching(*tables)) <= len(few.touching(*tables)) <= 8


def test_deleted_tasks_are_found_by_the_db_not_by_loading_decisions(
    world: World
) -> None:
    app, tracker = world.app, world.tracker
    seed(app.store, N)
    with app.store.session() as session:  # rows that are no task in the tracker
        meeting_id = session.scalar(select(Meeting.id))
        session.add_all([
            Decision(meeting_id=meeting_id, series_id="weekly", source="checklist",
                     source_ref="pending", line_hash="p" * 64, text="no owner yet",
                     marker="planerka-d-pending", state=DecisionState.PENDING),
            Decision(meeting_id=meeting_id, series_id="weekly", source="checklist",
                     source_ref="creating", line_hash="c" * 64, text="in doubt",
                     marker="planerka-d-creating", state=DecisionState.CREATING)])
    tracker.states = states(N)
    pull_status(app)
    world.later(FULL_PULL_EVERY)
    tracker.states = states(N)[: N // 2]  # half the board was deleted
    with Watch(app.store) as watch:
        report = pull_status(app, full=True)
    assert (report.changed, report.deleted) == (0, N // 2)
    assert watch.loaded == 0
    by_marker = rows(app.store)
    assert [i for i in range(N) if by_marker[marker(i)].status_name == DELETED] == list(
        range(N // 2, N))
    for i in range(N // 2, N):  # the category stays the last one known
        assert by_marker[marker(i)].status_category == CATEGORIES[i % 3][0]
    assert by_marker["planerka-d-pending"].status_name is None
    assert by_marker["planerka-d-creating"].status_name is None
    with app.store.session() as session:
        deleted = session.scalars(select(TaskStatusHistory).where(
            TaskStatusHistory.status_name == DELETED)).all()
    assert len(deleted) == N // 2
    assert {(h.observed_at, h.changed_at) for h in deleted} == {(app.clock(), None)}

    world.later(FULL_PULL_EVERY)
    report = pull_status(app, full=True)  # still gone: not marked (nor recorded) twice
    assert report.deleted == 0
    assert history_count(app.store) == N + N // 2


def test_an_archived_task_is_recorded_once_with_its_last_category(
    world: World
) -> None:
    app, tracker = world.app, world.tracker
    seed(app.store, 3)
    tracker.states = states(3)
    pull_status(app)
    archived = NOW + timedelta(minutes=3)
    tracker.states = [TaskState(marker=marker(i), ref=ItemRef(f"card{i}", ""), title="",
                                category="deleted", status_name="archived", updated_at=archived)
                      for i in range(3)]
    world.later(timedelta(minutes=5))
    with Watch(app.store) as watch:
        assert pull_status(app).changed == 3
        assert pull_status(app).changed == 0
    assert watch.loaded == 0
    assert len(watch.touching("UPDATE decisions")) == 1
    by_marker = rows(app.store)
    for i in range(3):
        row = by_marker[marker(i)]
        assert (row.status_name, row.status_changed_at) == (DELETED, archived)
        assert row.status_category == CATEGORIES[i][0]
    with app.store.session() as session:
        last = session.scalars(select(TaskStatusHistory).where(
            TaskStatusHistory.status_name == DELETED).order_by(TaskStatusHistory.id)).all()
    assert [(h.status_category, h.changed_at) for h in last] == [
        (StatusCategory(c), archived) for c, _ in CATEGORIES]


def test_the_writes_history_and_cursor_commit_together(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, tracker = world.app, world.tracker
    seed(app.store, N + GONE)
    tracker.states = states(N)

    def broken(*_args: Any) -> None:
        raise RuntimeError("the DB went away after the batch was written")

    monkeypatch.setattr(status, "_note_unseen", broken)  # the last write of the transaction
    with pytest.raises(RuntimeError):
        pull_status(app)
    assert {(d.status_name, d.status_category) for d in rows(app.store).values()} == {
        (None, None)}
    assert history_count(app.store) == 0
    with app.store.session() as session:
        assert session.get(SyncCursor, cursor_key(app)) is None
    monkeypatch.undo()
    with Watch(app.store) as watch:
        report = pull_status(app)  # the next pull does it all
    assert (report.changed, report.deleted) == (N, GONE)
    assert watch.loaded == 0
