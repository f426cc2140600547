"""What the Trello Power-Up shows: one card's meeting/decision state, the latest KPI summary.

Read from the state DB only (no tracker request): badges are asked for on every board render,
and the DB already holds everything the last sync and status pull learned.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from planerka_sync.domain.agenda import meeting_title
from planerka_sync.domain.scorecard import BlockCard, empty_text, period_text, shown, w
from planerka_sync.domain.texts import Locale
from planerka_sync.errors import PlanerkaError
from planerka_sync.service.app import App
from planerka_sync.service.kpi import kpi_report
from planerka_sync.store.models import Decision, DecisionState, Meeting, StatusCategory

ERROR_STATES = (DecisionState.FAILED, DecisionState.PARSE_ERROR)
# The Power-Up's words for the status categories (Jira's "indeterminate" is "in progress").
STATUS_WORD = {StatusCategory.NEW: "new", StatusCategory.INDETERMINATE: "in_progress",
               StatusCategory.DONE: "done"}


def card_state(app: App, item_id: str) -> dict[str, Any]:
    """``kind`` meeting / task / other, with what the Power-Up draws for it."""
    with app.store.session() as session:
        meeting = session.scalar(select(Meeting).where(
            or_(Meeting.item_id == item_id, Meeting.item_key == item_id)).limit(1))
        task = None if meeting else session.scalar(select(Decision).where(
            or_(Decision.task_id == item_id, Decision.task_key == item_id)).limit(1))
        rows = [] if meeting is None else list(session.scalars(
            select(Decision).where(Decision.meeting_id == meeting.id).order_by(Decision.id)))
        task_meeting = session.get(Meeting, task.meeting_id) if task else None
    state: dict[str, Any] = {"locale": app.locale, "kind": "other", "meeting": None, "task": None}
    if meeting is not None:
        state["kind"], state["meeting"] = "meeting", _meeting_view(app, meeting, rows)
    elif task is not None and task_meeting is not None:
        state["kind"] = "task"
        state["task"] = _decision_view(app, task) | {
            "meeting_title": _title(app, task_meeting), "meeting_url": task_meeting.item_url or ""}
    return state


def _meeting_view(app: App, meeting: Meeting, rows: list[Decision]) -> dict[str, Any]:
    return {
        "title": _title(app, meeting),
        "starts_at": meeting.starts_at.isoformat(),
        "url": meeting.item_url or "",
        "counts": {
            "captured": len(rows),
            "created": sum(r.state == DecisionState.CREATED for r in rows),
            "errors": sum(r.state in ERROR_STATES for r in rows),
        },
        "decisions": [_decision_view(app, r) for r in rows],
    }


def _decision_view(app: App, row: Decision) -> dict[str, Any]:
    done = row.status_category == StatusCategory.DONE
    return {
        "text": row.text,
        "title": row.title,
        "owner": _person_name(app, row.owner_person_id),
        "due": row.due.isoformat() if row.due else None,
        "state": row.state.value,
        "error": row.error,
        "task_url": row.task_url,
        "task_key": row.task_key,
        "status": STATUS_WORD.get(row.status_category) if row.status_category else None,
        "status_name": row.status_name,
        "overdue": bool(row.due and not done and row.task_id and row.due < _today(app)),
        "done": done,
    }


def _title(app: App, meeting: Meeting) -> str:
    try:
        series = app.config.series(meeting.series_id).title
    except StopIteration:  # a series since removed from the config
        series = meeting.series_id
    local = meeting.starts_at.astimezone(ZoneInfo(app.config.timezone))
    return meeting_title(series, local, app.locale)


def _person_name(app: App, person_id: str | None) -> str | None:
    if person_id is None:
        return None
    return next((p.name for p in app.config.people if p.id == person_id), person_id)


def _today(app: App) -> date:
    return app.clock().astimezone(ZoneInfo(app.config.timezone)).date()


# --- KPI ----------------------------------------------------------------------------------------


def kpi_view(app: App, series_id: str | None = None, locale: Locale | None = None
             ) -> dict[str, Any]:
    """The latest KPI scorecard as the KPI comment shows it: every agenda block in order, each
    metric's cells already worded in the reader's locale, and the chart."""
    [series] = app.series(series_id or app.config.meetings[0].id)
    if locale is not None and locale != app.config.locale:
        app = App(app.config.model_copy(update={"locale": locale}), app.store,
                  app.tracker_factory, app.config_dir, app.clock)
    try:
        report = kpi_report(app, series, _today(app), fetch_sources=False)
    except PlanerkaError as exc:
        return {"title": series.title, "period_end": None, "period": None, "blocks": [],
                "rows": [], "chart_png": None, "error": exc.message}
    card = report.scorecard
    blocks = [_block_view(block, app.locale) for block in card.blocks]
    chart = report.chart
    return {
        "title": series.title,
        "period_end": card.current.end.isoformat(),
        "period": period_text(card.current, app.locale),
        "blocks": blocks,
        "rows": [row for block in blocks for row in block["rows"]],
        "chart_png": ("data:image/png;base64," + base64.b64encode(chart).decode())
        if chart else None,
    }


def _block_view(block: BlockCard, locale: Locale) -> dict[str, Any]:
    rows = []
    for row in block.rows:
        cells = shown(row, locale)
        rows.append({"metric": row.metric.id, "label": row.title, "value": cells.value,
                     "has_value": row.value is not None, "previous": cells.previous,
                     "change": cells.change, "target": cells.target, "status": row.status})
    notes = [empty_text(block, locale)] if block.empty else []
    notes += [w("see_also", locale).format(title=r.title, home=r.home) for r in block.references]
    return {"key": block.key, "title": block.title, "rows": rows, "notes": notes}
