"""The small protocol every tracker adapter implements, in domain terms.

Adapters are looked up by name (``trello``, ``jira``); third-party ones register in the
``planerka_sync.trackers`` entry-point group. They never import the service or the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

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
from planerka_sync.errors import PlanerkaError


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


@dataclass(frozen=True)
class Created:
    """A task made by :meth:`BatchCreator.create_tasks`; ``linked`` when its link back to the
    meeting was made by the same write (nothing is left for :meth:`Tracker.link_task`)."""

    ref: ItemRef
    linked: bool = False


CreateResult = Created | PlanerkaError


@runtime_checkable
class BatchCreator(Protocol):
    """Optional: adapters that create several tasks per request (Jira's bulk create).

    ``create_tasks`` answers for every draft, in order: ``Created``, or the error that draft met.
    Each draft is still ONE write carrying its marker. The errors mean what they mean for
    :meth:`Tracker.create_task`: ``MaybeApplied`` (that draft's request got no clear answer: it
    may exist, look it up by marker), ``NotApplied`` / ``RateLimited`` / ``Stopped`` (never sent:
    no later draft is sent either), any other ``TrackerError`` (the tracker refused that draft:
    it does not exist). ``create_batch`` is how many drafts one request takes, so that the caller
    records the intent of exactly the drafts about to be sent."""

    create_batch: int

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[CreateResult]:
        ...


def create_batch(tracker: Tracker) -> int:
    """How many drafts one create request of this tracker takes (1 without a batch method)."""
    return max(int(tracker.create_batch), 1) if isinstance(tracker, BatchCreator) else 1


def create_tasks(tracker: Tracker, drafts: Sequence[TaskDraft]) -> list[CreateResult]:
    """The tracker's batch create, or the default: one ``create_task`` per draft, in order,
    stopping at the first error that means nothing more may be sent (the rest answered with it,
    unsent)."""
    if isinstance(tracker, BatchCreator):
        return tracker.create_tasks(drafts)
    from planerka_sync.errors import RateLimited, Stopped, TrackerError
    from planerka_sync.trackers.http import NotApplied

    results: list[CreateResult] = []
    for draft in drafts:
        try:
            results.append(Created(tracker.create_task(draft)))
        except (NotApplied, RateLimited, Stopped) as exc:
            results += [exc] * (len(drafts) - len(results))
            break
        except TrackerError as exc:
            results.append(exc)
    return results


class WebhookAdmin(Protocol):
    """Optional: adapters that can register the tracker's webhooks themselves."""

    def webhooks(self) -> list[Webhook]:
        """planerka-sync's webhooks on this board/site (those the credentials can see)."""
        ...

    def add_webhook(self, url: str, secret: str | None) -> Webhook:
        ...

    def remove_webhook(self, webhook_id: str) -> None:
        ...
