"""Tracker-neutral types the service and the adapters exchange."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from planerka_sync.domain.document import Document


@dataclass(frozen=True)
class ItemRef:
    """An issue or card: its id, a human key where the tracker has one (MKT-12), and its URL."""

    id: str
    url: str
    key: str | None = None

    @property
    def label(self) -> str:
        return self.key or self.url


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class MeetingDraft:
    """Everything a meeting item should hold; the adapter decides how its tracker stores it."""

    series_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    document: Document
    members: tuple[str, ...] = ()  # tracker accounts of the participants
    template_id: str = ""  # e.g. "marketing-kpi-v1-ru": lets a tracker reuse a template copy


@dataclass(frozen=True)
class MeetingSighting:
    """A meeting item of a series found in the tracker: its exact start where the item says it
    (Trello's marker), else its day (Jira's due date)."""

    ref: ItemRef
    starts_at: datetime | None = None
    day: date | None = None


def meeting_marker(series_id: str, starts_at: datetime) -> str:
    """The state DB's key of one meeting of a series (prepare makes it, adoption finds it)."""
    return f"meeting-{series_id}-{starts_at.astimezone(UTC):%Y%m%dT%H%MZ}"


@dataclass(frozen=True)
class Comment:
    id: str
    text: str
    author: str | None = None


@dataclass(frozen=True)
class MeetingSnapshot:
    """What the team wrote on a meeting item: proposed topics and comments."""

    ref: ItemRef
    topics: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()
    attachments: dict[str, str] = field(default_factory=dict)  # filename -> attachment id
    checklist: tuple[ChecklistEntry, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """One row of ``planerka-sync check``: what was verified, whether it holds, and on failure
    what to fix. ``id`` is stable across runs and languages (``list:Done``, ``person:ivan``),
    ``area`` says what kind of thing it is (config, state, tracker, board, project, list,
    status, issue_type, person, kpi_source), ``options`` are the config keys that refer to it.
    ``what`` and ``advice`` are English; ``ru`` the same two in Russian (None: the English is
    shown). An adapter returning only ``what``/``ok``/``advice`` still works."""

    what: str
    ok: bool
    advice: str = ""
    id: str = ""
    area: str = ""
    options: tuple[str, ...] = ()
    ru: tuple[str, str] | None = None

    def text(self, locale: str) -> tuple[str, str]:
        """``(what, advice)`` in the locale."""
        if locale == "ru" and self.ru is not None:
            return self.ru
        return self.what, self.advice

    def failed(self, advice: str, advice_ru: str) -> CheckResult:
        """This row, failed, with what to do in English and Russian."""
        what_ru = self.ru[0] if self.ru is not None else self.what
        return CheckResult(self.what, False, advice, self.id, self.area, self.options,
                           (what_ru, advice_ru))

    @classmethod
    def among(cls, name: str, available: Sequence[str], *, area: str, options: Sequence[str],
              what: tuple[str, str], missing: tuple[str, str],
              create: tuple[str, str] | None = None) -> CheckResult:
        """A name the config gives (a list, a status, an issue type) among those the tracker
        has, as one row for every option giving it: ``what`` and ``missing`` ("board X has no
        list Y") in English and Russian; the advice names the options and what exists, and
        ``create`` (if given) the other way out."""
        import difflib

        keys = ", ".join(options)
        ident, keyed = f"{area}:{name}", tuple(options)
        what_en, what_ru = f"{what[0]} ({keys})", f"{what[1]} ({keys})"
        if name in available:
            return cls(what_en, True, id=ident, area=area, options=keyed, ru=(what_ru, ""))
        names = list(dict.fromkeys(available))
        same = [n for n in names if n.casefold() == name.strip().casefold()]
        close = same or difflib.get_close_matches(name, names, n=1, cutoff=0.75)
        listed_en = ", ".join(names) or "(none)"
        listed_ru = ", ".join(names) or "(нет ни одного)"
        en = f"{missing[0]}: " + (f"{create[0]}, or " if create else "") + (
            f"use one of {listed_en} in {keys}")
        ru = f"{missing[1]}: " + (f"{create[1]} или " if create else "") + (
            f"укажите в {keys} одно из: {listed_ru}")
        if close:
            en += f" (did you mean {close[0]!r}? names must match exactly)"
            ru += f" (возможно, «{close[0]}»? название должно совпадать точно)"
        return cls(what_en, False, en, id=ident, area=area, options=keyed, ru=(what_ru, ru))


@dataclass(frozen=True)
class ChecklistEntry:
    """A check item / ADF task item on a meeting item, with the section it sits in."""

    section: str
    ref: str  # the tracker's id for it (check item id, ADF localId)
    text: str
    owner_account: str | None = None  # a native member / mention node
    due: date | None = None  # a native due / date node
    done: bool = False


@dataclass(frozen=True)
class TaskDraft:
    title: str
    description: Document
    owner_account: str | None
    due: date | None
    marker: str
    meeting: ItemRef


@dataclass(frozen=True)
class TaskPatch:
    title: str | None = None
    owner_account: str | None = None
    due: date | None = None


# The config's status words (status_map) in Jira's status categories.
CATEGORY_OF_STATUS = {"not_started": "new", "in_progress": "indeterminate", "done": "done"}


@dataclass(frozen=True)
class TaskState:
    """A task as the tracker holds it now. ``category``: new | indeterminate | done | deleted."""

    marker: str
    ref: ItemRef
    title: str
    category: str
    status_name: str
    assignee: str | None = None
    due: date | None = None
    done_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Webhook:
    """A webhook registered with the tracker: where it delivers and what it watches."""

    id: str
    url: str
    watches: str  # Trello: the board id; Jira: the JQL filter
    active: bool = True
