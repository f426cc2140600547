"""The status pull: every task's state back from the tracker in bulk, history on each change.

Incremental: from a cursor minus a lookback (Jira's JQL has minute precision and its search
lags), de-duplicated by marker, the cursor advanced only after the batch is stored. A full pull
(no cursor) also notices tasks deleted in the tracker.

One pull per board: every series of a config lives on its one board or project, so a daemon tick
or a `sync` (``one_pull_per_board``) pulls once, and every later ask in it is served by that
pull. The writes are set-based: the changed rows in one UPDATE (an executemany on SQLite, one
statement joining a JSON document on PostgreSQL), their history rows in one INSERT, the deleted
found by one UPDATE against the set of markers seen, the cursors in one upsert; a pull costs a
handful of statements however many tasks change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    column,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from planerka_sync.domain.model import TaskState
from planerka_sync.messages import t
from planerka_sync.service import leases
from planerka_sync.service.app import App
from planerka_sync.service.decisions import MeetingReport, sync_decisions
from planerka_sync.store import Store
from planerka_sync.store.models import (
    Decision,
    DecisionState,
    StatusCategory,
    SyncCursor,
    TaskStatusHistory,
)

LOOKBACK = timedelta(minutes=5)
DELETED = "(deleted)"  # status_name of a task that is gone from the tracker

DECISIONS = cast(Table, Decision.__table__)  # Core statements: no ORM bookkeeping per row
HISTORY = cast(Table, TaskStatusHistory.__table__)


@dataclass
class PullReport:
    seen: int = 0
    changed: int = 0
    deleted: int = 0
    unseen: int = 0  # planerka tasks in the tracker that this DB has no decision for
    full: bool = False  # it also looked for deleted tasks


def cursor_key(app: App) -> str:
    tracker = app.config.tracker
    where = tracker.board if tracker.kind == "trello" else tracker.project
    return f"status:{tracker.kind}:{where}"


FULL_PULL_EVERY = timedelta(minutes=10)


@dataclass
class _Pulled:
    app: App
    report: PullReport


# The pulls done in the current one_pull_per_board block, by board; None outside one.
_PULLED: ContextVar[dict[str, _Pulled] | None] = ContextVar("planerka_pulled", default=None)


@contextmanager
def one_pull_per_board() -> Iterator[None]:
    """Within the block (a daemon tick, one `sync`) a board is pulled once: every later
    ``pull_status`` of it returns the first one's report without a request. A full pull asked
    for after an incremental one still runs if one is due (``FULL_PULL_EVERY``); a pull that
    failed is not remembered, so the next ask tries again. Blocks nest (the outer one counts)."""
    if _PULLED.get() is not None:
        yield
        return
    token = _PULLED.set({})
    try:
        yield
    finally:
        _PULLED.reset(token)


def pull_status(app: App, *, full: bool = False) -> PullReport:
    """``full`` also notices deleted tasks; it is skipped when one ran within the last minutes
    (the daemon asks per series, and one full pull serves them all)."""
    key = cursor_key(app)
    pulled = _PULLED.get()
    done = pulled.get(key) if pulled is not None else None
    if done is not None and done.app is app and (
            done.report.full or not full or not _full_due(app.store, key, app.clock())):
        return done.report
    # One pull at a time per board: two interleaved ones would both record the same change.
    with leases.holding(app, key, what=t("the status pull", "сбор состояний задач")):
        report = _pull(app, key, full)
    if pulled is not None:
        pulled[key] = _Pulled(app, report)
    return report


def _full_due(store: Store, key: str, now: datetime) -> bool:
    [last_full] = _read_cursors(store, f"{key}:full")
    return _due(last_full, now)


def _due(last_full: datetime | None, now: datetime) -> bool:
    return last_full is None or now - last_full >= FULL_PULL_EVERY


def _pull(app: App, key: str, full: bool) -> PullReport:
    last_full, cursor = _read_cursors(app.store, f"{key}:full", key)
    full = full and _due(last_full, app.clock())
    if full:
        cursor = None
    started = app.clock()
    states = {}
    what = "task states" if app.locale == "en" else "состояния задач"
    for state in app.tracker.task_states(cursor - LOOKBACK if cursor else None):
        states[state.marker] = state
        app.progress(what, len(states), None)
    alive = _still_there(app, set(states)) if full or cursor is None else set()
    with app.store.session() as session:
        seen = _marker_set(session, list(states))
        report = _store(session, states, seen, started)
        cursors = {key: started.isoformat()}
        if full or cursor is None:
            report.full = True
            report.deleted = _mark_deleted(session, _marker_set(session, [*states, *alive]),
                                           started)
            cursors[f"{key}:full"] = started.isoformat()
        # Same transaction as the batch: the cursor never runs ahead of what is stored.
        _write_texts(session, cursors | _note_unseen(session, report.unseen, started))
    return report


def _still_there(app: App, seen: set[str]) -> set[str]:
    """Jira: tasks a full pull did not return but the tracker still has. The pull's JQL leaves
    out issues carrying a series label (the meeting issues), so a task someone labelled so by
    hand is missing from it while alive; absence alone must not mark it deleted. Asked only
    when something is missing, by marker, so an ordinary pull costs nothing more. (Trello's
    pull reads every open card and the archivings, so what it misses is gone.)"""
    if app.config.tracker.kind != "jira":
        return set()
    with app.store.session() as session:
        known = set(session.scalars(select(Decision.marker).where(
            Decision.state == DecisionState.CREATED, Decision.task_id.is_not(None),
            or_(Decision.status_name.is_(None), Decision.status_name != DELETED))))
    missing = sorted(known - seen)
    found: set[str] = set()
    for start in range(0, len(missing), 100):  # a JQL of a hundred labels at a time
        found |= set(app.tracker.find_tasks(missing[start:start + 100]))
    return found


def _note_unseen(session: Session, unseen: int, now: datetime) -> dict[str, str]:
    """Tasks the DB never saw made (another or a lost DB made them): the next sync or prepare
    adopts the history again. Counted against the last count, so tasks that cannot be adopted
    (made from the command line by another DB) do not trigger it on every pull. Returns the
    memo rows to write."""
    key = "memo:adopt:unseen-count"
    before = session.scalar(select(SyncCursor.value).where(SyncCursor.key == key))
    notes = {key: str(unseen)}
    if unseen > int(before or 0):
        notes["memo:adopt:unseen-tasks"] = now.isoformat()
    return notes


def _marker_set(session: Session, markers: Sequence[str]) -> Select[Any]:
    """The markers as one bound value the DB reads as a set (a JSON array on SQLite, an array
    on PostgreSQL), so a pull of any size is one statement with no limit on parameters."""
    if _postgresql(session):
        from sqlalchemy.dialects import postgresql  # on PostgreSQL only: ~35 ms to import

        values = func.unnest(bindparam("markers", list(markers),
                                       type_=postgresql.ARRAY(String)))
        return select(values.column_valued("marker"))
    rows = func.json_each(bindparam("markers", json.dumps(list(markers)))).table_valued("value")
    return select(rows.c.value)


def _store(session: Session, states: dict[str, TaskState], seen: Select[Any],
           now: datetime) -> PullReport:
    """The changes among the rows of the tasks seen, written in bulk."""
    report = PullReport(seen=len(states))
    if not states:
        return report
    rows = session.execute(
        select(Decision.id, Decision.marker, Decision.status_category, Decision.status_name,
               Decision.done_at)
        .where(Decision.marker.in_(seen))).all()
    report.unseen = len(states) - len(rows)
    moved: list[dict[str, Any]] = []  # a new status
    gone: list[dict[str, Any]] = []  # deleted in the tracker
    history: list[dict[str, Any]] = []
    for row_id, marker, category, name, done_at in rows:
        state = states[marker]
        if state.category == "deleted":
            if name == DELETED:
                continue
            changed = state.updated_at or now
            gone.append({"row_id": row_id, "changed_at": changed})
            history.append(_history(row_id, category or StatusCategory.NEW, DELETED, now,
                                    changed_at=state.updated_at))
            continue
        new = StatusCategory(state.category)
        if (category, name) == (new, state.status_name):
            continue
        if new == StatusCategory.DONE and done_at is None:
            done_at = state.done_at or state.updated_at or now
        elif category == StatusCategory.DONE and new != StatusCategory.DONE:  # reopened
            done_at = None
        moved.append({"row_id": row_id, "category": new, "name": state.status_name,
                      "changed_at": state.updated_at or now, "done_at": done_at})
        history.append(_history(row_id, new, state.status_name, now, changed_at=state.updated_at,
                                assignee=state.assignee, due=state.due))
    _update_decisions(session, moved, status_category="category", status_name="name",
                      status_changed_at="changed_at", done_at="done_at")
    _update_decisions(session, gone, {"status_name": DELETED}, status_changed_at="changed_at")
    _insert_history(session, history)
    report.changed = len(moved) + len(gone)
    return report


def _history(decision_id: int, category: StatusCategory, name: str, now: datetime, *,
             changed_at: datetime | None, assignee: str | None = None,
             due: object = None) -> dict[str, Any]:
    return {"decision_id": decision_id, "status_category": category, "status_name": name,
            "assignee": assignee, "due": due, "observed_at": now, "changed_at": changed_at}


def _mark_deleted(session: Session, seen: Select[Any], now: datetime) -> int:
    """Tasks planerka created that the full pull no longer finds: one UPDATE against the set
    of markers seen (no decision is loaded), then their history rows in one INSERT."""
    gone: ColumnElement[bool] = Decision.marker.not_in(seen)
    marked = session.execute(
        update(DECISIONS)
        .where(DECISIONS.c.state == DecisionState.CREATED, DECISIONS.c.task_id.is_not(None),
               or_(DECISIONS.c.status_name.is_(None), DECISIONS.c.status_name != DELETED),
               gone)
        .values(status_name=DELETED, status_changed_at=now)
        .returning(DECISIONS.c.id, DECISIONS.c.status_category)).all()
    _insert_history(session, [
        _history(row_id, category or StatusCategory.NEW, DELETED, now, changed_at=None)
        for row_id, category in marked])
    return len(marked)


# Bulk writes. SQLite runs in-process, so an executemany is as good as one statement there;
# PostgreSQL answers each row of an executemany apart (pipelined, still a round of work per row),
# so there the rows travel as one JSON document and one statement joins them in.


def _update_decisions(session: Session, rows: list[dict[str, Any]],
                      constants: dict[str, Any] | None = None, **columns: str) -> None:
    """``UPDATE decisions SET <column> = row[<key>]`` (and the ``constants``) for each row,
    found by ``row["row_id"]``; ``columns`` maps a column to its key in the rows."""
    if not rows:
        return
    if _postgresql(session):
        given = _recordset(rows, {"row_id": Integer(), **{
            key: DECISIONS.c[name].type for name, key in columns.items()}})
        session.execute(update(DECISIONS).where(DECISIONS.c.id == given.c.row_id).values(
            {name: given.c[key] for name, key in columns.items()} | (constants or {})))
        return
    session.execute(update(DECISIONS).where(DECISIONS.c.id == bindparam("row_id")).values(
        {name: bindparam(key) for name, key in columns.items()} | (constants or {})), rows)


def _insert_history(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if _postgresql(session):
        names = list(rows[0])
        given = _recordset(rows, {name: HISTORY.c[name].type for name in names})
        session.execute(insert(HISTORY).from_select(names, select(*(given.c[n] for n in names))))
        return
    session.execute(insert(HISTORY), rows)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _recordset(rows: list[dict[str, Any]], types: dict[str, Any]) -> Any:
    """PostgreSQL's ``jsonb_to_recordset(:rows) AS given(<name> <type>, ...)``: the rows as a
    table, sent as one parameter."""
    document = [{key: _json_value(row[key]) for key in types} for row in rows]
    from sqlalchemy.dialects import postgresql

    function = func.jsonb_to_recordset(bindparam("rows", document, type_=postgresql.JSONB))
    return function.table_valued(*(column(name, type_) for name, type_ in types.items())
                                 ).render_derived("given", with_types=True)


def _json_value(value: Any) -> Any:
    """Dates and times as ISO text (with the offset, which PostgreSQL's timestamptz keeps)."""
    return value.isoformat() if isinstance(value, date) else value


def _read_cursors(store: Store, *keys: str) -> list[datetime | None]:
    with store.session() as session:
        found = {key: value for key, value in session.execute(
            select(SyncCursor.key, SyncCursor.value).where(SyncCursor.key.in_(keys)))}
    return [datetime.fromisoformat(found[key]) if key in found else None for key in keys]


def _write_texts(session: Session, values: dict[str, str]) -> None:
    """The cursors and memo rows in one INSERT .. ON CONFLICT DO UPDATE (as kpi._upsert)."""
    table = cast(Table, SyncCursor.__table__)
    if _postgresql(session):
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at})
    session.execute(statement, [{"key": key, "value": value} for key, value in values.items()])


def sync(app: App, series_id: str | None = None, *, dry_run: bool = False) -> tuple[
        PullReport | None, list[MeetingReport]]:
    """One tick: adopt what the tracker has and this DB has not seen (see adopt.py), pull task
    states (which also refreshes the board layout), then decisions. The adoption's pull and
    this one are one pull (``one_pull_per_board``), as are the pulls of every series a daemon
    tick syncs."""
    from planerka_sync.service.adopt import adopt_history

    with one_pull_per_board():
        if not dry_run:
            adopt_history(app, series_id)
        pulled = None if dry_run else pull_status(app)
        return pulled, sync_decisions(app, series_id, dry_run=dry_run)
