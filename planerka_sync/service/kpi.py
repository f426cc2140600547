"""KPIs: recording values, and the summary comment with its chart before each meeting."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
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
from planerka_sync.domain.kpi import KpiSet, source_error_text
from planerka_sync.domain.model import Attachment, ItemRef
from planerka_sync.domain.progress import Period, TaskProgress, on_time, overdue_days
from planerka_sync.domain.scorecard import (
    TREND_PERIODS,
    Observations,
    Scorecard,
    build_scorecard,
    period_text,
    periods_ending,
    scorecard_document,
    w,
)
from planerka_sync.domain.texts import Locale
from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window, make_source
from planerka_sync.kpi_sources.csv_source import CsvReport, KpiRow, iter_csv
from planerka_sync.render.chart import ChartPanel, scorecard_chart_png
from planerka_sync.service.app import App, schedule_of
from planerka_sync.service.comments import post_once
from planerka_sync.store.models import Attachment as AttachmentRow
from planerka_sync.store.models import AttachmentKind, CommentKind, KpiValue, Meeting
from planerka_sync.templates import kpi_set

log = logging.getLogger(__name__)

BATCH_ROWS = 5000  # rows per INSERT ... ON CONFLICT statement of an import


def kpis_of(app: App, series: MeetingSeries) -> KpiSet:
    return kpi_set(series.kpis, app.config_dir)


def record(app: App, series_id: str, values: Mapping[str, float | None], period_end: date,
           source: str) -> int:
    """Store values for a period; a value recorded again for the same period replaces it."""
    with app.store.session() as session:
        for metric, value in values.items():
            row = _value_row(session, series_id, metric, period_end)
            row.value, row.source, row.recorded_at = value, source[:32], app.clock()
            row.error = None
    return len(values)


@dataclass
class Imported:
    """What an import stored, per metric: its rows and the first and last period end."""

    rows: dict[str, int] = field(default_factory=dict)
    first: dict[str, date] = field(default_factory=dict)
    last: dict[str, date] = field(default_factory=dict)

    def tally(self, rows: Iterable[KpiRow]) -> Iterator[KpiRow]:
        for row in rows:
            metric, day = row.metric, row.period_end
            self.rows[metric] = self.rows.get(metric, 0) + 1
            if metric not in self.first or day < self.first[metric]:
                self.first[metric] = day
            if metric not in self.last or day > self.last[metric]:
                self.last[metric] = day
            yield row


def import_csv(app: App, series: MeetingSeries, path: Path,
               imported: Imported | None = None) -> CsvReport:
    """Store a CSV's valid rows even when others are wrong; the report names the problems.

    All or nothing: the whole file is one transaction, written in batches of ``BATCH_ROWS``
    as the file streams by. An import that is interrupted (Ctrl-C, a crash, ``kill -9``)
    leaves none of its rows behind, so it can simply be run again, and the DB never holds half
    a month of one file next to the other half of an older one. The price: on SQLite the
    import holds the write lock until it ends (a million rows take tens of seconds), and
    another writer, such as the daemon's tick, waits at most its busy timeout and then fails
    until the next tick. A file that cannot be read at all stores nothing either.
    ``imported``, when given, counts what was stored per metric.
    """
    report = CsvReport()
    rows: Iterable[KpiRow] = iter_csv(path, kpis_of(app, series).recordable(), report)
    if imported is not None:
        rows = imported.tally(rows)
    recorded_at = app.clock()
    what, stored = ("rows imported" if app.locale == "en" else "строк импортировано"), 0
    with app.store.session() as session:
        for batch in _batches(rows, BATCH_ROWS):
            _upsert(session, series.id, batch, recorded_at)
            stored += len(batch)
            app.progress(what, stored, None)
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
              "recorded_at": statement.excluded.recorded_at, "error": None})
    session.execute(statement, [
        {"series_id": series_id, "metric": row.metric, "period_end": row.period_end,
         "value": row.value, "source": row.source, "recorded_at": recorded_at, "error": None}
        for row in rows])


def history(app: App, series_id: str, spans: Sequence[Period]) -> Observations:
    """The values and source errors recorded for the series within ``spans`` (only those: a
    scorecard never looks further back, and a series may hold years of imported rows)."""
    first, until = spans[0].start, spans[-1].end
    with app.store.session() as session:
        query = select(KpiValue).where(KpiValue.series_id == series_id,
                                       KpiValue.period_end <= until)
        if first is not None:
            query = query.where(KpiValue.period_end >= first)
        rows = session.scalars(query)
        values: dict[date, dict[str, float | None]] = {}
        errors: dict[date, dict[str, str]] = {}
        for row in rows:
            values.setdefault(row.period_end, {})[row.metric] = row.value
            if row.value is None and row.error:
                errors.setdefault(row.period_end, {})[row.metric] = row.error
    return Observations(values, errors)


def periods(app: App, series: MeetingSeries, day: date,
            count: int = TREND_PERIODS) -> tuple[Period, ...]:
    """The ``count`` periods of the series up to the one that holds ``day``, oldest first.

    A period ends on a meeting day of the series' cadence (a skipped date still ends one: the
    numbers of that week are still that week's) and starts the day after the meeting before."""
    rule = schedule_of(series, app.config.timezone).rule
    zone = ZoneInfo(app.config.timezone)
    found = rule.after(datetime.combine(day, time.min, tzinfo=zone), inc=True)
    ends = [found.date() if found is not None else day]  # None: a rule that has ended
    cursor: datetime | None = datetime.combine(ends[0], time.min, tzinfo=zone)
    while len(ends) <= count and cursor is not None:
        cursor = rule.before(cursor)
        if cursor is not None:
            ends.append(cursor.date())
            cursor = datetime.combine(cursor.date(), time.min, tzinfo=zone)
    ends.reverse()
    return periods_ending(ends) if len(ends) > 1 else (Period(None, ends[0]),)


def today(app: App) -> date:
    return app.clock().astimezone(ZoneInfo(app.config.timezone)).date()


@dataclass
class KpiReport:
    scorecard: Scorecard
    document: Document
    chart: bytes | None
    errors: dict[str, str] = field(default_factory=dict)  # this run's source failures (English)
    posted: bool = False

    def failures(self, locale: Locale) -> list[str]:
        """This run's source failures as people read them: 'Подписчики: источник недоступен'."""
        titles = {row.metric.id: row.title for block in self.scorecard.blocks
                  for row in block.rows}
        return [f"{titles.get(metric, metric)}: "
                f"{source_error_text(getattr(error, 'code', error), locale)}"
                for metric, error in sorted(self.errors.items())]


def kpi_report(app: App, series: MeetingSeries, period_end: date | None = None,
               tasks: Sequence[TaskProgress] = (), *, fetch_sources: bool = True,
               chart: bool = True) -> KpiReport:
    """The scorecard of the period that holds ``period_end`` (default: today) and the periods
    before it, after refreshing the tracker-derived metrics and the http-json sources. The chart
    is drawn only when ``chart`` (matplotlib costs a second to import; text output needs none)."""
    kpis = kpis_of(app, series)
    spans = periods(app, series, period_end or today(app))
    current = spans[-1]
    errors: dict[str, str] = {}
    if fetch_sources:
        record(app, series.id, tracker_metrics(tasks, today(app), current), current.end,
               "tracker")
        errors = _fetch_sources(app, series.id, current, kpis)
    card = build_scorecard(kpis, history(app, series.id, spans), spans, app.locale)
    document = scorecard_document(card, app.locale, tracker_kind=app.config.tracker.kind)
    return KpiReport(card, document, chart_png(card, app.locale) if chart else None, errors)


def chart_png(card: Scorecard, locale: Locale) -> bytes | None:
    """The headline metrics as small multiples; None when none of them has any data (an empty
    picture helps nobody)."""
    panels = headline_panels(card)
    if not any(v is not None for panel in panels for _, v in panel.points):
        return None
    return scorecard_chart_png(panels, chart_title(card, locale), locale)


def headline_panels(card: Scorecard) -> list[ChartPanel]:
    return [ChartPanel(row.title, row.metric.unit, row.metric.decimals,
                       [(p.end, v) for p, v in zip(card.periods, row.trend, strict=True)],
                       row.metric.target)
            for row in card.rows() if row.metric.headline]


def chart_title(card: Scorecard, locale: Locale) -> str:
    return f"{w('summary', locale)} — {period_text(card.current, locale)}"


def post_kpi(app: App, meeting: Meeting, report: KpiReport) -> bool:
    """The KPI comment (edited in place) and its chart (replaced, never duplicated)."""
    ref = ItemRef(meeting.item_id or "", meeting.item_url or "", meeting.item_key)
    posted = post_once(app, meeting, ref, CommentKind.KPI, report.document, None)
    if report.chart is not None:
        _attach_chart(app, meeting, ref, report.chart)
    return posted


def tracker_metrics(tasks: Sequence[TaskProgress], today: date,
                    period: Period) -> dict[str, float | None]:
    """The metrics the tracker itself tells: decisions due in the period done on time (the one
    definition of :func:`~planerka_sync.domain.progress.on_time`), overdue now, cycle time."""
    # Days from the meeting that decided it to done (0 when finished before the meeting).
    cycles = [max((t.done_on - t.meeting_day).days, 0) for t in tasks
              if t.category == "done" and t.done_on is not None]
    return {
        "decisions_on_time_pct": on_time(tasks, today, period).rate,
        "overdue_count": float(sum(1 for t in tasks if overdue_days(t, today))),
        "median_cycle_days": float(median(cycles)) if cycles else None,
    }


def _fetch_sources(app: App, series_id: str, period: Period, kpis: KpiSet) -> dict[str, str]:
    """Each source's values for the period; a metric it could not give keeps its failure, so
    every surface can say why the period has no value. A source asked again replaces its own
    values of the period (they are stored per metric and period)."""
    errors: dict[str, str] = {}
    filled: set[str] = set()
    for settings in app.config.kpi_sources:
        pulled = _pull_one(app, series_id, period, kpis, settings, store=True)
        if pulled is not None:
            errors |= pulled.failures
            filled |= set(pulled.values)
    # A metric another source did give is not said to be missing.
    return {m: e for m, e in errors.items() if m not in filled}


@dataclass(frozen=True)
class SourcePull:
    """What one source gave for one period (``kpi pull``)."""

    kind: str
    label: str
    period: Period
    pulled: Pulled


def pull_sources(app: App, series: MeetingSeries, period_end: date | None = None, *,
                 count: int = 2, dry_run: bool = False) -> list[SourcePull]:
    """Ask every configured source for the ``count`` periods up to the one holding
    ``period_end`` (default: today), oldest first, and store what they give (not on a dry run).
    Two periods by default: the current one and the one it is compared with."""
    kpis = kpis_of(app, series)
    spans = periods(app, series, period_end or today(app), count=count)[-count:]
    steps = [(span, s) for span in spans for s in app.config.kpi_sources]
    what = "KPI sources" if app.locale == "en" else "источники KPI"
    found = []
    for done, (span, settings) in enumerate(steps, 1):
        pulled = _pull_one(app, series.id, span, kpis, settings, store=not dry_run)
        if pulled is not None:
            found.append(SourcePull(settings.kind, settings.label(), span, pulled))
        app.progress(what, done, len(steps))
    return found


def _pull_one(app: App, series_id: str, period: Period, kpis: KpiSet,
              settings: SourceSettings, *, store: bool) -> Pulled | None:
    """One source for one period; None when it provides none of the set's metrics."""
    source = make_source(_anchored(app, settings))
    known = set(kpis.recordable())
    wanted = [m for m in source.provides() if m in known]
    if not wanted:
        return None
    pulled = source.pull(source_window(app, period), wanted)
    for note in pulled.notes:  # sampling, thresholding, a zone that differs: the operator's log
        log.warning("KPI source %s, period ending %s: %s", settings.label(), period.end, note)
    if store:
        record(app, series_id, pulled.values, period.end, settings.kind)
        if pulled.failures:
            record_failures(app, series_id, {m: e.code for m, e in pulled.failures.items()},
                            period.end, settings.kind)
    return pulled


def _anchored(app: App, settings: SourceSettings) -> SourceSettings:
    """A sheet's relative file path is relative to the config file, like the database's."""
    url = getattr(settings, "url", None)
    if settings.kind != "sheet" or not url or "://" in url or Path(url).is_absolute():
        return settings
    return settings.model_copy(update={"url": str(app.config_dir / url)})


def source_window(app: App, period: Period) -> Window:
    """The days a source is asked about: the period's, in the team's zone. The first period of
    a series has no start; it is taken as the week before its end."""
    start = period.start or period.end - timedelta(days=6)
    return Window(start, period.end, app.config.timezone)


def record_failures(app: App, series_id: str, failures: Mapping[str, str], period_end: date,
                    source: str) -> None:
    """Keep why a source had no value, without touching a value the period already has (from
    an earlier pull or a person): a failed refresh must not erase a good number."""
    with app.store.session() as session:
        for metric, code in failures.items():
            row = _value_row(session, series_id, metric, period_end)
            if row.value is None:
                row.error, row.source, row.recorded_at = code[:64], source[:32], app.clock()


def _value_row(session: Session, series_id: str, metric: str, period_end: date) -> KpiValue:
    """The metric's row for the period, added (empty) when there is none yet."""
    row = session.scalar(select(KpiValue).where(
        KpiValue.series_id == series_id, KpiValue.metric == metric,
        KpiValue.period_end == period_end))
    if row is None:
        row = KpiValue(series_id=series_id, metric=metric, period_end=period_end, value=None)
        session.add(row)
    return row


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
