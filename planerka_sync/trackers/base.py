"""The small protocol every tracker adapter implements, in domain terms.

Adapters are looked up by name (``trello``, ``jira``); third-party ones register in the
``planerka_sync.trackers`` entry-point group. They never import the service or the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from planerka_sync.domain.document import Document
from planerka_sync.domain.model import (
    Attachment,
    ChecklistEntry,
    CheckResult,
    ItemRef,
    MeetingDraft,
    MeetingSighting,
    MeetingSnapshot,
    TaskDraft,
    TaskPatch,
    TaskState,
    Webhook,
)


class Tracker(Protocol):
    kind: str

    def check(self, accounts: Sequence[tuple[str, str | None]]) -> list[CheckResult]:
        """Credentials, board/project, lists/issue types, and each (person, account) pair."""
        ...

    def find_meeting(self, draft: MeetingDraft) -> ItemRef | None:
        """The item made for this occurrence, found in the tracker itself: after a crash
        mid-create or a lost state DB (by marker, label + date, or title)."""
        ...

    def series_meetings(self, series_id: str) -> list[MeetingSighting]:
        """Every meeting item of the series in the tracker (a state DB adopts the ones it has
        never seen instead of making them again)."""
        ...

    def read_meeting(self, ref: ItemRef) -> MeetingSnapshot:
        ...

    def me(self) -> str | None:
        """The account planerka-sync writes as, as comments name their author (one request the
        first time it is asked, then remembered by the adapter)."""
        ...

    def upsert_meeting(self, draft: MeetingDraft, existing: ItemRef | None) -> ItemRef:
        """Create the item, or bring an existing one up to date with the draft. Raises
        MaybeApplied only when the item itself may have been created."""
        ...

    def attach(self, on: ItemRef, file: Attachment, replace: str | None) -> str:
        """Attach a file (replacing an earlier attachment by id); returns the attachment id."""
        ...

    def create_task(self, draft: TaskDraft) -> ItemRef:
        """A task carrying ``draft.marker``, assigned and dated: ONE write, so that its answer
        alone tells whether the task exists. The link back is :meth:`link_task`."""
        ...

    def link_task(self, task: ItemRef, meeting: ItemRef, *, verify: bool) -> None:
        """The task's link back to its meeting. With ``verify`` (an earlier attempt's outcome
        is unknown, or the task was found rather than made) the link is looked for first, so
        that repeating the step never adds a second one."""
        ...

    def find_tasks(self, markers: Sequence[str]) -> dict[str, ItemRef]:
        """Tasks carrying any of these markers, found in the tracker itself (before a task is
        created for a row this state DB has not seen made, and for every create in doubt)."""
        ...

    def update_task(self, ref: ItemRef, patch: TaskPatch) -> None:
        ...

    def put_comment(self, on: ItemRef, doc: Document, existing: str | None) -> str:
        """Post a comment, or edit ``existing`` in place; returns the comment id."""
        ...

    def annotate(self, meeting: ItemRef, entry: ChecklistEntry, task: ItemRef) -> None:
        """Show the task's link on the decision line, where the tracker allows it."""
        ...

    def task_states(self, since: datetime | None) -> Iterator[TaskState]:
        """States of planerka's tasks changed since ``since`` (every task without it)."""
        ...


class WebhookAdmin(Protocol):
    """Optional: adapters that can register the tracker's webhooks themselves."""

    def webhooks(self) -> list[Webhook]:
        """planerka-sync's webhooks on this board/site (those the credentials can see)."""
        ...

    def add_webhook(self, url: str, secret: str | None) -> Webhook:
        ...

    def remove_webhook(self, webhook_id: str) -> None:
        ...
