"""progress: before a meeting, what became of earlier decisions, posted on the meeting item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from planerka_sync.config import MeetingSeries
from planerka_sync.domain.agenda import Participant, ReviewItem
from planerka_sync.domain.document import Document
from planerka_sync.domain.model import ItemRef
from planerka_sync.domain.progress import (
    Category,
    ProgressSummary,
    TaskProgress,
    open_items_by_owner,
    progress_document,
    review_items,
    status_text,
    summarize,
)
from planerka_sync.errors import PlanerkaError
from planerka_sync.messages import t
from planerka_sync.service.app import App
from planerka_sync.service.comments import post_once
from planerka_sync.service.kpi import KpiReport, kpi_report, periods, post_kpi
from planerka_sync.service.status import DELETED, pull_status
from planerka_sync.store.models import (
    CommentKind,
    Decision,
    DecisionState,
    Meeting,
    MeetingState,
    PostedComment,
    StatusCategory,
    TaskStatusHistory,
)


@dataclass(frozen=True)
class ProgressOutcome:
    series_id: str
    meeting: Meeting
    summary: ProgressSummary
    document: Document
    posted: bool
    kpi: KpiReport | None = None


def progress(app: App, series_id: str | None = None, *, dry_run: bool = False
             ) -> list[ProgressOutcome]:
    if not dry_run:
        pull_status(app, full=True)  # a full pull also notices tasks deleted in the tracker
    outcomes = []
    for series in app.series(series_id):
        meeting = upcoming_meeting(app, series)
        since = _previous_report(app, series.id, meeting.starts_at)
        everything = all_tasks(app, series.id, before=meeting.starts_at, since=since)
        tasks = reportable(everything, since)
        meeting_day = _local(app, meeting.starts_at)
        period = periods(app, series, meeting_day, count=1)[-1]
        summary = summarize(tasks, _local(app, app.clock()), since=_day(app, since),
                            period=period, judged=everything)
        doc = progress_document(summary, app.locale, title_date=meeting_day)
        kpis = kpi_report(app, series, meeting_day, everything, fetch_sources=not dry_run)
        posted = False
        if not dry_run:
            ref = ItemRef(meeting.item_id or "", meeting.item_url or "", meeting.item_key)
            posted = post_once(app, meeting, ref, CommentKind.PROGRESS, doc, None)
            kpis.posted = post_kpi(app, meeting, kpis)
        outcomes.append(ProgressOutcome(series.id, meeting, summary, doc, posted, kpis))
    return outcomes


def upcoming_meeting(app: App, series: MeetingSeries) -> Meeting:
    """The next prepared meeting that has not started."""
    with app.store.session() as session:
        meeting = session.scalar(
            select(Meeting)
            .where(Meeting.series_id == series.id, Meeting.state == MeetingState.CREATED,
                   Meeting.starts_at > app.clock())
            .order_by(Meeting.starts_at).limit(1))
    if meeting is None:
        raise PlanerkaError(t(f"series {series.id!r} has no prepared upcoming meeting; run "
                              f"`planerka-sync prepare {series.id}` first",
                              f"в серии {series.id!r} нет подготовленной предстоящей встречи; "
                              f"сначала выполните `planerka-sync prepare {series.id}`"))
    return meeting


def task_progress(
    app: App, series_id: str, *, before: datetime, since: datetime | None = None
) -> list[TaskProgress]:
    """Decisions of earlier meetings that have tasks: every open one, and the ones done or
    deleted since the last report."""
    return reportable(all_tasks(app, series_id, before=before, since=since), since)


def reportable(tasks: list[TaskProgress], since: datetime | None) -> list[TaskProgress]:
    """What a progress report shows: open tasks, and the ones that changed since ``since``."""
    return [task for task in tasks if task.category in ("in_progress", "not_started")
            or since is None or task.previous_category != task.category]


def all_tasks(
    app: App, series_id: str, *, before: datetime, since: datetime | None = None
) -> list[TaskProgress]:
    """Every decision of earlier meetings that has a task, as of now (and as of ``since``)."""
    with app.store.session() as session:
        rows = session.execute(
            select(Decision, Meeting.starts_at)
            .join(Meeting, Decision.meeting_id == Meeting.id)
            .where(Decision.series_id == series_id, Decision.state == DecisionState.CREATED,
                   Meeting.starts_at < before)
            .order_by(Meeting.starts_at, Decision.id)).all()
        history = _history(session, [d.id for d, _ in rows])
    return [_task(app, d, started, history.get(d.id, []), since) for d, started in rows]


def open_review(app: App, series_id: str, before: datetime
                ) -> tuple[tuple[ReviewItem, ...], dict[str, int]]:
    """For the next agenda: every open decision (carried over, linked) and open counts."""
    tasks = task_progress(app, series_id, before=before)
    today = _local(app, app.clock())
    items = tuple(
        ReviewItem(title=t.title, owner=Participant(t.owner_id, t.owner_name or "", t.owner_account)
                   if t.owner_id else None,
                   due=t.due, status=status_text(t, today, app.locale), url=t.url)
        for t in review_items(tasks))
    return items, open_items_by_owner(tasks)


def _task(app: App, row: Decision, meeting_start: datetime,
          history: list[TaskStatusHistory], since: datetime | None) -> TaskProgress:
    person = app.config.person(row.owner_person_id) if row.owner_person_id else None
    categories = [_category(h.status_category, h.status_name) for h in history]
    before_since = [_category(h.status_category, h.status_name) for h in history
                    if since is not None and h.observed_at <= since]
    return TaskProgress(
        title=row.title or row.text, owner_id=row.owner_person_id,
        owner_name=person.name if person else None,
        owner_account=app.account(person) if person else None,
        due=row.due, category=_category(row.status_category, row.status_name),
        done_on=_local(app, row.done_at) if row.done_at else None,
        url=row.task_url, key=row.task_key, meeting_day=_local(app, meeting_start),
        previous_category=(before_since[-1] if before_since else
                           ("not_started" if since and row.created_at <= since else None)),
        reopened=any(a == "done" and b != "done" for a, b in pairwise(categories)),
    )


def _category(category: StatusCategory | str | None, name: str | None) -> Category:
    if name == DELETED:
        return "deleted"
    if category == StatusCategory.DONE:
        return "done"
    return "in_progress" if category == StatusCategory.INDETERMINATE else "not_started"


def _history(session: Session, ids: list[int]) -> dict[int, list[TaskStatusHistory]]:
    found: dict[int, list[TaskStatusHistory]] = {}
    for start in range(0, len(ids), 500):
        rows = session.scalars(select(TaskStatusHistory)
                               .where(TaskStatusHistory.decision_id.in_(ids[start:start + 500]))
                               .order_by(TaskStatusHistory.id))
        for row in rows:
            found.setdefault(row.decision_id, []).append(row)
    return found


def _previous_report(app: App, series_id: str, before: datetime) -> datetime | None:
    """When the last progress comment of an earlier meeting of this series was posted."""
    with app.store.session() as session:
        return session.scalar(
            select(PostedComment.posted_at)
            .join(Meeting, PostedComment.meeting_id == Meeting.id)
            .where(Meeting.series_id == series_id, Meeting.starts_at < before,
                   PostedComment.kind == CommentKind.PROGRESS)
            .order_by(PostedComment.posted_at.desc()).limit(1))


def _local(app: App, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(app.config.timezone)).date()


def _day(app: App, moment: datetime | None) -> date | None:
    return _local(app, moment) if moment else None
