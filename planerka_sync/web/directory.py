"""The webhook fast path: what a delivery is about, told on the request thread without the DB.

A delivery is verified, then answered at once; the state DB is never asked on the way (a DB
that is locked, slow or unreachable must not make Trello or Jira wait, and a burst of deliveries
must not hold every HTTP worker on it). Here:

- :func:`trello_mention`, :func:`jira_mention`, :func:`automation_mention` read from the payload
  alone which card/issue it names and whether the event could concern a meeting (a comment, a
  checklist, the description) or a task (its list or status, members, deletion);
- :class:`Directory` is this process's memory of which tracker ids and keys are meetings and
  which are our tasks, loaded once when serving starts and grown by every lookup the worker
  makes and every task it creates. A known item's work is queued from the request thread;
  an item not known (yet) goes to the worker, which asks the DB (by the indexes of migration
  0005) and queues the work then. The directory only ever answers "known"; "not a meeting" is
  the DB's word alone, so a meeting created by another process is never missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from planerka_sync.service.app import App
from planerka_sync.service.events import (
    JIRA_MEETING_EVENTS,
    JIRA_TASK_EVENTS,
    TRELLO_MEETING_ACTIONS,
    TRELLO_TASK_ACTIONS,
    Work,
)
from planerka_sync.store.models import Decision, Meeting

log = logging.getLogger("planerka_sync.web")

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class Mention:
    """The card/issue an event names (its id and/or key) and what kind of change it reports."""

    source: str
    ids: tuple[str, ...] = ()
    meeting_event: bool = False
    task_event: bool = False

    def __bool__(self) -> bool:
        return bool(self.ids) and (self.meeting_event or self.task_event)


def trello_mention(payload: Any) -> Mention:
    action = payload.get("action") if isinstance(payload, dict) else None
    if not isinstance(action, dict):
        return Mention("trello")
    data = action.get("data") or {}
    card = data.get("card") if isinstance(data, dict) else None
    card_id = card.get("id") if isinstance(card, dict) else None
    if not isinstance(card_id, str) or not card_id:
        return Mention("trello")
    kind = str(action.get("type", ""))
    return Mention("trello", (card_id,), kind in TRELLO_MEETING_ACTIONS,
                   kind in TRELLO_TASK_ACTIONS)


def jira_mention(payload: Any) -> Mention:
    if not isinstance(payload, dict) or not isinstance(payload.get("issue"), dict):
        return Mention("jira")
    event = str(payload.get("webhookEvent", ""))
    return Mention("jira", _issue_ids(payload["issue"]), event in JIRA_MEETING_EVENTS,
                   event in JIRA_TASK_EVENTS)


def automation_mention(payload: Any) -> Mention:
    """A Jira Automation "Send web request" with the issue data: the issue may be a meeting
    (a comment was added) or a task (it was updated); which, the state DB says."""
    if not isinstance(payload, dict):
        return Mention("automation")
    nested = payload.get("issue")
    issue: dict[str, Any] = nested if isinstance(nested, dict) else payload
    return Mention("automation", _issue_ids(issue), True, True)


def _issue_ids(issue: dict[str, Any]) -> tuple[str, ...]:
    issue_id, key = issue.get("id"), issue.get("key")
    found = [str(issue_id) if issue_id else None, key if isinstance(key, str) else None]
    return tuple(v for v in found if v)


class Directory:
    """Tracker ids/keys known to be meetings (-> the meeting's row id) or our tasks."""

    def __init__(self) -> None:
        self._meetings: dict[str, int] = {}
        self._tasks: set[str] = set()
        self._lock = threading.Lock()

    def known_work(self, mention: Mention) -> Work | None:
        """The work a mention asks for if its item is known here; None if it is not (only the
        DB can say, so the worker asks it). Never touches the DB."""
        with self._lock:
            if mention.meeting_event:
                meeting = next((self._meetings[i] for i in mention.ids if i in self._meetings),
                               None)
                if meeting is not None:
                    return Work(meetings={meeting})
            if mention.task_event and any(i in self._tasks for i in mention.ids):
                return Work(pull_status=True)
        return None

    def remember_tasks(self, ids: Iterable[str | None]) -> None:
        with self._lock:
            self._tasks.update(i for i in ids if i)

    # --- reading the DB: at start, and in the worker's thread -----------------------------------
    def load(self, app: App) -> None:
        """Every meeting item and task the DB knows (once, when serving starts)."""
        with app.store.session() as session:
            meetings = session.execute(select(Meeting.id, Meeting.item_id, Meeting.item_key).where(
                or_(Meeting.item_id.is_not(None), Meeting.item_key.is_not(None)))).all()
            tasks = session.execute(select(Decision.task_id, Decision.task_key).where(
                or_(Decision.task_id.is_not(None), Decision.task_key.is_not(None)))).all()
        with self._lock:
            for meeting_id, item_id, item_key in meetings:
                self._meetings.update({i: meeting_id for i in (item_id, item_key) if i})
            self._tasks.update(i for row in tasks for i in row if i)

    def resolve(self, app: App, mentions: Iterable[Mention]) -> dict[Mention, Work]:
        """Ask the DB about the items of ``mentions`` (a few indexed queries for all of them),
        remember what it knows, and say what each mention asks for (empty: nothing)."""
        mentions = [m for m in mentions if m]
        asked = sorted({i for m in mentions for i in m.ids})
        meetings: dict[str, int] = {}
        tasks: set[str] = set()
        with app.store.session() as session:
            for start in range(0, len(asked), _CHUNK):
                chunk = asked[start:start + _CHUNK]
                for meeting_id, item_id, item_key in session.execute(
                        select(Meeting.id, Meeting.item_id, Meeting.item_key).where(
                            or_(Meeting.item_id.in_(chunk), Meeting.item_key.in_(chunk)))):
                    meetings.update({i: meeting_id for i in (item_id, item_key) if i})
                for task_id, task_key in session.execute(
                        select(Decision.task_id, Decision.task_key).where(
                            or_(Decision.task_id.in_(chunk), Decision.task_key.in_(chunk)))):
                    tasks.update(i for i in (task_id, task_key) if i)
        with self._lock:
            self._meetings.update(meetings)
            self._tasks.update(tasks)
        return {m: self.known_work(m) or Work() for m in mentions}

    def __len__(self) -> int:
        with self._lock:
            return len(self._meetings) + len(self._tasks)
