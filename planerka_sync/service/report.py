"""report --html: one self-contained page per run, a dashboard a marketing lead can print or
open on a phone: the KPI scorecard of every agenda block, a 13-period trend of the headline
metrics with their targets, the chart, decisions and their on-time rate meeting by meeting, and
who holds the open decisions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from planerka_sync.config import MeetingSeries
from planerka_sync.domain.document import Document, Heading, Section, Table, Text, paragraph
from planerka_sync.domain.kpi import Unit, format_value
from planerka_sync.domain.progress import (
    TaskProgress,
    on_time,
    on_time_counts,
    overdue_days,
)
from planerka_sync.domain.scorecard import Scorecard, scorecard_document, w
from planerka_sync.domain.texts import Locale, short_date
from planerka_sync.render.html import figure, html_page, to_html_fragment
from planerka_sync.service.app import App
from planerka_sync.service.kpi import kpi_report, periods, today
from planerka_sync.service.progress import all_tasks
from planerka_sync.store.models import Decision, Meeting

_WORDS: dict[str, dict[Locale, str]] = {
    "page": {"ru": "planerka-sync — отчёт", "en": "planerka-sync — report"},
    "as_of": {"ru": "Данные на {day}.", "en": "As of {day}."},
    "trend": {"ru": "Тренд за {n} периодов", "en": "Trend over {n} periods"},
    "by_meeting": {"ru": "Решения по планёркам", "en": "Decisions by meeting"},
    "meeting": {"ru": "Планёрка", "en": "Meeting"},
    "decisions": {"ru": "Решений", "en": "Decisions"},
    "tasks": {"ru": "Задач", "en": "Tasks"},
    "done": {"ru": "Выполнено", "en": "Done"},
    "on_time": {"ru": "В срок (сроки в периоде)", "en": "On time (due in the period)"},
    "owners": {"ru": "Открытые решения по ответственным", "en": "Open decisions by owner"},
    "owner": {"ru": "Ответственный", "en": "Owner"},
    "open": {"ru": "Открыто", "en": "Open"},
    "overdue": {"ru": "Просрочено", "en": "Overdue"},
    "no_owner": {"ru": "Без ответственного", "en": "No owner"},
    "no_meetings": {"ru": "Пока нет планёрок.", "en": "No meetings yet."},
    "no_open": {"ru": "Открытых решений нет.", "en": "No open decisions."},
    "no_headline": {"ru": "Ключевые показатели не выбраны (headline в наборе KPI).",
                    "en": "No headline metrics in the KPI set."},
}


def _w(key: str, locale: Locale) -> str:
    return _WORDS[key][locale]


def html_report(app: App, series_id: str | None = None) -> str:
    locale = app.locale
    day = today(app)
    fragments = [to_html_fragment(Document(intro=(
        paragraph(_w("as_of", locale).format(day=short_date(day, locale))),)))]
    for series in app.series(series_id):
        report = kpi_report(app, series, day, fetch_sources=False)
        # Every decision with a task, the upcoming meeting's too (ten years is "ever").
        tasks = all_tasks(app, series.id, before=app.clock() + timedelta(days=3653))
        # Tables whatever the tracker: a page has room for them (Trello's comments do not).
        scorecard = scorecard_document(report.scorecard, locale, tracker_kind="html")
        fragments.append(to_html_fragment(Document(intro=(
            Heading(2, (Text(series.title),)), *scorecard.intro)), section_level=2))
        fragments.append(to_html_fragment(Document(sections=scorecard.sections),
                                          section_level=3))
        fragments.append(to_html_fragment(trend(report.scorecard, locale)))
        if report.chart is not None:
            fragments.append(figure(f"{series.title}: {w('summary', locale)}", report.chart))
        fragments.append(to_html_fragment(throughput(app, series, tasks)))
        fragments.append(to_html_fragment(owners(tasks, day, locale)))
    return html_page(_w("page", locale), fragments, lang=locale)


def trend(card: Scorecard, locale: Locale) -> Document:
    """The EOS-style scorecard: each headline metric's value in each period, and its target."""
    rows = [row for row in card.rows() if row.metric.headline]
    title = _w("trend", locale).format(n=len(card.periods))
    if not rows:
        return Document(sections=(Section("trend", title, (paragraph(_w("no_headline",
                                                                         locale)),)),))
    header = (w("metric", locale), *(f"{p.end:%d.%m}" for p in card.periods),
              w("target", locale))

    def cell(value: float | None, unit: Unit, decimals: int | None) -> str:
        return "—" if value is None else format_value(value, unit, locale, decimals)

    body = tuple(
        tuple((Text(text),) for text in (
            row.title, *(cell(v, row.metric.unit, row.metric.decimals) for v in row.trend),
            cell(row.metric.target, row.metric.unit, row.metric.decimals)))
        for row in rows)
    return Document(sections=(Section("trend", title, (Table(header, body),)),))


def throughput(app: App, series: MeetingSeries, tasks: Sequence[TaskProgress]) -> Document:
    """Per meeting: decisions taken, tasks made, done, and on time among the decisions due in the
    period that ends with it (the definition every surface uses)."""
    locale = app.locale
    zone = ZoneInfo(app.config.timezone)
    now = today(app)
    header = tuple(_w(k, locale) for k in ("meeting", "decisions", "tasks", "done", "on_time"))
    rows = []
    for starts_at, decided, made in _counts(app, series.id):
        day = starts_at.astimezone(zone).date()
        mine = [t for t in tasks if t.meeting_day == day]
        done = sum(1 for t in mine if t.category == "done")
        counts = on_time(tasks, now, periods(app, series, day, count=1)[-1])
        cells = (short_date(day, locale), str(decided), str(made), str(done),
                 on_time_counts(counts, locale))
        rows.append(tuple((Text(cell),) for cell in cells))
    blocks = (Table(header, tuple(rows)),) if rows else (paragraph(_w("no_meetings", locale)),)
    return Document(sections=(Section(f"throughput-{series.id}", _w("by_meeting", locale),
                                      blocks),))


def owners(tasks: Sequence[TaskProgress], day: date, locale: Locale) -> Document:
    """Who holds the open decisions, most first."""
    open_tasks = [t for t in tasks if t.is_open]
    counted = Counter(t.owner_name or _w("no_owner", locale) for t in open_tasks)
    late = Counter(t.owner_name or _w("no_owner", locale) for t in open_tasks
                   if overdue_days(t, day) is not None)
    title = _w("owners", locale)
    if not counted:
        return Document(sections=(Section("owners", title, (paragraph(_w("no_open", locale)),)),))
    header = (_w("owner", locale), _w("open", locale), _w("overdue", locale))
    rows = tuple(tuple((Text(c),) for c in (name, str(n), str(late[name])))
                 for name, n in sorted(counted.items(), key=lambda item: (-item[1], item[0])))
    return Document(sections=(Section("owners", title, (Table(header, rows),)),))


def _counts(app: App, series_id: str) -> list[tuple[datetime, int, int]]:
    """Per meeting of the series: its start, the decisions taken at it and the tasks made."""
    with app.store.session() as session:
        found = session.execute(
            select(Meeting.starts_at, func.count(Decision.id), func.count(Decision.task_id))
            .outerjoin(Decision, Decision.meeting_id == Meeting.id)
            .where(Meeting.series_id == series_id)
            .group_by(Meeting.id, Meeting.starts_at).order_by(Meeting.starts_at)).all()
    return [(starts_at, decided, made) for starts_at, decided, made in found]
