"""Tracker-neutral types the service and the adapters exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

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
    what: str
    ok: bool
    advice: str = ""


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
