"""KPIs: recording values, and the summary comment with its chart before each meeting."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from statistics import median
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from planerka_sync.config import MeetingSeries
from planerka_sync.domain.document import Document
from planerka_sync.domain.kpi import (
    KpiSet,
    KpiSummary,
    chart_title,
    headline_series,
    kpi_summary_document,
    summarize,
)
from planerka_sync.domain.model import Attachment, ItemRef
from planerka_sync.domain.progress import TaskProgress, on_time_rate, overdue_days
from planerka_sync.kpi_sources.csv_source import CsvReport, KpiRow, iter_csv
from planerka_sync.kpi_sources.http_json import fetch
from planerka_sync.render.chart import kpi_chart_png
from planerka_sync.service.app import App
from planerka_sync.service.comments import post_once
from planerka_sync.store.models import Attachment as AttachmentRow
from planerka_sync.store.models import AttachmentKind, CommentKind, KpiValue, Meeting
from planerka_sync.templates import kpi_set

CHART_PERIODS = 8
BATCH_ROWS = 5000  # rows per INSERT ... ON CONFLICT statement of an import


def kpis_of(app: App, series: MeetingSeries) -> KpiSet:
    return kpi_set(series.kpis, app.config_dir)


def record(app: App, series_id: str, values: Mapping[str, float | None], period_end: date,
           source: str) -> int:
    """Store values for a period; a value recorded again for the same period replaces it."""
    with app.store.session() as session:
        for metric, value in values.items():
            row = session.scalar(select(KpiValue).where(
                KpiValue.series_id == series_id, KpiValue.metric == metric,
                KpiValue.period_end == period_end))
            if row is None:
                row = KpiValue(series_id=series_id, metric=metric, period_end=period_end)
                session.add(row)
            row.value, row.source, row.recorded_at = value, source[:32], app.clock()
    return len(values)


def import_csv(app: App, series: MeetingSeries, path: Path) -> CsvReport:
    """Store a CSV's valid rows even when others are wrong; the report names the problems.

    All or nothing: the whole file is one transaction, written in batches of ``BATCH_ROWS``
    as the file streams by. An import that is interrupted (Ctrl-C, a crash, ``kill -9``)
    leaves none of its rows behind, so it can simply be run again, and the DB never holds half
    a month of one file next to the other half of an older one. The price: on SQLite the
    import holds the write lock until it ends (a million rows take tens of seconds), and
    another writer, such as the daemon's tick, waits at most its busy timeout and then fails
    until the next tick. A file that cannot be read at all stores nothing either.
    """
    report = CsvReport()
    rows = iter_csv(path, kpis_of(app, series).recordable(), report)
    recorded_at = app.clock()
    with app.store.session() as session:
        for batch in _batches(rows, BATCH_ROWS):
            _upsert(session, series.id, batch, recorded_at)
    return report


def _batches(rows: Iterable[KpiRow], size: int) -> Iterator[list[KpiRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _upsert(session: Session, series_id: str, rows: Sequence[KpiRow],
            recorded_at: datetime) -> None:
    """One statement per batch: a value recorded again for the same period replaces it, as
    ``record`` does row by row. The rows carry no duplicate key (the reader refuses them),
    which PostgreSQL's ON CONFLICT requires within one statement."""
    table = cast(Table, KpiValue.__table__)  # a Core insert: no ORM bookkeeping per row
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.series_id, table.c.metric, table.c.period_end],
        set_={"value": statement.excluded.value, "source": statement.excluded.source,
              "recorded_at": statement.excluded.recorded_at})
    session.execute(statement, [
        {"series_id": series_id, "metric": row.metric, "period_end": row.period_end,
         "value": row.value, "source": row.source, "recorded_at": recorded_at}
        for row in rows])


def history(app: App, series_id: str, until: date) -> dict[date, dict[str, float | None]]:
    with app.store.session() as session:
        rows = session.scalars(select(KpiValue).where(
            KpiValue.series_id == series_id, KpiValue.period_end <= until))
        found: dict[date, dict[str, float | None]] = {}
        for row in rows:
            found.setdefault(row.period_end, {})[row.metric] = row.value
    return found


@dataclass
class KpiReport:
    summary: KpiSummary
    document: Document
    chart: bytes | None
    errors: dict[str, str] = field(default_factory=dict)
    posted: bool = False


def kpi_report(app: App, series: MeetingSeries, period_end: date,
               tasks: Sequence[TaskProgress] = (), *, fetch_sources: bool = True) -> KpiReport:
    """The summary for the period ending ``period_end``: each metric's latest value against the
    one before it, after refreshing the tracker-derived metrics and the http-json sources."""
    kpis = kpis_of(app, series)
    errors: dict[str, str] = {}
    if fetch_sources:
        record(app, series.id, tracker_metrics(tasks, period_end), period_end, "tracker")
        errors = _fetch_sources(app, series.id, period_end, kpis)
    past = history(app, series.id, period_end)
    current, previous, ends = _latest_two(past)
    summary = summarize(kpis, current, previous, app.locale, errors=errors,
                        period_end=ends[0], previous_end=ends[1])
    document = kpi_summary_document(summary, app.locale, tracker_kind=app.config.tracker.kind)
    recent = dict(sorted(past.items())[-CHART_PERIODS:])
    series_points = headline_series(kpis, recent, app.locale)
    has_points = any(v is not None for points in series_points.values() for _, v in points)
    # No headline numbers recorded: no chart (an empty picture helps nobody).
    chart = kpi_chart_png(series_points, chart_title(app.locale, ends[0])) if has_points else None
    return KpiReport(summary, document, chart, errors)


def post_kpi(app: App, meeting: Meeting, report: KpiReport) -> bool:
    """The KPI comment (edited in place) and its chart (replaced, never duplicated)."""
    ref = ItemRef(meeting.item_id or "", meeting.item_url or "", meeting.item_key)
    posted = post_once(app, meeting, ref, CommentKind.KPI, report.document, None)
    if report.chart is not None:
        _attach_chart(app, meeting, ref, report.chart)
    return posted


def tracker_metrics(tasks: Sequence[TaskProgress], today: date) -> dict[str, float | None]:
    """The metrics the tracker itself tells: decisions done on time, overdue, cycle time."""
    # Days from the meeting that decided it to done (0 when finished before the meeting).
    cycles = [max((t.done_on - t.meeting_day).days, 0) for t in tasks
              if t.category == "done" and t.done_on is not None]
    return {
        "decisions_on_time_pct": on_time_rate(tasks),
        "overdue_count": float(sum(1 for t in tasks if overdue_days(t, today))),
        "median_cycle_days": float(median(cycles)) if cycles else None,
    }


def _latest_two(past: Mapping[date, Mapping[str, float | None]]) -> tuple[
        dict[str, float | None], dict[str, float | None], tuple[date | None, date | None]]:
    """Per metric, its latest recorded value and the one before (metrics are recorded on
    different days; each is compared with its own previous period)."""
    current: dict[str, float | None] = {}
    previous: dict[str, float | None] = {}
    for day in sorted(past, reverse=True):
        for metric, value in past[day].items():
            if metric not in current:
                current[metric] = value
            elif metric not in previous:
                previous[metric] = value
    days = sorted(past, reverse=True)
    return current, previous, (days[0] if days else None, days[1] if len(days) > 1 else None)


def _fetch_sources(app: App, series_id: str, period_end: date, kpis: KpiSet) -> dict[str, str]:
    errors: dict[str, str] = {}
    known = set(kpis.recordable())
    for source in app.config.kpi_sources:
        pointers = {m: p for m, p in source.pointers.items() if m in known}
        values, error = fetch(source.url, pointers, source.timeout, headers=source.headers)
        record(app, series_id, {m: v for m, v in values.items() if v is not None}, period_end,
               "http-json")
        if error:
            errors |= {m: error for m, v in values.items() if v is None}
    return errors


def _attach_chart(app: App, meeting: Meeting, ref: ItemRef, png: bytes) -> None:
    digest = hashlib.sha256(png).hexdigest()
    with app.store.session() as session:
        row = session.scalar(select(AttachmentRow).where(
            AttachmentRow.meeting_id == meeting.id, AttachmentRow.kind == AttachmentKind.CHART))
        if row is not None and row.content_hash == digest and row.attachment_id:
            return
        replace = row.attachment_id if row else None
    day = meeting.starts_at.astimezone(ZoneInfo(app.config.timezone)).date()
    name = f"planerka-kpi-{meeting.series_id}-{day:%Y%m%d}.png"
    if replace is None:  # not recorded (a crash after attaching?): the item may have it
        replace = app.tracker.read_meeting(ref).attachments.get(name)
    attachment_id = app.tracker.attach(ref, Attachment(name, png, "image/png"), replace)
    with app.store.session() as session:
        row = session.scalar(select(AttachmentRow).where(
            AttachmentRow.meeting_id == meeting.id, AttachmentRow.kind == AttachmentKind.CHART))
        if row is None:
            row = AttachmentRow(meeting_id=meeting.id, kind=AttachmentKind.CHART)
            session.add(row)
        row.attachment_id, row.content_hash = attachment_id, digest
