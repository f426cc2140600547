"""Adoption: a state DB that does not know the tracker's history takes it over.

The tracker is the truth about what exists; the state DB is a cache of what we did. A DB that is
new (first run, a fresh container, `sync` run with another `database`), restored from an old
backup or moved, would otherwise create every decision's task again and write agendas whose
review section is empty. So before a series is prepared or synced, the DB adopts what the
tracker shows:

1. the series' meeting items it has no row for (one listing request per series);
2. their decisions, read from the items as `sync` reads them; each is looked up by its marker,
   so existing tasks are recorded, never made again. Only meetings still collecting decisions
   may get a task for a line that has none (what `sync` would have done anyway);
3. the state of every task (a full status pull), so the review and the progress are true.

It runs once per DB and series, and again whenever the status pull sees planerka tasks the DB
has never seen (the sign of a DB that lost part of the history).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select

from planerka_sync.config import MeetingSeries
from planerka_sync.domain.model import ItemRef, MeetingSighting, meeting_marker
from planerka_sync.service.app import App, schedule_of
from planerka_sync.service.decisions import COLLECT_FOR, adopt_decisions
from planerka_sync.store.memo import StoreMemo
from planerka_sync.store.models import Meeting, MeetingState

log = logging.getLogger("planerka_sync.adopt")

UNSEEN_KEY = "adopt:unseen-tasks"  # set by the status pull: the tracker has tasks we never saw


def adopted_key(series_id: str) -> str:
    return f"adopt:done:{series_id}"


def adopt_history(app: App, series_id: str | None = None) -> list[Meeting]:
    """Adopt what the tracker holds and this DB does not; returns the meetings adopted."""
    from planerka_sync.service.status import pull_status  # status imports decisions too

    memo = StoreMemo(app.store)
    due = [series for series in app.series(series_id) if _needs_adoption(memo, series.id)]
    if not due:
        return []
    adopted: list[Meeting] = []
    for series in due:
        meetings = _adopt_meetings(app, series)
        for meeting in meetings:
            adopt_decisions(app, series, meeting,
                            may_create=meeting.starts_at >= app.clock() - COLLECT_FOR)
        adopted += meetings
    # The tick's pull (the one `sync` makes next, shared), full when meetings were adopted.
    # The adoption is stamped after it: tasks it still cannot place (made by hand or by another
    # DB's command line) are then not news, and do not bring the adoption back next run.
    pull_status(app, full=bool(adopted))
    if adopted:
        log.info("adopted %d meeting item(s) this state DB had not seen: %s", len(adopted),
                 ", ".join(m.item_key or m.item_url or m.item_id or "?" for m in adopted))
    done = app.clock().isoformat()
    for series in due:
        memo[adopted_key(series.id)] = done
    return adopted


def _needs_adoption(memo: StoreMemo, series_id: str) -> bool:
    """Never adopted by this DB, or unseen tasks turned up after the last adoption."""
    done, unseen = memo.get(adopted_key(series_id)), memo.get(UNSEEN_KEY)
    if done is None:
        return True
    return unseen is not None and datetime.fromisoformat(unseen) > datetime.fromisoformat(done)


def _adopt_meetings(app: App, series: MeetingSeries) -> list[Meeting]:
    sightings = app.tracker.series_meetings(series.id)
    if not sightings:
        return []
    with app.store.session() as session:
        known = set(session.scalars(select(Meeting.item_id).where(
            Meeting.series_id == series.id, Meeting.item_id.is_not(None))))
        by_start = {m.starts_at: m for m in session.scalars(
            select(Meeting).where(Meeting.series_id == series.id))}
        adopted = []
        for sighting in sightings:
            if sighting.ref.id in known:
                continue
            starts_at = _start(app, series, sighting)
            if starts_at is None:
                continue
            row = by_start.get(starts_at)
            if row is not None and row.state == MeetingState.CREATED:
                continue  # the DB has its own item for that meeting; keep it
            if row is None:
                row = Meeting(series_id=series.id, starts_at=starts_at,
                              tracker=app.config.tracker.kind,
                              marker=meeting_marker(series.id, starts_at))
                session.add(row)
                by_start[starts_at] = row
            _record_item(row, sighting.ref)
            adopted.append(row)
        session.flush()
    return adopted


def _start(app: App, series: MeetingSeries, sighting: MeetingSighting) -> datetime | None:
    if sighting.starts_at is not None:
        return sighting.starts_at.astimezone(UTC)
    if sighting.day is None:
        return None
    occurrence = schedule_of(series, app.config.timezone).on(sighting.day)
    return occurrence.starts_at.astimezone(UTC) if occurrence else None


def _record_item(row: Meeting, ref: ItemRef) -> None:
    row.item_id, row.item_key, row.item_url = ref.id, ref.key, ref.url
    row.state, row.error = MeetingState.CREATED, None
