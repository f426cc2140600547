"""The small protocol every tracker adapter implements, in domain terms.

Adapters are looked up by name (``trello``, ``jira``); third-party ones register in the
``planerka_sync.trackers`` entry-point group. They never import the service or the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from planerka_sync.domain.model import (
    Attachment,
    CheckResult,
    ItemRef,
    MeetingDraft,
    MeetingSnapshot,
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

    def read_meeting(self, ref: ItemRef) -> MeetingSnapshot:
        ...

    def upsert_meeting(self, draft: MeetingDraft, existing: ItemRef | None) -> ItemRef:
        """Create the item, or bring an existing one up to date with the draft."""
        ...

    def attach(self, on: ItemRef, file: Attachment, replace: str | None) -> str:
        """Attach a file (replacing an earlier attachment by id); returns the attachment id."""
        ...
