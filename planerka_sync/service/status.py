"""The status pull: every task's state back from the tracker in bulk, history on each change.

Incremental: from a cursor minus a lookback (Jira's JQL has minute precision and its search
lags), de-duplicated by marker, the cursor advanced only after the batch is stored. A full pull
(no cursor) also notices tasks deleted in the tracker.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from planerka_sync.domain.model import TaskState
from planerka_sync.messages import t
from planerka_sync.service import leases
from planerka_sync.service.app import App
from planerka_sync.service.decisions import MeetingReport, sync_decisions
from planerka_sync.store import Store
from planerka_sync.store.memo import write_text
from planerka_sync.store.models import (
    Decision,
    DecisionState,
    StatusCategory,
    SyncCursor,
    TaskStatusHistory,
)

LOOKBACK = timedelta(minutes=5)
DELETED = "(deleted)"  # status_name of a task that is gone from the tracker
CHUNK = 500  # markers per IN (...) query


@dataclass
class PullReport:
    seen: int = 0
    changed: int = 0
    deleted: int = 0
    unseen: int = 0  # planerka tasks in the tracker that this DB has no decision for


def cursor_key(app: App) -> str:
    tracker = app.config.tracker
    where = tracker.board if tracker.kind == "trello" else tracker.project
    return f"status:{tracker.kind}:{where}"


FULL_PULL_EVERY = timedelta(minutes=10)


def pull_status(app: App, *, full: bool = False) -> PullReport:
    """``full`` also notices deleted tasks; it is skipped when one ran within the last minutes
    (the daemon asks per series, and one full pull serves them all)."""
    key = cursor_key(app)
    # One pull at a time per board: two interleaved ones would both record the same change.
    with leases.holding(app, key, what=t("the status pull", "сбор состояний задач")):
        return _pull(app, key, full)


def _pull(app: App, key: str, full: bool) -> PullReport:
    if full:
        last_full = _read_cursor(app.store, f"{key}:full")
        full = last_full is None or app.clock() - last_full >= FULL_PULL_EVERY
    cursor = None if full else _read_cursor(app.store, key)
    started = app.clock()
    states = {}
    what = "task states" if app.locale == "en" else "состояния задач"
    for state in app.tracker.task_states(cursor - LOOKBACK if cursor else None):
        states[state.marker] = state
        app.progress(what, len(states), None)
    with app.store.session() as session:
        report = _store(session, states, started)
        if full or cursor is None:
            report.deleted = _mark_deleted(session, set(states), started)
            _write_cursor(session, f"{key}:full", started)
        # Same transaction as the batch: the cursor never runs ahead of what is stored.
        _write_cursor(session, key, started)
        _note_unseen(session, report.unseen, started)
    return report


def _note_unseen(session: Session, unseen: int, now: datetime) -> None:
    """Tasks the DB never saw made (another or a lost DB made them): the next sync or prepare
    adopts the history again. Counted against the last count, so tasks that cannot be adopted
    (made from the command line by another DB) do not trigger it on every pull."""
    key = "memo:adopt:unseen-count"
    before = session.get(SyncCursor, key)
    if unseen > int(before.value if before else 0):
        write_text(session, "memo:adopt:unseen-tasks", now.isoformat())
    write_text(session, key, str(unseen))


def _store(session: Session, states: dict[str, TaskState], now: datetime) -> PullReport:
    report = PullReport(seen=len(states))
    known = set()
    for row in _decisions_with_markers(session, list(states)):
        known.add(row.marker)
        if _apply(session, row, states[row.marker], now):
            report.changed += 1
    report.unseen = len(set(states) - known)
    return report


def _apply(session: Session, row: Decision, state: TaskState, now: datetime) -> bool:
    if state.category == "deleted":
        return _delete(session, row, now, state.updated_at)
    category = StatusCategory(state.category)
    current = (row.status_category, row.status_name)
    if current == (category, state.status_name):
        return False
    reopened = row.status_category == StatusCategory.DONE and category != StatusCategory.DONE
    row.status_category, row.status_name = category, state.status_name
    row.status_changed_at = state.updated_at or now
    if category == StatusCategory.DONE and row.done_at is None:
        row.done_at = state.done_at or state.updated_at or now
    elif reopened:
        row.done_at = None
    session.add(TaskStatusHistory(decision_id=row.id, status_category=category,
                                  status_name=state.status_name, assignee=state.assignee,
                                  due=state.due, observed_at=now, changed_at=state.updated_at))
    return True


def _delete(session: Session, row: Decision, now: datetime, when: datetime | None) -> bool:
    if row.status_name == DELETED:
        return False
    row.status_name, row.status_changed_at = DELETED, when or now
    session.add(TaskStatusHistory(
        decision_id=row.id, status_category=row.status_category or StatusCategory.NEW,
        status_name=DELETED, observed_at=now, changed_at=when))
    return True


def _mark_deleted(session: Session, seen: set[str], now: datetime) -> int:
    """Tasks planerka created that the full pull no longer finds."""
    rows = session.scalars(select(Decision).where(
        Decision.state == DecisionState.CREATED, Decision.task_id.is_not(None)))
    return sum(_delete(session, row, now, None) for row in rows if row.marker not in seen)


def _decisions_with_markers(session: Session, markers: Sequence[str]) -> Iterator[Decision]:
    for start in range(0, len(markers), CHUNK):
        chunk = markers[start:start + CHUNK]
        yield from session.scalars(select(Decision).where(Decision.marker.in_(chunk)))


def _read_cursor(store: Store, key: str) -> datetime | None:
    with store.session() as session:
        row = session.get(SyncCursor, key)
        return datetime.fromisoformat(row.value) if row else None


def _write_cursor(session: Session, key: str, value: datetime) -> None:
    write_text(session, key, value.isoformat())


def sync(app: App, series_id: str | None = None, *, dry_run: bool = False) -> tuple[
        PullReport | None, list[MeetingReport]]:
    """One tick: adopt what the tracker has and this DB has not seen (see adopt.py), pull task
    states (which also refreshes the board layout), then decisions."""
    from planerka_sync.service.adopt import adopt_history

    if not dry_run:
        adopt_history(app, series_id)
    pulled = None if dry_run else pull_status(app)
    return pulled, sync_decisions(app, series_id, dry_run=dry_run)
