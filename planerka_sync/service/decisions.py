"""sync (ingestion): decisions written on meeting items become tasks, exactly once.

Per meeting: read the item once, turn what the team wrote into decision rows (a row per source
line, keyed by where it was written; the marker is derived from the meeting and the place, so
any state DB derives the same one). Then, the tracker being the truth about what exists:

1. every row that needs a task is first looked up by its marker in the tracker (one batched
   request): a task made by a lost answer, an earlier run or another state DB is adopted;
2. a row not found gets its intent recorded (``creating``, ``sent_at``) and ONE create request;
   its id is recorded the moment the answer arrives;
3. a create whose outcome is unknown (no answer, a time-out, a 5xx) leaves the row in doubt:
   it is looked up again on every run, and sent again only when the tracker still does not show
   it ``tracker.settle_after`` later (search may lag behind a create that did happen);
4. the link back to the meeting and the annotation of the decision line are separate steps,
   retried until done, each safe to repeat.

Last, one confirmation comment per meeting, edited in place.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from planerka_sync.config import MeetingSeries
from planerka_sync.domain.decisions import PersonRef, decision_marker, parse_decision
from planerka_sync.domain.document import (
    BulletList,
    Document,
    Inline,
    Link,
    Mention,
    Section,
    Text,
    paragraph,
)
from planerka_sync.domain.model import (
    ChecklistEntry,
    Comment,
    ItemRef,
    MeetingSnapshot,
    TaskDraft,
    TaskPatch,
)
from planerka_sync.domain.texts import Locale, short_date
from planerka_sync.errors import (
    DecisionParseError,
    PlanerkaError,
    RateLimited,
    Stopped,
    TrackerError,
)
from planerka_sync.messages import t
from planerka_sync.service import leases
from planerka_sync.service.app import App
from planerka_sync.service.comments import post_once
from planerka_sync.store.models import (
    CommentKind,
    Decision,
    DecisionSource,
    DecisionState,
    Meeting,
    MeetingState,
    PostedComment,
)
from planerka_sync.trackers.base import Created, CreateResult, create_batch, create_tasks
from planerka_sync.trackers.http import MaybeApplied, NotApplied

log = logging.getLogger("planerka_sync.decisions")

DECISION_PREFIXES = ("решение:", "decision:")
TASK_LINE = re.compile(r"^\s*[-*]\s*\[\s?\]\s+(?P<text>.+)$")
ANNOTATION = re.compile(r"\s+→\s+https?://\S+\s*$")
DECISION_SECTIONS = ("решения", "decisions")
COLLECT_FOR = timedelta(days=8)  # a meeting's decisions are read until a week after it
NEEDS_TASK = (DecisionState.PENDING, DecisionState.CREATING, DecisionState.FAILED)
OWN_TAG = re.compile(r"planerka:(confirmation|progress|kpi):")  # comments planerka-sync wrote
# Bidi embeddings/overrides/isolates, LRM/RLM/ALM, zero-width space, word joiner, BOM. ZWJ and
# ZWNJ stay: emoji sequences and some scripts need them.
INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class Candidate:
    """A decision as written on the meeting item (or given on the command line)."""

    source: DecisionSource
    source_ref: str
    text: str
    owner_account: str | None = None
    due: date | None = None
    entry: ChecklistEntry | None = None

    @property
    def line_hash(self) -> str:
        payload = f"{self.text}\x1f{self.owner_account or ''}\x1f{self.due or ''}"
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class MeetingReport:
    meeting: Meeting
    created: list[Decision] = field(default_factory=list)
    updated: list[Decision] = field(default_factory=list)
    failed: list[Decision] = field(default_factory=list)
    found: list[Decision] = field(default_factory=list)  # tasks that existed in the tracker
    in_doubt: list[Decision] = field(default_factory=list)  # sent; the tracker has not said
    removed: list[Decision] = field(default_factory=list)
    planned: list[Decision] = field(default_factory=list)  # on a dry run: would become tasks
    comment_posted: bool = False


# --- reading what the team wrote ---------------------------------------------------------------


def candidates(snapshot: MeetingSnapshot, own_comments: set[str],
               me: Callable[[], str | None] = lambda: None) -> list[Candidate]:
    found = [
        Candidate(DecisionSource.CHECKLIST, entry.ref, _clean(entry.text), entry.owner_account,
                  entry.due, entry)
        for entry in snapshot.checklist
        if entry.section.casefold().startswith(DECISION_SECTIONS) and _clean(entry.text)
    ]
    for comment in snapshot.comments:
        if is_own(comment, own_comments, me):
            continue
        for number, text in comment_decisions(comment.text):
            found.append(Candidate(DecisionSource.COMMENT, f"{comment.id}:{number}", text))
    return found


def is_own(comment: Comment, own_ids: set[str], me: Callable[[], str | None]) -> bool:
    """planerka-sync's own comment: one whose id it recorded, or (a DB that lost the record)
    one that carries its tag AND was written by its account. A tag pasted by a person hides
    nothing; ``me`` is asked only in that rare case."""
    if comment.id in own_ids:
        return True
    if OWN_TAG.search(comment.text) is None or comment.author is None:
        return False
    return comment.author == me()


def comment_decisions(text: str) -> Iterator[tuple[int, str]]:
    """Lines of a comment that record a decision: 'Решение: ...', 'Decision: ...', '- [ ] ...'."""
    for number, line in enumerate(text.splitlines()):
        stripped = line.strip()
        task = TASK_LINE.match(stripped)
        if task:
            yield number, _clean(task.group("text"))
        elif stripped.casefold().startswith(DECISION_PREFIXES):
            body = _clean(stripped.split(":", 1)[1])
            if body:
                yield number, body


def _clean(text: str) -> str:
    """The text without the task link planerka-sync itself appended, and without invisible
    direction and width controls (a title must read as it shows, not reorder itself)."""
    return " ".join(ANNOTATION.sub("", INVISIBLE.sub("", text)).split())


# --- the use case ------------------------------------------------------------------------------


def sync_decisions(
    app: App, series_id: str | None = None, *, dry_run: bool = False
) -> list[MeetingReport]:
    reports = []
    for series in app.series(series_id):
        for meeting in _collecting(app, series.id):
            reports.append(_sync_held(app, series, meeting, dry_run))
    return reports


def sync_meeting(app: App, meeting_id: int, *, wait: float = leases.WAIT) -> MeetingReport | None:
    """One meeting's decisions now (a webhook or the Power-Up's button asked); None when the
    meeting is unknown or no longer collecting decisions."""
    with app.store.session() as session:
        meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.state != MeetingState.CREATED or not meeting.item_id:
        return None
    if meeting.starts_at < app.clock() - COLLECT_FOR:
        return None
    try:
        [series] = app.series(meeting.series_id)
    except PlanerkaError:  # the series was removed from the config
        return None
    return _sync_held(app, series, meeting, dry_run=False, wait=wait)


def _sync_held(app: App, series: MeetingSeries, meeting: Meeting, dry_run: bool,
               wait: float = leases.WAIT, may_create: bool = True) -> MeetingReport:
    """Whoever reads a meeting and creates its tasks holds its lease: the poller, a webhook
    and the button never both see a line without a task and both create one."""
    if dry_run:
        return _sync_meeting(app, series, meeting, dry_run)
    with leases.holding(app, f"meeting:{meeting.id}", wait=wait,
                        what=t(f"meeting {meeting.item_key or meeting.item_id}",
                               f"встреча {meeting.item_key or meeting.item_id}")):
        return _sync_meeting(app, series, meeting, dry_run, may_create)


def adopt_decisions(app: App, series: MeetingSeries, meeting: Meeting, *,
                    may_create: bool) -> MeetingReport:
    """Decisions of a meeting item this state DB has just adopted: their existing tasks are
    recorded; only a meeting still collecting decisions may get new ones (and its comment)."""
    return _sync_held(app, series, meeting, dry_run=False, may_create=may_create)


def _collecting(app: App, series_id: str) -> list[Meeting]:
    since = app.clock() - COLLECT_FOR
    with app.store.session() as session:
        return list(session.scalars(
            select(Meeting)
            .where(Meeting.series_id == series_id, Meeting.state == MeetingState.CREATED,
                   Meeting.starts_at >= since)
            .order_by(Meeting.starts_at)))


def _sync_meeting(
    app: App, series: MeetingSeries, meeting: Meeting, dry_run: bool, may_create: bool = True
) -> MeetingReport:
    ref = ItemRef(id=meeting.item_id or "", key=meeting.item_key, url=meeting.item_url or "")
    snapshot = app.tracker.read_meeting(ref)
    own = _own_comment_ids(app, meeting.id)
    seen = candidates(snapshot, own, app.tracker.me)
    report = MeetingReport(meeting)
    rows = [_upsert_row(app, series, meeting, c, report, dry_run) for c in seen]
    rows += _rows_without_source(app, meeting.id, DecisionSource.CLI, DecisionSource.FILE)
    report.removed = _removed(app, meeting.id, {(c.source, c.source_ref) for c in seen})
    if dry_run:
        report.planned = [r for r in rows if r.state == DecisionState.PENDING and not r.task_id]
        report.failed = [r for r in rows if r.state == DecisionState.PARSE_ERROR]
        return report
    by_candidate = list(_with_candidates(rows, seen))
    _adopt_existing(app, [row for row, _ in by_candidate], report)
    if may_create:
        _create_tasks(app, [row for row, _ in by_candidate if row.state in NEEDS_TASK], ref,
                      report)
    found = {row.id for row in report.found}
    what = "decisions into tasks" if app.locale == "en" else "решения в задачи"
    for done, (row, candidate) in enumerate(by_candidate, 1):
        if row.state == DecisionState.CREATED:
            _finish_task(app, row, ref, candidate, found=row.id in found)
        app.progress(what, done, len(by_candidate))
    report.failed = [r for r in _meeting_rows(app, meeting.id)
                     if r.state in (DecisionState.FAILED, DecisionState.PARSE_ERROR)]
    if may_create:
        report.comment_posted = _confirm(app, meeting, ref, snapshot, report.removed)
    return report


def _upsert_row(
    app: App, series: MeetingSeries, meeting: Meeting, candidate: Candidate,
    report: MeetingReport, dry_run: bool,
) -> Decision:
    with app.store.session() as session:
        row = session.scalar(select(Decision).where(
            Decision.meeting_id == meeting.id, Decision.source == candidate.source,
            Decision.source_ref == candidate.source_ref))
        if row is not None and row.line_hash == candidate.line_hash:
            return row
        if row is None:
            row = Decision(
                meeting_id=meeting.id, series_id=series.id, source=candidate.source,
                source_ref=candidate.source_ref, state=DecisionState.PENDING, attempts=0,
                marker=decision_marker(meeting.marker, f"{candidate.source}:{candidate.source_ref}",
                                       ""),
            )
            if not dry_run:
                session.add(row)
        previous = (row.title, row.owner_person_id, row.due, row.state)
        row.line_hash, row.text = candidate.line_hash, candidate.text
        _apply_parse(app, series, meeting, row, candidate)
        if not dry_run and row.task_id and previous[3] == DecisionState.CREATED:
            _update_task(app, row, previous, report)
        if dry_run:
            session.expunge_all()
            session.rollback()
        return row


def _apply_parse(
    app: App, series: MeetingSeries, meeting: Meeting, row: Decision, candidate: Candidate
) -> None:
    try:
        decision = parse_decision(
            candidate.text, people_refs(app), meeting_day=_local_day(app, meeting),
            locale=app.locale, default_owner=series.default_owner,
            owner_hint=person_for_account(app, candidate.owner_account),
            due_hint=candidate.due,
        )
    except DecisionParseError as exc:
        row.error = exc.reason
        if row.state != DecisionState.CREATED:
            row.state = DecisionState.PARSE_ERROR
        return
    missing = _no_account(app, decision.owner)
    if missing is not None:
        row.error = missing  # an unassigned task would look assigned in the confirmation
        if row.state != DecisionState.CREATED:
            row.state = DecisionState.PARSE_ERROR
        return
    row.title, row.owner_person_id, row.due, row.error = (
        decision.title, decision.owner, decision.due, None)
    if row.state in (DecisionState.PARSE_ERROR, DecisionState.FAILED):
        row.state = DecisionState.PENDING


def _no_account(app: App, person_id: str | None) -> str | None:
    """Why the owner cannot be assigned on this tracker, or None when they can."""
    if person_id is None:
        return None
    person = app.config.person(person_id)
    if app.account(person) is not None:
        return None
    kind = app.config.tracker.kind
    tracker, option = ("Trello", "trello") if kind == "trello" else ("Jira", "jira")
    if app.locale == "ru":
        return (f"у {person.name} нет аккаунта {tracker}: добавьте people[].{option} "
                "в конфигурацию")
    return f"{person.name} has no {tracker} account: add people[].{option} to the config"


def _update_task(
    app: App, row: Decision, previous: tuple[object, ...], report: MeetingReport
) -> None:
    """An edited decision whose task is not done yet: the task follows the edit."""
    if row.status_category == "done" or row.state != DecisionState.CREATED:
        return
    title, owner, due, _ = previous
    patch = TaskPatch(
        title=row.title if row.title != title else None,
        owner_account=_account(app, row.owner_person_id) if row.owner_person_id != owner else None,
        due=row.due if row.due != due else None,
    )
    if patch == TaskPatch():
        return
    app.tracker.update_task(ItemRef(row.task_id or "", row.task_url or "", row.task_key), patch)
    report.updated.append(row)


def _adopt_existing(app: App, rows: Sequence[Decision], report: MeetingReport) -> None:
    """Rows about to get a task: does the tracker have it already (a lost answer, a create
    that landed late, another state DB)? One batched lookup answers for all of them."""
    wanted = [r for r in rows if r.state in NEEDS_TASK and _ready(r)]
    if not wanted:
        return
    found = app.tracker.find_tasks([r.marker for r in wanted])
    for row in wanted:
        if row.marker in found:
            _record_task(app, row, found[row.marker])
            report.found.append(row)
            if row.attempts > 0:
                _follow_edits(app, row)


def _follow_edits(app: App, row: Decision) -> None:
    """A task this DB sent while its answer was lost: the line may have been edited since,
    so the task is given the line as it reads now. A task made by another DB is adopted as the
    tracker holds it: the team may have changed it there, and the tracker is the truth."""
    patch = TaskPatch(title=row.title, owner_account=_account(app, row.owner_person_id),
                      due=row.due)
    app.tracker.update_task(ItemRef(row.task_id or "", row.task_url or "", row.task_key), patch)


def _ready(row: Decision) -> bool:
    return row.owner_person_id is not None and row.title is not None


def _create_tasks(
    app: App, rows: Sequence[Decision], meeting: ItemRef, report: MeetingReport
) -> None:
    """The tasks of the rows not found in the tracker, as many per request as the tracker
    takes (Jira: 50; Trello: one). Before each request the intent of exactly its rows is
    committed (``creating``, ``attempts + 1``, ``sent_at``); each row then gets its own answer:
    made (recorded at once), in doubt, refused, or never sent."""
    ready = []
    for row in rows:
        if not _ready(row):
            continue
        if row.state == DecisionState.CREATING and _settling(app, row):
            report.in_doubt.append(row)
            continue
        ready.append(row)
    size = create_batch(app.tracker)
    for start in range(0, len(ready), size):
        chunk = ready[start:start + size]
        _mark_sent(app, chunk)
        drafts = [TaskDraft(
            title=row.title or "", description=task_description(app, row, meeting),
            owner_account=_account(app, row.owner_person_id), due=row.due, marker=row.marker,
            meeting=meeting) for row in chunk]
        stop = _take_answers(app, chunk, create_tasks(app.tracker, drafts), report)
        if stop is not None:
            raise stop


def _take_answers(app: App, rows: Sequence[Decision], results: Sequence[CreateResult],
                  report: MeetingReport) -> PlanerkaError | None:
    """Record each row's answer; returns the error that means "stop sending" (after every row
    has been recorded), if one came."""
    if len(results) != len(rows):  # an adapter that did not answer for each: nothing is known
        results = [MaybeApplied(f"{len(results)} answers for {len(rows)} creates")] * len(rows)
    made: list[tuple[Decision, Created]] = []
    stop: PlanerkaError | None = None
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, Created):
            made.append((row, result))
        elif isinstance(result, MaybeApplied) or not isinstance(result, PlanerkaError):
            log.warning("creating the task for %r: %s; it stays in doubt until the tracker shows "
                        "it (looked up by its marker on every run)", row.title, result)
            report.in_doubt.append(row)
        elif isinstance(result, NotApplied | RateLimited | Stopped):
            _mark(app, row, DecisionState.PENDING, sent=False)  # surely never reached it
            stop = stop or result
        elif isinstance(result, TrackerError):  # the tracker refused it: it does not exist
            _mark(app, row, DecisionState.FAILED, error=result.message, sent=False)
        else:
            report.in_doubt.append(row)
    for row, created in made:  # each recorded the moment its answer is read
        _record_task(app, row, created.ref, created.linked)
        report.created.append(row)
    return stop


def _settling(app: App, row: Decision) -> bool:
    """A create in doubt is sent again only once the tracker has had time to show it."""
    settle = app.config.tracker.settle_after
    return row.sent_at is not None and app.clock() - row.sent_at < settle


def _finish_task(
    app: App, row: Decision, meeting: ItemRef, candidate: Candidate | None, *,
    found: bool = False,
) -> None:
    """The steps after the create, each retried on later runs until done. ``found``: the task
    was found in the tracker rather than made by an answer this run read (its create may have
    carried the link)."""
    task = ItemRef(row.task_id or "", row.task_url or "", row.task_key)
    if row.linked_at is None:
        _link(app, row, task, meeting, found=found)
    entry = candidate.entry if candidate is not None else None
    if entry is not None and task.url and task.url not in entry.text:
        try:
            app.tracker.annotate(meeting, entry, task)
        except Stopped:
            raise
        except PlanerkaError as exc:  # the task exists; the next run annotates the line
            log.warning("could not annotate the decision line %r: %s", row.title, exc.message)


def _link(app: App, row: Decision, task: ItemRef, meeting: ItemRef, *,
          found: bool = False) -> None:
    # Look before linking when an earlier attempt's outcome is unknown or the task was found
    # (made by another run or DB, or by a create in doubt that may have carried the link),
    # never on the first try of a task made just now.
    verify = row.link_attempts > 0 or row.attempts == 0 or found
    with app.store.session() as session:
        session.get_one(Decision, row.id).link_attempts = row.link_attempts + 1
    row.link_attempts += 1
    try:
        app.tracker.link_task(task, meeting, verify=verify)
    except Stopped:
        raise
    except PlanerkaError as exc:
        log.warning("could not link task %s to its meeting: %s; retried on the next run",
                    task.key or task.id, exc.message)
        return
    now = app.clock()
    with app.store.session() as session:
        session.get_one(Decision, row.id).linked_at = now
    row.linked_at = now


# --- the confirmation comment -----------------------------------------------------------------


def _confirm(
    app: App, meeting: Meeting, ref: ItemRef, snapshot: MeetingSnapshot,
    removed: Sequence[Decision],
) -> bool:
    rows = _meeting_rows(app, meeting.id)
    if not rows:
        return False
    doc = confirmation(app, rows, removed, app.locale)
    return post_once(app, meeting, ref, CommentKind.CONFIRMATION, doc, snapshot)


def confirmation(
    app: App, rows: Sequence[Decision], removed: Sequence[Decision], locale: Locale
) -> Document:
    ru = locale == "ru"
    gone = {r.id for r in removed}
    created = [r for r in rows if r.state == DecisionState.CREATED and r.id not in gone]
    problems = [r for r in rows if r.state in (DecisionState.FAILED, DecisionState.PARSE_ERROR)]
    lines: list[tuple[Inline, ...]] = [_task_line(app, r, locale) for r in created]
    sections = [Section("tasks", "Задачи по решениям" if ru else "Tasks from decisions",
                        (BulletList(tuple(lines)),) if lines else
                        (paragraph("Пока нет." if ru else "None yet."),))]
    waiting = [r for r in rows if r.state == DecisionState.CREATING and r.id not in gone]
    if waiting:
        sections.append(Section(
            "waiting", "Отправлены в трекер, ждём подтверждения" if ru else
            "Sent to the tracker, waiting for it to confirm",
            (BulletList(tuple((Text(r.title or r.text),) for r in waiting)),)))
    if problems:
        items = tuple((Text(f"«{r.text}»: " if ru else f"“{r.text}”: "),
                       Text(r.error or "?", em=True)) for r in problems)
        sections.append(Section("problems", "Не удалось превратить в задачи" if ru else
                                "Could not become tasks", (BulletList(items),)))
    if removed:
        kept = tuple(_task_line(app, r, locale) for r in removed if r.task_id)
        if kept:
            sections.append(Section("removed", "Убраны из планёрки, задачи оставлены" if ru else
                                    "Removed from the meeting item; tasks kept",
                                    (BulletList(kept),)))
    return Document(intro=(), sections=tuple(sections))


def _task_line(app: App, row: Decision, locale: Locale) -> tuple[Inline, ...]:
    person = app.config.person(row.owner_person_id) if row.owner_person_id else None
    # The key links to the task and the title follows; without a key (Trello) the title is
    # the link itself, not written twice.
    parts: list[Inline] = (
        [Link(row.task_key, row.task_url or ""), Text(f" {row.title} — ")] if row.task_key
        else [Link(row.title or "", row.task_url or ""), Text(" — ")])
    if person:
        parts.append(Mention(person.name, app.account(person)))
    if row.due:
        parts.append(Text(f", {'срок' if locale == 'ru' else 'due'} {short_date(row.due, locale)}"))
    return tuple(parts)


def task_description(app: App, row: Decision, meeting: ItemRef) -> Document:
    ru = app.locale == "ru"
    return Document(intro=(
        paragraph("Решение планёрки: " if ru else "Decision of the planning meeting: ", row.text),
        paragraph("Планёрка: " if ru else "Meeting: ", Link(meeting.label, meeting.url)),
    ))


# --- state helpers -----------------------------------------------------------------------------


def people_refs(app: App) -> list[PersonRef]:
    return [PersonRef(id=p.id, name=p.name, aliases=tuple(p.aliases),
                      accounts=tuple(a for a in (p.trello, p.jira) if a))
            for p in app.config.people]


def person_for_account(app: App, account: str | None) -> str | None:
    if account is None:
        return None
    return next((p.id for p in app.config.people if account in (p.trello, p.jira)), None)


def _account(app: App, person_id: str | None) -> str | None:
    return app.account(app.config.person(person_id)) if person_id else None


def _local_day(app: App, meeting: Meeting) -> date:
    from zoneinfo import ZoneInfo

    return meeting.starts_at.astimezone(ZoneInfo(app.config.timezone)).date()


def _mark(app: App, row: Decision, state: DecisionState, *, error: str | None = None,
          attempts: int | None = None, sent: bool | None = None) -> None:
    """Record the row's state; ``sent`` sets (True) or clears (False) the send time that
    _settling reads, on the same clock."""
    now = app.clock()

    def apply(target: Decision) -> None:
        target.state, target.error, target.updated_at = state, error, now
        if attempts is not None:
            target.attempts = attempts
        if sent is not None:
            target.sent_at = now if sent else None

    with app.store.session() as session:
        apply(session.get_one(Decision, row.id))
    apply(row)


def _mark_sent(app: App, rows: Sequence[Decision]) -> None:
    """The intent of a create request, committed before it is sent: each row ``creating``,
    one more attempt, ``sent_at`` now (what _settling reads)."""
    now = app.clock()
    with app.store.session() as session:
        for row in rows:
            attempts = row.attempts + 1
            for target in (session.get_one(Decision, row.id), row):
                target.state, target.error, target.updated_at = DecisionState.CREATING, None, now
                target.attempts, target.sent_at = attempts, now


def _record_task(app: App, row: Decision, task: ItemRef, linked: bool = False) -> None:
    """A task the tracker holds for the row; ``linked`` when its create carried the link back."""
    now = app.clock()
    link_attempts = row.link_attempts + 1
    with app.store.session() as session:
        for target in (session.get_one(Decision, row.id), row):
            target.task_id, target.task_key, target.task_url = task.id, task.key, task.url
            target.state, target.error = DecisionState.CREATED, None
            if linked:
                target.linked_at, target.link_attempts = now, link_attempts


def _meeting_rows(app: App, meeting_id: int) -> list[Decision]:
    with app.store.session() as session:
        return list(session.scalars(
            select(Decision).where(Decision.meeting_id == meeting_id).order_by(Decision.id)))


def _rows_without_source(app: App, meeting_id: int, *sources: DecisionSource) -> list[Decision]:
    return [r for r in _meeting_rows(app, meeting_id) if r.source in sources]


def _removed(app: App, meeting_id: int, present: set[tuple[str, str]]) -> list[Decision]:
    tracked = (DecisionSource.CHECKLIST, DecisionSource.COMMENT, DecisionSource.DESCRIPTION)
    return [r for r in _meeting_rows(app, meeting_id)
            if r.source in tracked and (r.source, r.source_ref) not in present]


def _own_comment_ids(app: App, meeting_id: int) -> set[str]:
    with app.store.session() as session:
        return {c for c in session.scalars(
            select(PostedComment.comment_id).where(PostedComment.meeting_id == meeting_id)) if c}


def _with_candidates(
    rows: Sequence[Decision], seen: Sequence[Candidate]
) -> Iterator[tuple[Decision, Candidate | None]]:
    by_source = {(c.source, c.source_ref): c for c in seen}
    for row in rows:
        yield row, by_source.get((row.source, row.source_ref))


# --- decisions given directly: the CLI and a minutes file --------------------------------------


def record_decisions(
    app: App, series_id: str, lines: Sequence[tuple[str, str]], *, source: DecisionSource,
    meeting_day: date | None = None,
) -> list[Decision]:
    """Store (source_ref, text) lines as decisions of a meeting; a bad line raises before any
    is stored (one decision from the command line either is taken or is refused)."""
    rows, rejected = record_valid_decisions(app, series_id, lines, source=source,
                                            meeting_day=meeting_day, store=False)
    if rejected:
        raise DecisionParseError(rejected[0].text, rejected[0].error or "")
    _store_new(app, rows)
    return rows


def record_valid_decisions(
    app: App, series_id: str, lines: Sequence[tuple[str, str]], *, source: DecisionSource,
    meeting_day: date | None = None, store: bool = True,
) -> tuple[list[Decision], list[Decision]]:
    """Store the lines that read as decisions; return them and the rejected ones (state
    PARSE_ERROR, ``error`` saying why), which are not stored: a file is fixed and imported
    again, and the lines already taken are not taken twice (their markers are known)."""
    [series] = app.series(series_id)
    meeting = _meeting_for(app, series.id, meeting_day)
    rows: list[Decision] = []
    rejected: list[Decision] = []
    for source_ref, text in lines:
        row = Decision(meeting_id=meeting.id, series_id=series.id, source=source,
                       source_ref=source_ref, state=DecisionState.PENDING, attempts=0,
                       marker=decision_marker(meeting.marker, f"{source}:{source_ref}", ""))
        row.line_hash = Candidate(source, source_ref, text).line_hash
        row.text = text
        _apply_parse(app, series, meeting, row, Candidate(source, source_ref, text))
        (rejected if row.state == DecisionState.PARSE_ERROR else rows).append(row)
    if store:
        _store_new(app, rows)
    return rows, rejected


def _store_new(app: App, rows: list[Decision]) -> None:
    with app.store.session() as session:
        for row in rows:
            existing = session.scalar(select(Decision).where(Decision.marker == row.marker))
            if existing is None:
                session.add(row)


def _meeting_for(app: App, series_id: str, day: date | None) -> Meeting:
    """The meeting on ``day``, else the latest one that has started, else the next prepared."""
    with app.store.session() as session:
        query = select(Meeting).where(Meeting.series_id == series_id,
                                      Meeting.state == MeetingState.CREATED)
        meetings = list(session.scalars(query.order_by(Meeting.starts_at)))
    if day is not None:
        chosen = [m for m in meetings if _local_day(app, m) == day]
    else:
        started = [m for m in meetings if m.starts_at <= app.clock()]
        chosen = started[-1:] or meetings[:1]
    if not chosen:
        raise PlanerkaError(t(f"series {series_id!r} has no prepared meeting"
                              f"{f' on {day}' if day else ''}; run `planerka-sync prepare` first",
                              f"в серии {series_id!r} нет подготовленной встречи"
                              f"{f' на {day}' if day else ''}; сначала выполните "
                              f"`planerka-sync prepare`"))
    return chosen[-1]
