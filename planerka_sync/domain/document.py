"""A tiny document model: every description and comment is built once as this, then rendered
per tracker (Trello markdown + checklists, Jira Cloud ADF, Jira DC wiki markup, plain text).

Only what the product writes is modelled; immutable so documents can be hashed and compared
(a re-run that would write the same thing writes nothing).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date


# --- inline ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    text: str
    strong: bool = False
    em: bool = False


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Mention:
    """A person. ``account`` is their tracker identity (Trello username, Jira Cloud accountId,
    Jira DC username) when known; renderers fall back to the plain name without it."""

    name: str
    account: str | None = None


@dataclass(frozen=True)
class DateRef:
    day: date


Inline = Text | Link | Mention | DateRef


# --- blocks ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Heading:
    level: int
    content: tuple[Inline, ...]


@dataclass(frozen=True)
class Paragraph:
    content: tuple[Inline, ...]


@dataclass(frozen=True)
class BulletList:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class TaskItem:
    """A checkbox line. ``key`` is stable across re-renders (ADF localId, idempotent updates)."""

    content: tuple[Inline, ...]
    key: str
    done: bool = False


@dataclass(frozen=True)
class TaskList:
    items: tuple[TaskItem, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[tuple[Inline, ...], ...], ...]


Block = Heading | Paragraph | BulletList | TaskList | Table


@dataclass(frozen=True)
class Section:
    """A titled part of a document; on Trello its task list becomes one native checklist."""

    key: str
    title: str
    blocks: tuple[Block, ...] = ()
    checklist: TaskList | None = None
    # Same for every occurrence of the series (e.g. the KPI blocks): a tracker may keep it in a
    # template and copy it instead of writing it item by item.
    static: bool = False
    # The team writes into this checklist (topics, decisions): a tracker keeps it as a real
    # checklist people can add to, even while it is empty.
    collects: bool = False


@dataclass(frozen=True)
class Document:
    intro: tuple[Block, ...] = ()
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def fingerprint(self) -> str:
        """A stable hash of the content, to tell whether an update is needed."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


# --- small builders so callers read like the document -----------------------------------------
def text(*parts: str | Inline) -> tuple[Inline, ...]:
    """Inline content from strings and inline nodes."""
    return tuple(Text(p) if isinstance(p, str) else p for p in parts if p != "")


def paragraph(*parts: str | Inline) -> Paragraph:
    return Paragraph(text(*parts))


def heading(level: int, title: str) -> Heading:
    return Heading(level, (Text(title),))


def plain(content: tuple[Inline, ...]) -> str:
    """Inline content as plain text (titles, checklist item names, logs)."""
    return "".join(_plain(node) for node in content)


def _plain(node: Inline) -> str:
    if isinstance(node, Text):
        return node.text
    if isinstance(node, Link):
        return node.text
    if isinstance(node, Mention):
        return node.name
    return node.day.isoformat()
