"""What a tracker's webhook event asks planerka-sync to do.

An event about a meeting item (a comment, a checklist item, the description) means "read this
meeting's decisions again"; an event about one of our tasks (its list or status, due date,
members, deletion) means "pull task states". Everything else is acknowledged and ignored. The
lookups are by tracker id in the state DB, so any replica can route any event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from planerka_sync.service.app import App
from planerka_sync.store.models import Decision, Meeting

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


def trello_work(app: App, payload: Any) -> Work:
    action = payload.get("action") if isinstance(payload, dict) else None
    if not isinstance(action, dict):
        return Work()
    data = action.get("data") or {}
    card = data.get("card") if isinstance(data, dict) else None
    card_id = card.get("id") if isinstance(card, dict) else None
    if not isinstance(card_id, str):
        return Work()
    kind = str(action.get("type", ""))
    return _work_for(app, card_id, None,
                     meeting_event=kind in TRELLO_MEETING_ACTIONS,
                     task_event=kind in TRELLO_TASK_ACTIONS)


def jira_work(app: App, payload: Any) -> Work:
    if not isinstance(payload, dict):
        return Work()
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        return Work()
    event = str(payload.get("webhookEvent", ""))
    return _work_for(app, *_issue_ids(issue), meeting_event=event in JIRA_MEETING_EVENTS,
                     task_event=event in JIRA_TASK_EVENTS)


def automation_work(app: App, payload: Any) -> Work:
    """A Jira Automation "Send web request" with the issue data: the issue may be a meeting
    (a comment was added) or a task (it was updated); which, the state DB says."""
    if not isinstance(payload, dict):
        return Work()
    nested = payload.get("issue")
    issue: dict[str, Any] = nested if isinstance(nested, dict) else payload
    return _work_for(app, *_issue_ids(issue), meeting_event=True, task_event=True)


def _issue_ids(issue: dict[str, Any]) -> tuple[str | None, str | None]:
    issue_id, key = issue.get("id"), issue.get("key")
    return (str(issue_id) if issue_id else None), (key if isinstance(key, str) else None)


def _work_for(app: App, item_id: str | None, key: str | None, *, meeting_event: bool,
              task_event: bool) -> Work:
    ids = [v for v in (item_id, key) if v]
    if not ids:
        return Work()
    if meeting_event:
        meeting = meeting_for_item(app, *ids)
        if meeting is not None:
            return Work(meetings={meeting})
    if task_event:
        with app.store.session() as session:
            task = session.scalar(select(Decision.id).where(
                or_(Decision.task_id.in_(ids), Decision.task_key.in_(ids))).limit(1))
        if task is not None:
            return Work(pull_status=True)
    return Work()


def meeting_for_item(app: App, *ids: str) -> int | None:
    """The state DB's id of the meeting made as this card/issue (by id or key), if any."""
    with app.store.session() as session:
        return session.scalar(select(Meeting.id).where(
            or_(Meeting.item_id.in_(ids), Meeting.item_key.in_(ids))).limit(1))
