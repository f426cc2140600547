"""What a tracker's webhook event asks planerka-sync to do.

An event about a meeting item (a comment, a checklist item, the description) means "read this
meeting's decisions again"; an event about one of our tasks (its list or status, due date,
members, deletion) means "pull task states". Everything else is acknowledged and ignored. Which
items are ours is found by tracker id: ``web/directory.py`` reads the ids an event names and
knows this process's items; the worker asks the state DB (:func:`meeting_for_item` and an
indexed query) for the rest, so any replica can route any event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select

from planerka_sync.service.app import App
from planerka_sync.store.models import Meeting

# Trello actions that can change what a meeting card says (decision lines live in comments,
# checklist items and the description).
TRELLO_MEETING_ACTIONS = frozenset({
    "commentCard", "updateComment", "deleteComment", "createCheckItem", "updateCheckItem",
    "updateCheckItemStateOnCard", "deleteCheckItem", "addChecklistToCard", "updateChecklist",
    "removeChecklistFromCard", "updateCard", "copyCommentCard",
})
# ...and those that can change a task's state.
TRELLO_TASK_ACTIONS = frozenset({
    "updateCard", "addMemberToCard", "removeMemberFromCard", "deleteCard", "moveCardToBoard",
    "moveCardFromBoard",
})
JIRA_MEETING_EVENTS = frozenset({
    "comment_created", "comment_updated", "comment_deleted", "jira:issue_updated",
})
JIRA_TASK_EVENTS = frozenset({"jira:issue_updated", "jira:issue_deleted"})


@dataclass
class Work:
    """What to do: meetings to read again, and whether to pull task states."""

    meetings: set[int] = field(default_factory=set)
    pull_status: bool = False

    def __bool__(self) -> bool:
        return bool(self.meetings) or self.pull_status

    def merge(self, other: Work) -> None:
        self.meetings |= other.meetings
        self.pull_status = self.pull_status or other.pull_status


def meeting_for_item(app: App, *ids: str) -> int | None:
    """The state DB's id of the meeting made as this card/issue (by id or key), if any."""
    with app.store.session() as session:
        return session.scalar(select(Meeting.id).where(
            or_(Meeting.item_id.in_(ids), Meeting.item_key.in_(ids))).limit(1))
