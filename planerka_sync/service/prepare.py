"""prepare: the meeting item with its agenda and invite, created once, refreshed after."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from planerka_sync.config import MeetingSeries
from planerka_sync.domain.agenda import (
    AgendaTemplate,
    MeetingFacts,
    Participant,
    build_agenda,
    meeting_title,
)
from planerka_sync.domain.cadence import Occurrence
from planerka_sync.domain.model import Attachment, ItemRef, MeetingDraft, meeting_marker
from planerka_sync.domain.texts import local_time
from planerka_sync.errors import InDoubt, PlanerkaError
from planerka_sync.messages import t
from planerka_sync.render.ics import Invite, Invitee, Recurrence, Slot, recurrence_of, to_ics
from planerka_sync.render.plain import to_plain
from planerka_sync.service.app import App, schedule_of
from planerka_sync.service.progress import open_review
from planerka_sync.store.models import Attachment as AttachmentRow
from planerka_sync.store.models import AttachmentKind, Meeting, MeetingState
from planerka_sync.templates import agenda_template
from planerka_sync.trackers.http import MaybeApplied

# --- prepare -----------------------------------------------------------------------------------

Action = Literal["create", "update", "unchanged"]


@dataclass(frozen=True)
class PreparePlan:
    series: MeetingSeries
    occurrence: Occurrence
    draft: MeetingDraft
    existing: ItemRef | None
    action: Action
    invite: Invite  # as it reads for the existing item (its link is filled in after a create)
    attached: AttachmentRow | None  # the invite attached last time, if known

    def invite_changed(self) -> bool:
        known = self.attached
        return known is None or known.attachment_id is None or (
            known.content_hash != _hash_invite(self.invite))


@dataclass(frozen=True)
class PrepareOutcome:
    plan: PreparePlan
    ref: ItemRef | None  # None on a dry run that would create

    @property
    def agenda_text(self) -> str:
        return to_plain(self.plan.draft.document)


def prepare(
    app: App, series_id: str | None = None, on: date | None = None, *, dry_run: bool = False
) -> list[PrepareOutcome]:
    from planerka_sync.service.adopt import adopt_history  # adopt imports this module

    outcomes = []
    for series in app.series(series_id):
        if not dry_run:
            # A new or moved state DB first takes over the tracker's items and tasks, so the
            # agenda's review of open decisions is never rewritten from an empty DB.
            adopt_history(app, series.id)
        plan = plan_prepare(app, series, on)
        outcomes.append(PrepareOutcome(plan, plan.existing) if dry_run else execute(app, plan))
    return outcomes


def target_occurrence(app: App, series: MeetingSeries, on: date | None) -> Occurrence:
    """``--for DATE``, else the next meeting that has not started yet (re-runs refresh it)."""
    schedule = schedule_of(series, app.config.timezone)
    if on is not None:
        found = schedule.on(on)
        if found is None:
            # From the team's midnight: a meeting early on that day in its zone still counts.
            upcoming = schedule.after(datetime.combine(on, datetime.min.time(),
                                                       tzinfo=ZoneInfo(app.config.timezone)))
            hint = t(f"; the next one is on {upcoming.starts_at:%Y-%m-%d}",
                     f"; следующая — {upcoming.starts_at:%Y-%m-%d}") if upcoming else ""
            raise PlanerkaError(t(f"series {series.id!r} has no meeting on {on}{hint}",
                                  f"в серии {series.id!r} нет встречи {on}{hint}"))
        return found
    found = schedule.after(app.clock())
    if found is None:
        raise PlanerkaError(t(f"series {series.id!r} has no future meetings; check its cadence",
                              f"в серии {series.id!r} больше нет встреч; проверьте её "
                              f"расписание (`cadence`)"))
    return found


def plan_prepare(app: App, series: MeetingSeries, on: date | None) -> PreparePlan:
    """Reads only: what prepare would do for this series."""
    occurrence = target_occurrence(app, series, on)
    row = _meeting_row(app, series.id, occurrence.starts_at)
    template = agenda_template(series.agenda, app.config_dir)
    recurrence = _recurrence(app, series, occurrence)
    draft = _draft(app, series, occurrence, recurrence, template, topics=())
    # The DB knows the item; if not (first run, a crash mid-create, a lost DB) the tracker may.
    existing = _known_ref(row) or app.tracker.find_meeting(draft)
    snapshot = app.tracker.read_meeting(existing) if existing else None
    if snapshot and snapshot.topics:
        draft = _draft(app, series, occurrence, recurrence, template, topics=snapshot.topics)
    if existing is None and row is not None:
        _unless_in_doubt(app, row)
    action: Action = "create" if existing is None else "update"
    if existing is not None and row is not None and row.agenda_hash == _agenda_hash(draft):
        action = "unchanged"
    attached = _attachment_row(app, row, AttachmentKind.ICS) if row else None
    if attached is None and snapshot is not None:
        found = snapshot.attachments.get(invite_filename(draft))
        attached = AttachmentRow(attachment_id=found, content_hash=None) if found else None
    return PreparePlan(series, occurrence, draft, existing, action,
                       _invite(app, series, occurrence, recurrence, existing), attached)


def _unless_in_doubt(app: App, row: Meeting) -> None:
    """The item's create got no answer and the tracker does not show it (yet): Jira's search
    may lag minutes behind a create that did happen, so it is sent again only after
    ``tracker.settle_after``."""
    if row.state != MeetingState.CREATING or row.sent_at is None:
        return
    until = row.sent_at + app.config.tracker.settle_after
    if app.clock() < until:
        zone, locale = app.config.timezone, app.locale
        starts = local_time(row.starts_at, zone, locale)
        sent = local_time(row.sent_at, zone, locale, with_date=False)
        after = local_time(until, zone, locale, with_date=False)
        raise InDoubt(t(
            f"the meeting item for {starts} was sent to the tracker at {sent} and no clear "
            f"answer came; it is not in the tracker yet, so it is created again only after "
            f"{after} (tracker.settle_after), never twice",
            f"встреча {starts} была отправлена в трекер в {sent}, но ясного ответа не пришло; "
            f"в трекере её пока нет, поэтому она будет создана заново только после {after} "
            f"(`tracker.settle_after`) — и никогда дважды"))


def execute(app: App, plan: PreparePlan) -> PrepareOutcome:
    meeting_id = _record_intent(app, plan)
    ref = plan.existing
    try:
        if ref is None:
            _record_sent(app, meeting_id)
        if ref is None or plan.action != "unchanged":
            ref = app.tracker.upsert_meeting(plan.draft, plan.existing)
        _record_created(app, meeting_id, ref, _agenda_hash(plan.draft))
        _attach_invite(app, plan, meeting_id, ref)
    except PlanerkaError as exc:
        _record_failure(app, meeting_id, exc)
        raise
    return PrepareOutcome(plan, ref)


def _attach_invite(app: App, plan: PreparePlan, meeting_id: int, ref: ItemRef) -> None:
    invite = _with_link(plan.invite, ref)
    known = plan.attached
    if known is not None and known.attachment_id and known.content_hash == _hash_invite(invite):
        return
    file = Attachment(invite_filename(plan.draft), to_ics(invite, stamp=app.clock()),
                      "text/calendar")
    attachment_id = app.tracker.attach(ref, file, known.attachment_id if known else None)
    _record_attachment(app, meeting_id, AttachmentKind.ICS, attachment_id, _hash_invite(invite))


def invite_filename(draft: MeetingDraft) -> str:
    return f"planerka-{draft.series_id}-{draft.starts_at.astimezone(UTC):%Y%m%d}.ics"


# --- building the draft ------------------------------------------------------------------------


def _participant(app: App, person_id: str) -> Participant:
    person = app.config.person(person_id)
    return Participant(person.id, person.name, app.account(person))


def _draft(
    app: App,
    series: MeetingSeries,
    occurrence: Occurrence,
    recurrence: Recurrence,
    template: AgendaTemplate,
    topics: Sequence[str],
) -> MeetingDraft:
    participants = tuple(_participant(app, pid) for pid in series.participants)
    previous = _previous_url(app, series.id, occurrence.starts_at)
    review, open_items = open_review(app, series.id, before=occurrence.starts_at)
    facts = MeetingFacts(
        title=series.title, occurrence=occurrence, place=series.place,
        facilitator=_participant(app, series.facilitator) if series.facilitator else None,
        participants=participants, previous_url=previous, topics=tuple(topics),
        review=review, open_items=open_items, cadence=recurrence.rule,
        checklists=app.config.tracker.kind == "trello",
    )
    document = build_agenda(template, facts, app.locale)
    return MeetingDraft(
        series_id=series.id,
        title=meeting_title(series.title, occurrence.starts_at, app.locale),
        starts_at=occurrence.starts_at, ends_at=occurrence.ends_at, document=document,
        members=tuple(p.account for p in participants if p.account),
        template_id=f"{template.id}-v{template.version}-{app.locale}",
    )


def _recurrence(app: App, series: MeetingSeries, occurrence: Occurrence) -> Recurrence:
    """The series as the calendar shows it: from its first meeting that has an item (the state
    DB's, which adopts the tracker's), so every meeting's file states the same series; this
    meeting's when there is none yet."""
    with app.store.session() as session:
        first = session.scalar(
            select(Meeting.starts_at)
            .where(Meeting.series_id == series.id, Meeting.state == MeetingState.CREATED)
            .order_by(Meeting.starts_at).limit(1))
    since = min(first, occurrence.starts_at) if first is not None else occurrence.starts_at
    schedule = schedule_of(series, app.config.timezone)
    return recurrence_of(schedule, since.astimezone(schedule.zone).date())


def _invite(
    app: App,
    series: MeetingSeries,
    occurrence: Occurrence,
    recurrence: Recurrence,
    ref: ItemRef | None,
) -> Invite:
    people = [app.config.person(pid) for pid in series.participants]
    organizer = app.config.person(series.facilitator) if series.facilitator else None
    slot = Slot(regular_start=occurrence.starts_at, starts_at=occurrence.starts_at,
                ends_at=occurrence.ends_at, place=series.place)
    invite = Invite(
        series_id=series.id, title=series.title, recurrence=recurrence, meeting=slot,
        place=series.place, description="", url=None,
        organizer=Invitee(organizer.name, organizer.email) if organizer else None,
        attendees=tuple(Invitee(p.name, p.email) for p in people),
        scope=_scope(app),
    )
    return _with_link(invite, ref)


def _with_link(invite: Invite, ref: ItemRef | None) -> Invite:
    """The invite links the meeting item once it exists (after a create)."""
    return replace(invite, description=ref.url if ref else "", url=ref.url if ref else None)


def _scope(app: App) -> str:
    """Where the series lives, so its calendar UID is not another team's."""
    tracker = app.config.tracker
    where = tracker.board if tracker.kind == "trello" else tracker.project
    return f"{tracker.url.rstrip('/').lower()}|{where}"


def _hash_invite(invite: Invite) -> str:
    payload = json.dumps(asdict(invite), default=str, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _agenda_hash(draft: MeetingDraft) -> str:
    payload = json.dumps(
        [draft.title, draft.starts_at.isoformat(), draft.members, draft.document.fingerprint()],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --- state -------------------------------------------------------------------------------------


def _meeting_row(app: App, series_id: str, starts_at: datetime) -> Meeting | None:
    with app.store.session() as session:
        return session.scalar(select(Meeting).where(
            Meeting.series_id == series_id, Meeting.starts_at == starts_at.astimezone(UTC)))


def _known_ref(row: Meeting | None) -> ItemRef | None:
    if row is None or row.state != MeetingState.CREATED or not row.item_id:
        return None
    return ItemRef(id=row.item_id, key=row.item_key, url=row.item_url or "")


def _previous_url(app: App, series_id: str, before: datetime) -> str | None:
    with app.store.session() as session:
        row = session.scalar(
            select(Meeting)
            .where(Meeting.series_id == series_id, Meeting.starts_at < before.astimezone(UTC),
                   Meeting.state == MeetingState.CREATED)
            .order_by(Meeting.starts_at.desc())
            .limit(1)
        )
        return row.item_url if row else None


def _attachment_row(app: App, row: Meeting, kind: AttachmentKind) -> AttachmentRow | None:
    with app.store.session() as session:
        return session.scalar(select(AttachmentRow).where(
            AttachmentRow.meeting_id == row.id, AttachmentRow.kind == kind))


def _record_intent(app: App, plan: PreparePlan) -> int:
    """Before any write: the meeting row exists (``creating`` until the item is confirmed)."""
    starts_at = plan.occurrence.starts_at.astimezone(UTC)
    with app.store.session() as session:
        row = session.scalar(select(Meeting).where(
            Meeting.series_id == plan.series.id, Meeting.starts_at == starts_at))
        if row is None:
            row = Meeting(series_id=plan.series.id, starts_at=starts_at,
                          tracker=app.config.tracker.kind,
                          marker=meeting_marker(plan.series.id, starts_at),
                          state=MeetingState.CREATING)
            session.add(row)
            session.flush()
        return row.id


def _record_created(app: App, meeting_id: int, ref: ItemRef, agenda_hash: str) -> None:
    with app.store.session() as session:
        row = session.get_one(Meeting, meeting_id)
        row.item_id, row.item_key, row.item_url = ref.id, ref.key, ref.url
        row.state, row.error, row.sent_at = MeetingState.CREATED, None, None
        row.prepared_at = app.clock()
        row.agenda_hash = agenda_hash


def _record_sent(app: App, meeting_id: int) -> None:
    with app.store.session() as session:
        row = session.get_one(Meeting, meeting_id)
        row.state, row.sent_at = MeetingState.CREATING, app.clock()


def _record_failure(app: App, meeting_id: int, exc: PlanerkaError) -> None:
    with app.store.session() as session:
        row = session.get_one(Meeting, meeting_id)
        if row.state != MeetingState.CREATED and not isinstance(exc, MaybeApplied):
            row.state, row.sent_at = MeetingState.FAILED, None  # surely not created
        row.error = exc.message


def _record_attachment(
    app: App, meeting_id: int, kind: AttachmentKind, attachment_id: str, content_hash: str
) -> None:
    with app.store.session() as session:
        row = session.scalar(select(AttachmentRow).where(
            AttachmentRow.meeting_id == meeting_id, AttachmentRow.kind == kind))
        if row is None:
            row = AttachmentRow(meeting_id=meeting_id, kind=kind)
            session.add(row)
        row.attachment_id, row.content_hash = attachment_id, content_hash
