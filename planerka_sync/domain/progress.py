"""Progress of earlier decisions before the next meeting: counts, per owner, on-time rate, changes.

The status sync hands in one :class:`TaskProgress` per decision task (its state now and the state
it had at the previous progress report); this module decides what the team is told and builds
the progress comment as a :class:`~planerka_sync.domain.document.Document`, so the meeting starts
from facts instead of a round of "what's the status". Pure: no I/O, no tracker names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from planerka_sync.domain.document import (
    BulletList,
    Document,
    Inline,
    Link,
    Mention,
    Paragraph,
    Section,
    Text,
    paragraph,
)
from planerka_sync.domain.kpi import format_value
from planerka_sync.domain.texts import Locale, short_date

Category = Literal["done", "in_progress", "not_started", "deleted"]
# What happened to a task since the previous report; one kind per task (see _change_kind).
ChangeKind = Literal["done", "reopened", "overdue", "new", "deleted"]

OPEN_CATEGORIES: frozenset[Category] = frozenset({"in_progress", "not_started"})
# The order the "what changed" list follows: good news first, then what needs attention.
_CHANGE_ORDER: tuple[ChangeKind, ...] = ("done", "reopened", "overdue", "new", "deleted")


@dataclass(frozen=True)
class TaskProgress:
    title: str
    owner_id: str | None
    owner_name: str | None
    owner_account: str | None  # for a Mention
    due: date | None
    category: Category
    done_on: date | None  # local date it was (last) done
    url: str | None
    key: str | None  # e.g. MKT-12
    meeting_day: date  # the meeting that decided it
    previous_category: Category | None = None  # at the previous progress report; None = new since
    reopened: bool = False  # was done once, then moved back

    @property
    def is_open(self) -> bool:
        return self.category in OPEN_CATEGORIES


@dataclass(frozen=True)
class OwnerProgress:
    """One owner's tasks, in the groups the comment lists them in.

    The groups are disjoint, so every task is listed once: ``overdue`` takes the open tasks past
    their due date out of ``in_progress`` / ``not_started`` (which hold only those still on time).
    ``name`` is None only for the tasks nobody owns; ``owner_id`` is None as well when the
    tracker's assignee is not one of the configured people.
    """

    owner_id: str | None
    name: str | None
    account: str | None
    overdue: tuple[TaskProgress, ...] = ()  # most days late first
    in_progress: tuple[TaskProgress, ...] = ()
    not_started: tuple[TaskProgress, ...] = ()
    done: tuple[TaskProgress, ...] = ()
    deleted: tuple[TaskProgress, ...] = ()

    @property
    def tasks(self) -> tuple[TaskProgress, ...]:
        """Every task of this owner once, in the comment's order."""
        return self.overdue + self.in_progress + self.not_started + self.done + self.deleted

    @property
    def open_count(self) -> int:
        return len(self.overdue) + len(self.in_progress) + len(self.not_started)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    task: TaskProgress


@dataclass(frozen=True)
class ProgressSummary:
    """Counts follow the task's category, so done + in_progress + not_started + deleted is the
    number of tasks; ``overdue`` is the part of in_progress + not_started that is past due."""

    today: date
    by_owner: tuple[OwnerProgress, ...]  # sorted by name; "no owner" last
    done: int
    in_progress: int
    not_started: int
    overdue: int
    deleted: int
    on_time: OnTime  # of the decisions due in the period (see :func:`on_time`)
    changes: tuple[Change, ...]  # since the previous report
    since: date | None = None  # the previous report's local date, when there was one

    @property
    def total(self) -> int:
        """The tasks that still count: deleted ones are neither done nor open."""
        return self.done + self.in_progress + self.not_started


# --- counting ----------------------------------------------------------------------------------


def overdue_days(task: TaskProgress, today: date) -> int | None:
    """Days late of an open task past its due date; None when it is not overdue."""
    if not task.is_open or task.due is None or task.due >= today:
        return None
    return (today - task.due).days


def late_days(task: TaskProgress) -> int | None:
    """Days a done task was finished after its due date; None when on time or unknown."""
    if task.category != "done" or task.due is None or task.done_on is None:
        return None
    days = (task.done_on - task.due).days
    return days if days > 0 else None


@dataclass(frozen=True)
class Period:
    """Days ``start`` .. ``end``, both included: the days since the previous meeting up to this
    one. ``start`` None means from the beginning."""

    start: date | None
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day <= self.end and (
            self.start is None or day >= self.start)


@dataclass(frozen=True)
class OnTime:
    """The one definition of "on time" every surface shows (see :func:`on_time`)."""

    on_time: int = 0
    late: int = 0

    @property
    def judged(self) -> int:
        return self.on_time + self.late

    @property
    def rate(self) -> float | None:
        return self.on_time / self.judged if self.judged else None


def on_time(tasks: Iterable[TaskProgress], today: date, period: Period | None = None) -> OnTime:
    """Of the decisions due in ``period`` (every due date when None): the ones done by their due
    date are on time; the ones done after it, and the open ones past it, are late.

    An open task whose due date has not passed yet is not judged (it can still be on time); nor is
    a done task whose done date is unknown, nor one without a due date, nor a deleted one.
    """
    good = bad = 0
    for task in tasks:
        if task.due is None or (period is not None and task.due not in period):
            continue
        if task.category == "done" and task.done_on is not None:
            good, bad = (good + 1, bad) if late_days(task) is None else (good, bad + 1)
        elif task.is_open and overdue_days(task, today) is not None:
            bad += 1
    return OnTime(good, bad)


def summarize(
    tasks: Sequence[TaskProgress], today: date, *, since: date | None = None,
    period: Period | None = None, judged: Sequence[TaskProgress] | None = None,
) -> ProgressSummary:
    """The progress as of ``today``; ``since`` is the date of the previous progress report (it is
    what tells a newly overdue task from one that was already late then). The on-time figure
    covers the decisions due in ``period`` among ``judged`` (default: ``tasks``): a report lists
    only open and changed tasks, but a task done weeks ago still counts for its period."""
    categories = [task.category for task in tasks]
    return ProgressSummary(
        today=today,
        by_owner=_group_by_owner(tasks, today),
        done=categories.count("done"),
        in_progress=categories.count("in_progress"),
        not_started=categories.count("not_started"),
        overdue=sum(1 for task in tasks if overdue_days(task, today) is not None),
        deleted=categories.count("deleted"),
        on_time=on_time(tasks if judged is None else judged, today, period),
        changes=detect_changes(tasks, today, since),
        since=since,
    )


def open_items_by_owner(tasks: Iterable[TaskProgress]) -> dict[str, int]:
    """person_id -> open decisions, shown beside each name at the round table."""
    counts: dict[str, int] = {}
    for task in tasks:
        if task.is_open and task.owner_id:
            counts[task.owner_id] = counts.get(task.owner_id, 0) + 1
    return counts


def review_items(tasks: Iterable[TaskProgress]) -> list[TaskProgress]:
    """Every open decision for the next agenda's review, oldest meeting first, then by due date
    (no due date last): the longest-carried items are discussed first."""
    return sorted((task for task in tasks if task.is_open), key=_task_order)


def _task_order(task: TaskProgress) -> tuple[date, bool, date, str, str]:
    return (task.meeting_day, task.due is None, task.due or date.min, task.title, task.key or "")


def _due_order(task: TaskProgress) -> tuple[bool, date, date, str, str]:
    return (task.due is None, task.due or date.min, task.meeting_day, task.title, task.key or "")


# --- grouping by owner -------------------------------------------------------------------------

# Tasks belong together by person id; an assignee the config does not know still has a name, and
# lumping them into "no owner" would hide who is on the hook.
_OwnerKey = tuple[str, str] | None


def _owner_key(task: TaskProgress) -> _OwnerKey:
    if task.owner_id:
        return ("id", task.owner_id)
    if task.owner_name:
        return ("name", task.owner_name)
    return None


def _group_by_owner(tasks: Iterable[TaskProgress], today: date) -> tuple[OwnerProgress, ...]:
    groups: dict[_OwnerKey, list[TaskProgress]] = {}
    for task in tasks:
        groups.setdefault(_owner_key(task), []).append(task)
    owners = [_owner_progress(key, group, today) for key, group in groups.items()]
    return tuple(sorted(owners, key=_owner_order))


def _owner_order(owner: OwnerProgress) -> tuple[bool, str, str, str]:
    name = owner.name or ""
    return (owner.name is None, name.casefold(), name, owner.owner_id or "")


def _owner_progress(key: _OwnerKey, tasks: list[TaskProgress], today: date) -> OwnerProgress:
    late = [t for t in tasks if overdue_days(t, today) is not None]
    on_time = [t for t in tasks if overdue_days(t, today) is None]
    return OwnerProgress(
        owner_id=key[1] if key and key[0] == "id" else None,
        name=_first(t.owner_name for t in tasks) or (key[1] if key else None),
        account=_first(t.owner_account for t in tasks),
        overdue=tuple(sorted(late, key=_due_order)),  # earliest due = most days late
        in_progress=_sorted_in(on_time, "in_progress"),
        not_started=_sorted_in(on_time, "not_started"),
        done=_sorted_in(on_time, "done"),
        deleted=_sorted_in(on_time, "deleted"),
    )


def _sorted_in(tasks: list[TaskProgress], category: Category) -> tuple[TaskProgress, ...]:
    return tuple(sorted((t for t in tasks if t.category == category), key=_due_order))


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value), None)


# --- what changed since the previous report ----------------------------------------------------


def detect_changes(
    tasks: Iterable[TaskProgress], today: date, since: date | None = None
) -> tuple[Change, ...]:
    changes = []
    for task in tasks:
        kind = _change_kind(task, today, since)
        if kind is not None:
            changes.append(Change(kind, task))
    return tuple(sorted(changes, key=lambda c: (_CHANGE_ORDER.index(c.kind), _due_order(c.task))))


def _change_kind(task: TaskProgress, today: date, since: date | None) -> ChangeKind | None:
    # One kind per task, the one that matters most: a task created and deleted between two
    # reports is reported deleted, not new, and a new task already late is simply new. A task
    # restored from the trash is reported only if it is done or has newly become late.
    before, now = task.previous_category, task.category
    if now == "deleted":
        return "deleted" if before != "deleted" else None
    if before is None:
        return "new"
    if before == "done" and task.is_open:
        return "reopened"
    if now == "done":
        return "done" if before != "done" else None
    return "overdue" if _became_overdue(task, today, since) else None


def _became_overdue(task: TaskProgress, today: date, since: date | None) -> bool:
    # Late now, but not yet late on the day of the previous report (due >= since). Without that
    # date we cannot tell, and repeating every late task as "newly" late each week is noise.
    if overdue_days(task, today) is None or since is None or task.due is None:
        return False
    return task.due >= since


# --- words -------------------------------------------------------------------------------------

_WORDS: dict[str, dict[Locale, str]] = {
    "title": {"ru": "Ход выполнения решений к планёрке {date}.",
              "en": "Progress on decisions before the meeting of {date}."},
    "nothing": {"ru": "К планёрке {date} отчитываться не о чем: решений с прошлых планёрок нет.",
                "en": "Nothing to report before the meeting of {date}: "
                      "no decisions from earlier meetings."},
    "done_of": {"ru": "выполнено {done} из {total}", "en": "done {done} of {total}"},
    "in_progress_n": {"ru": "в работе {n}", "en": "in progress {n}"},
    "not_started_n": {"ru": "не начато {n}", "en": "not started {n}"},
    "overdue_n": {"ru": "просрочено {n}", "en": "overdue {n}"},
    "deleted_n": {"ru": "удалено {n}", "en": "deleted {n}"},
    "on_time": {"ru": "в срок {counts}", "en": "on time {counts}"},
    "counts": {"ru": "{good} из {judged} ({pct})", "en": "{good} of {judged} ({pct})"},
    "done": {"ru": "выполнено", "en": "done"},
    "in_progress": {"ru": "в работе", "en": "in progress"},
    "not_started": {"ru": "не начато", "en": "not started"},
    "deleted": {"ru": "удалена в трекере", "en": "deleted in the tracker"},
    "overdue_by": {"ru": "просрочено на {days}", "en": "overdue by {days}"},
    "late_by": {"ru": "с опозданием на {days}", "en": "{days} late"},
    "reopened_mark": {"ru": "переоткрыта", "en": "reopened"},
    "due": {"ru": "срок", "en": "due"},
    "no_owner": {"ru": "Без ответственного", "en": "No owner"},
    "owners": {"ru": "Ответственные", "en": "Owners"},
    "no_owner_inline": {"ru": "без ответственного", "en": "no owner"},
    "untitled": {"ru": "(без названия)", "en": "(untitled)"},
    "changes": {"ru": "Что изменилось с прошлой планёрки", "en": "Changes since the last meeting"},
    "no_changes": {"ru": "Изменений нет.", "en": "No changes."},
    "change_done": {"ru": "Выполнено", "en": "Done"},
    "change_reopened": {"ru": "Снова открыто", "en": "Reopened"},
    "change_overdue": {"ru": "Просрочено", "en": "Newly overdue"},
    "change_new": {"ru": "Новое", "en": "New"},
    "change_deleted": {"ru": "Удалено в трекере", "en": "Deleted in the tracker"},
}


def _w(key: str, locale: Locale) -> str:
    return _WORDS[key][locale]


def ru_plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian form for ``n``: 1 день, 2 дня, 5 дней, 11 дней, 21 день."""
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return many
    if n % 10 == 1:
        return one
    return few if 2 <= n % 10 <= 4 else many


def days_phrase(n: int, locale: Locale) -> str:
    if locale == "ru":
        return f"{n} {ru_plural(n, 'день', 'дня', 'дней')}"
    return f"{n} day" if n == 1 else f"{n} days"


def on_time_text(counts: OnTime, locale: Locale) -> str:
    """'в срок 1 из 5 (20 %)': the counts behind the rate, so it never reads as 100 % beside four
    overdue tasks. Every surface that shows the figure uses this or the same numbers."""
    return _w("on_time", locale).format(counts=on_time_counts(counts, locale))


def on_time_counts(counts: OnTime, locale: Locale) -> str:
    """'1 из 5 (20 %)'; '—' when no decision was due (nothing to judge)."""
    if not counts.judged:
        return "—"
    # Rounded as the KPI "decisions done on time" is shown (whole percent, half up), so the
    # comment, the scorecard, the report and the Power-Up print the same number.
    pct = format_value(counts.rate or 0.0, "%", locale, decimals=0)
    return _w("counts", locale).format(good=counts.on_time, judged=counts.judged, pct=pct)


def status_text(task: TaskProgress, today: date, locale: Locale) -> str:
    """The task's state in words (also what the agenda's review section shows as its status)."""
    words = _state_words(task, today, locale)
    if task.reopened and task.category != "deleted":
        words += f" ({_w('reopened_mark', locale)})"
    return words


def _state_words(task: TaskProgress, today: date, locale: Locale) -> str:
    late = overdue_days(task, today)
    if late is not None:
        return _w("overdue_by", locale).format(days=days_phrase(late, locale))
    if task.category != "done":
        return _w(task.category, locale)
    words = _w("done", locale)
    if task.done_on is not None:
        words += f" {short_date(task.done_on, locale)}"
    done_late = late_days(task)
    if done_late is not None:
        words += ", " + _w("late_by", locale).format(days=days_phrase(done_late, locale))
    return words


# --- the comment -------------------------------------------------------------------------------


def progress_document(
    summary: ProgressSummary, locale: Locale, *, title_date: date
) -> Document:
    """The progress comment for the meeting on ``title_date``."""
    day = short_date(title_date, locale)
    if not summary.by_owner:
        return Document(intro=(paragraph(_w("nothing", locale).format(date=day)),))
    intro = Paragraph((Text(_w("title", locale).format(date=day), strong=True),
                       Text(" " + totals_text(summary, locale))))
    sections = [_owner_section(owner, summary.today, locale) for owner in summary.by_owner]
    sections.append(_changes_section(summary, locale))
    return Document(intro=(intro, *_owners_line(summary, locale)), sections=tuple(sections))


def _owners_line(summary: ProgressSummary, locale: Locale) -> tuple[Paragraph, ...]:
    """'Ответственные: @Анна, @Иван': one mention per owner, so each is notified that their
    tasks are reviewed, without repeating the name under the heading of their section."""
    owners = [o for o in summary.by_owner if o.name is not None]
    if not owners:
        return ()
    parts: list[Inline] = [Text(_w("owners", locale) + ": ")]
    for index, owner in enumerate(owners):
        if index:
            parts.append(Text(", "))
        parts.append(Mention(owner.name or "", owner.account))
    return (Paragraph(tuple(parts)),)


def totals_text(summary: ProgressSummary, locale: Locale) -> str:
    """'Выполнено 3 из 7 · в работе 2 · не начато 2 · просрочено 1 · вовремя 67 %'."""
    parts = [
        _w("done_of", locale).format(done=summary.done, total=summary.total),
        _w("in_progress_n", locale).format(n=summary.in_progress),
        _w("not_started_n", locale).format(n=summary.not_started),
        _w("overdue_n", locale).format(n=summary.overdue),
    ]
    if summary.deleted:
        parts.append(_w("deleted_n", locale).format(n=summary.deleted))
    if summary.on_time.rate is not None:
        parts.append(on_time_text(summary.on_time, locale))
    line = " · ".join(parts)
    return line[:1].upper() + line[1:]


def _owner_section(owner: OwnerProgress, today: date, locale: Locale) -> Section:
    """'Иван — выполнено 1 из 3, просрочено 2', then the tasks: the name once, in the heading."""
    lines = tuple(_task_line(task, today, locale) for task in owner.tasks)
    title = f"{_owner_title(owner, locale)} — {', '.join(_owner_counts(owner, locale))}"
    return Section(_owner_section_key(owner), title, (BulletList(lines),))


def _owner_section_key(owner: OwnerProgress) -> str:
    if owner.name is None:
        return "progress-no-owner"
    return f"progress-owner-{owner.owner_id or owner.name}"


def _owner_title(owner: OwnerProgress, locale: Locale) -> str:
    return owner.name if owner.name is not None else _w("no_owner", locale)


def _owner_counts(owner: OwnerProgress, locale: Locale) -> list[str]:
    # Only the numbers that say something: "выполнено 0 из 0" for an owner whose only task was
    # deleted reads like an error.
    counted = len(owner.tasks) - len(owner.deleted)
    parts = [_w("done_of", locale).format(done=len(owner.done), total=counted)] if counted else []
    if owner.overdue:
        parts.append(_w("overdue_n", locale).format(n=len(owner.overdue)))
    if owner.deleted:
        parts.append(_w("deleted_n", locale).format(n=len(owner.deleted)))
    return parts


def _task_line(task: TaskProgress, today: date, locale: Locale) -> tuple[Inline, ...]:
    """'MKT-12 Запустить рассылку — в работе · срок 30.11.2026' (the first part a link)."""
    parts = [*_reference(task, locale), Text(f" — {status_text(task, today, locale)}")]
    if task.due is not None:
        parts.append(Text(f" · {_w('due', locale)} {short_date(task.due, locale)}"))
    return tuple(parts)


def _reference(task: TaskProgress, locale: Locale) -> list[Inline]:
    title = task.title.strip() or _w("untitled", locale)
    label = task.key or title
    head: Inline = Link(label, task.url) if task.url else Text(label)
    return [head, Text(f" {title}")] if task.key else [head]


def _changes_section(summary: ProgressSummary, locale: Locale) -> Section:
    title = _w("changes", locale)
    if not summary.changes:
        return Section("progress-changes", title, (paragraph(_w("no_changes", locale)),))
    lines = tuple(_change_line(change, summary.today, locale) for change in summary.changes)
    return Section("progress-changes", title, (BulletList(lines),))


def _change_line(change: Change, today: date, locale: Locale) -> tuple[Inline, ...]:
    task = change.task
    owner: Inline = (Mention(task.owner_name or task.owner_id or "", task.owner_account)
                     if task.owner_name or task.owner_id else Text(_w("no_owner_inline", locale)))
    return (
        Text(f"{_w('change_' + change.kind, locale)}: "),
        *_reference(task, locale),
        Text(" — "),
        owner,
        Text(f" · {status_text(task, today, locale)}"),
    )
