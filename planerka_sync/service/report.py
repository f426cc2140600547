"""report --html: KPI trends and decision throughput over past meetings, as one offline file."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from planerka_sync.config import MeetingSeries
from planerka_sync.domain.document import Document, Section, Table, Text, paragraph
from planerka_sync.domain.kpi import chart_title, headline_series
from planerka_sync.domain.texts import short_date
from planerka_sync.render.chart import kpi_chart_png
from planerka_sync.render.html import html_page, to_html_fragment
from planerka_sync.service.app import App
from planerka_sync.service.kpi import history, kpi_report, kpis_of
from planerka_sync.store.models import Decision, DecisionState, Meeting, StatusCategory


def html_report(app: App, series_id: str | None = None) -> str:
    fragments: list[str] = []
    images: list[tuple[str, bytes]] = []
    today = app.clock().astimezone(ZoneInfo(app.config.timezone)).date()
    for series in app.series(series_id):
        fragments.append(to_html_fragment(throughput(app, series)))
        report = kpi_report(app, series, today, fetch_sources=False)
        fragments.append(to_html_fragment(report.document))
        past = history(app, series.id, today)
        if past:
            series_points = headline_series(kpis_of(app, series), past, app.locale)
            title = f"{series.title}: {chart_title(app.locale)}"
            images.append((title, kpi_chart_png(series_points, title)))
    title = "planerka-sync — отчёт" if app.locale == "ru" else "planerka-sync — report"
    return html_page(title, fragments, lang=app.locale, images=images)


def throughput(app: App, series: MeetingSeries) -> Document:
    """Per meeting: decisions taken, tasks created, done, done on time."""
    ru = app.locale == "ru"
    header = (("Планёрка", "Решений", "Задач", "Выполнено", "В срок") if ru else
              ("Meeting", "Decisions", "Tasks", "Done", "On time"))
    rows = []
    for meeting, decided, tasks, done, on_time in _counts(app, series.id):
        day = meeting.astimezone(ZoneInfo(app.config.timezone)).date()
        cells = (short_date(day, app.locale), str(decided), str(tasks), str(done), str(on_time))
        rows.append(tuple((Text(cell),) for cell in cells))
    title = f"{series.title}: " + ("решения по планёркам" if ru else "decisions by meeting")
    blocks = (Table(header, tuple(rows)),) if rows else (
        paragraph("Пока нет планёрок." if ru else "No meetings yet."),)
    return Document(sections=(Section(f"throughput-{series.id}", title, blocks),))


def _counts(app: App, series_id: str) -> list[tuple[datetime, int, int, int, int]]:
    zone = ZoneInfo(app.config.timezone)
    with app.store.session() as session:
        meetings = list(session.scalars(select(Meeting).where(Meeting.series_id == series_id)
                                        .order_by(Meeting.starts_at)))
        decisions = list(session.scalars(select(Decision).where(
            Decision.series_id == series_id)))
    found = []
    for meeting in meetings:
        mine = [d for d in decisions if d.meeting_id == meeting.id]
        tasks = [d for d in mine if d.state == DecisionState.CREATED]
        done = [d for d in tasks if d.status_category == StatusCategory.DONE and d.done_at]
        on_time = [d for d in done if d.due is None or (d.done_at is not None
                   and d.done_at.astimezone(zone).date() <= d.due)]
        found.append((meeting.starts_at, len(mine), len(tasks), len(done), len(on_time)))
    return found
