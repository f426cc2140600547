"""Trello adapter (py-trello, plus its ``fetch_json`` for what it does not wrap cheaply).

Where the requests go (Trello allows 100 per 10 s per token, so they are counted):
- the board, its lists and members: one nested GET (two when the board is given by name);
- the meetings list's open cards, once per run: finds the meeting card and the template card;
- a new meeting card is ONE ``POST /1/cards`` copying the template card (``idCardSource`` +
  ``keepFromSource=checklists``) and setting name, desc, due and members in the same request.
  The template is a Trello template card (``isTemplate``) kept open in the meetings list, named
  ``planerka-template:<template>:<digest>``; it holds the checklists that are the same every
  time (the KPI blocks, an empty "Decisions" and "Topics") and is created once per template
  version (the previous version is archived). Earlier versions of planerka-sync kept it as an
  *archived* plain card: that card is left archived as it is (finding it would mean reading the
  board's archived cards) and a template card is built once in its place.
  py-trello's ``add_checklist`` would cost 1 + items + 5 requests per checklist instead;
- the status pull: the board request above with the open cards nested in it and, given a
  cursor, the ``updateCard:closed`` actions since then (the cards archived meanwhile, then read
  by id, 10 per ``/batch``). Trello answers at most 1,000 cards a request and refuses a nested
  ``cards=`` over that (``API_TOO_MANY_CARDS_REQUESTED``), so the cards are nested only on a
  board the last pull found under 900 open cards (remembered in the state DB). The first pull
  of a bigger board pages ``/boards/{id}/cards/open`` 1,000 at a time with ``before`` (card
  ids are time-ordered) and plans windows of card ids for the next one (800 cards each when
  planned, remembered too): the next pull reads the board and every window in one ``/batch``
  (10 routes a request), and pages on only in a window that has grown to 1,000. A full pull
  (no cursor) pages ``/boards/{id}/cards/closed`` the same way, so archived tasks are seen.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from trello import TrelloClient

from planerka_sync.config import TrelloTracker as TrelloConfig
from planerka_sync.domain.document import Document, Section
from planerka_sync.domain.model import (
    CATEGORY_OF_STATUS,
    Attachment,
    ChecklistEntry,
    CheckResult,
    Comment,
    ItemRef,
    MeetingDraft,
    MeetingSighting,
    MeetingSnapshot,
    TaskDraft,
    TaskPatch,
    TaskState,
    Webhook,
)
from planerka_sync.domain.texts import topic_lines
from planerka_sync.domain.workday import WorkingDay
from planerka_sync.errors import TrackerError, TrackerNotFound, TransientTrackerError
from planerka_sync.messages import t
from planerka_sync.render.budget import TRELLO_TEXT_LIMIT, trello_body
from planerka_sync.render.trello import Checklist
from planerka_sync.trackers.http import MaybeApplied, TrackerSession

TRELLO_API = "https://api.trello.com"
TEMPLATE_PREFIX = "planerka-template:"
INCOMPLETE_PREFIX = "planerka-template-incomplete:"
MARKER_PREFIX = "planerka:"
_ID = re.compile(r"^[0-9a-f]{24}$|^[A-Za-z0-9]{8}$")
_CARD_ID = re.compile(r"[0-9a-f]{24}")
ANNOTATION = " → "  # between a decision's text and its task's link
MEETING_MARKER = re.compile(
    rf"`{MARKER_PREFIX}meeting-(?P<series>[a-z0-9][a-z0-9_-]*)-(?P<start>\d{{8}}T\d{{4}}Z)`")
TASK_MARKER = re.compile(rf"`{MARKER_PREFIX}(planerka-d-[0-9a-f]+)`")
CARD_STATE_FIELDS = ("name,desc,idList,idMembers,due,dueComplete,closed,dateLastActivity,"
                     "shortUrl,url")
MEETING_CARD_FIELDS = "name,desc,closed,url,shortUrl,due,idMembers,isTemplate"
CARDS_PAGE = 1000  # the most cards Trello answers in one request
WINDOW = 800  # open cards a planned window holds: room to grow before it needs a second page
BATCH_MAX = 10  # routes per GET /1/batch
TOO_MANY_CARDS = "API_TOO_MANY_CARDS_REQUESTED"
TEMPLATE_DESC = ("planerka-sync: the agenda template new meeting cards are copied from. Keep it "
                 "in this list as a template card; do not delete.")
TOPIC_CHECKLISTS = ("темы", "topics")
FRESH_FOR = 30.0  # seconds a board-wide read stands for the board when looking markers up


@dataclass
class BoardLayout:
    board_id: str
    board_url: str
    lists: dict[str, str]  # name -> id
    members: dict[str, str]  # username -> member id
    meeting_cards: list[dict[str, Any]] | None = None
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)


def native_checklist(section: Section) -> bool:
    """Sections kept as real Trello checklists: fixed ones (copied from the template) and the
    ones the team writes into. The rest (round table, review) cost least in the description."""
    return section.static or section.collects


class TrelloAdapter:
    kind = "trello"

    def __init__(self, config: TrelloConfig, session: TrackerSession, *,
                 working_day: WorkingDay | None = None) -> None:
        self.config = config
        # Due dates are moments on Trello: the end of the team's working day in its zone (the
        # config's timezone and working_day_end; make_tracker passes them).
        self.working_day = working_day or WorkingDay.of()
        session.rewrite = (TRELLO_API, config.url.rstrip("/"))
        # py-trello sends api_secret as the `token` query parameter when no OAuth is set up.
        self.client = TrelloClient(
            api_key=config.api_key.get_secret_value(),
            api_secret=config.token.get_secret_value(),
            http_service=session,
        )
        self._layout: BoardLayout | None = None
        self._board_cards: list[dict[str, Any]] = []
        self._board_cards_at: float | None = None  # monotonic time of the board-wide read
        self._board_cards_complete = False  # that read included every archived card
        self._me: str | None = None  # the token's member's username, asked once
        # Remembered facts (the board's id); the service backs it with the state DB.
        self.memo: MutableMapping[str, str] = {}

    # --- plumbing ------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        return self.client.fetch_json(
            path, http_method=method, query_params=dict(params or {}), post_args=body, files=files
        )

    def layout(self) -> BoardLayout:
        if self._layout is None:
            self._layout = self._load_layout()
        return self._layout

    def _load_layout(self) -> BoardLayout:
        """The board, its lists and members in one request."""
        return _layout_of(self._board_request({}))

    def _board_request(self, nested: dict[str, str]) -> dict[str, Any]:
        """GET the board with its lists and members, plus what ``nested`` asks for (the status
        pull nests the open cards and recent archivings: a normal tick is this one request)."""
        data: dict[str, Any] = self._call("GET", f"/boards/{self._board_id()}",
                                          _board_params(nested))
        return data

    def _board_id(self) -> str:
        board = self.config.board
        return board if _ID.match(board) else self._board_id_by_name(board)

    def _meetings_list_cards(self) -> list[dict[str, Any]]:
        """The meetings list's open cards, template cards included, read once per run."""
        layout = self.layout()
        if layout.meeting_cards is None:
            list_id = self.list_id(self.config.meetings_list, "meetings_list")
            layout.meeting_cards = self._call("GET", f"/lists/{list_id}/cards", {
                "fields": MEETING_CARD_FIELDS,
            })
        return layout.meeting_cards

    def _meeting_cards(self) -> list[dict[str, Any]]:
        """Meeting cards: the meetings list's open cards but template cards (ours or the
        team's own), which are copied from and never are a meeting."""
        return [c for c in self._meetings_list_cards() if not _is_template(c)]

    def _template_cards(self) -> list[dict[str, Any]]:
        return [c for c in self._meetings_list_cards() if _is_template(c)]

    def _board_id_by_name(self, name: str) -> str:
        remembered = self.memo.get(f"trello:board-id:{name}")
        if remembered:
            return remembered
        boards = self._call("GET", "/members/me/boards", {"filter": "open", "fields": "name"})
        for candidate in boards:
            if candidate["name"].casefold() == name.casefold():
                # Boards are renamed rarely; the id is remembered so later runs skip this request.
                self.memo[f"trello:board-id:{name}"] = str(candidate["id"])
                return str(candidate["id"])
        names = ", ".join(sorted(b["name"] for b in boards)) or t("none", "нет")
        raise TrackerNotFound(t(f"Trello has no open board named {name!r} for this token "
                                f"(boards: {names}); fix tracker.board",
                                f"в Trello нет открытой доски {name!r}, доступной этому токену "
                                f"(доски: {names}); исправьте `tracker.board`"))

    def list_id(self, name: str, option: str) -> str:
        lists = self.layout().lists
        if name not in lists:
            board, known = self.config.board, ", ".join(lists)
            raise TrackerNotFound(t(f"board {board!r} has no list {name!r}; create it in Trello "
                                    f"or set tracker.{option} (lists: {known})",
                                    f"на доске {board!r} нет списка {name!r}; создайте его в "
                                    f"Trello или исправьте `tracker.{option}` (списки: {known})"))
        return lists[name]

    # --- protocol ------------------------------------------------------------------------------
    def check(self, accounts: Sequence[tuple[str, str | None]]) -> list[CheckResult]:
        """The board (credentials included), every list the config names - each once, with
        every option naming it - and each person's membership. ``accounts`` are in the
        order of the config's ``people``."""
        layout = self.layout()  # a token or board problem raises: the caller reports it
        board = self.config.board
        results = [CheckResult(f"board {board!r}: credentials and access", True,
                               id=f"board:{board}", area="board", options=("tracker.board",),
                               ru=(f"доска «{board}»: учётные данные и доступ", ""))]
        for name, options in self._list_references().items():
            results.append(CheckResult.among(
                name, list(layout.lists), area="list", options=options,
                what=(f"list {name!r}", f"список «{name}»"),
                missing=(f"board {board!r} has no list {name!r}",
                         f"на доске «{board}» нет списка «{name}»"),
                create=("create it in Trello", "создайте его в Trello")))
        results += [self._check_person(index, person, account)
                    for index, (person, account) in enumerate(accounts)]
        return results

    def _list_references(self) -> dict[str, list[str]]:
        """Each list the config names, with the options naming it, in the config's order."""
        config = self.config
        references: dict[str, list[str]] = {}
        for option, names in (("tracker.meetings_list", [config.meetings_list]),
                              ("tracker.tasks_list", [config.tasks_list]),
                              ("tracker.done_lists", config.done_lists),
                              ("tracker.status_map", list(config.status_map))):
            for name in names:
                options = references.setdefault(name, [])
                if option not in options:
                    options.append(option)
        return references

    def _check_person(self, index: int, person: str, account: str | None) -> CheckResult:
        option = f"people[{index}].trello"
        handle = f" @{account}" if account else ""
        row = CheckResult(f"{person}: Trello member{handle}", True, id=f"person:{person}",
                          area="person", options=(option,),
                          ru=(f"{person}: участник доски в Trello{handle}", ""))
        if account is None:
            return row.failed(f"add {option} (their Trello username)",
                              f"добавьте {option} (имя пользователя в Trello)")
        if account in self.layout().members:
            return row
        board = self.config.board
        return row.failed(f"invite @{account} to the board {board!r}, or fix {option}",
                          f"пригласите @{account} на доску «{board}» или исправьте {option}")

    def find_meeting(self, draft: MeetingDraft) -> ItemRef | None:
        marker = meeting_marker(draft)
        for card in self._meeting_cards():
            if card.get("closed"):
                continue
            if marker in (card.get("desc") or "") or card["name"] == draft.title:
                return _ref(card)
        return None

    def series_meetings(self, series_id: str) -> list[MeetingSighting]:
        """Open meeting cards whose marker names the series (the list read prepare makes)."""
        sightings = []
        for card in self._meeting_cards():
            found = MEETING_MARKER.search(card.get("desc") or "")
            if card.get("closed") or found is None or found.group("series") != series_id:
                continue
            start = datetime.strptime(found.group("start"), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
            sightings.append(MeetingSighting(_ref(card), starts_at=start))
        return sightings

    def me(self) -> str | None:
        if self._me is None:
            self._me = str(self._call("GET", "/members/me", {"fields": "username"})["username"])
        return self._me

    # The card read nests only the newest comments (Trello's default is 50, its maximum 1000);
    # 200 covers any ordinary meeting in that one request. A card with more is paged backwards
    # from the oldest comment seen, or decisions in old comments would vanish ("removed").
    NESTED_COMMENTS = 200
    COMMENTS_PAGE = 1000  # GET /cards/{id}/actions' largest limit

    def read_meeting(self, ref: ItemRef) -> MeetingSnapshot:
        card = self._call("GET", f"/cards/{ref.id}", {
            "fields": "name,desc,url,shortUrl", "checklists": "all",
            "attachments": "true", "attachment_fields": "name",
            "actions": "commentCard", "actions_limit": str(self.NESTED_COMMENTS),
        })
        self.layout().snapshots[ref.id] = card
        actions = list(card.get("actions", []))
        if len(actions) >= self.NESTED_COMMENTS:
            actions += self._older_comments(ref.id, before=actions[-1]["id"])
        comments = tuple(
            Comment(a["id"], a["data"].get("text", ""), a.get("memberCreator", {}).get("username"))
            for a in actions if a.get("type") == "commentCard"
        )
        topics = [i["name"] for cl in _topic_checklists(card) for i in cl.get("checkItems", [])]
        topics += [t for c in comments for t in topic_lines(c.text)]
        return MeetingSnapshot(
            ref=ref,
            topics=tuple(dict.fromkeys(topics)),
            comments=comments,
            attachments={a["name"]: a["id"] for a in card.get("attachments", [])},
            checklist=tuple(self._entries(card)),
        )

    def _older_comments(self, card_id: str, before: str) -> list[dict[str, Any]]:
        """Comments older than ``before``, newest first. ``before`` is an action id, so a
        comment written meanwhile neither shifts the pages nor is read twice; a short page
        means the oldest comment has been read."""
        found: list[dict[str, Any]] = []
        while True:
            page = self._call("GET", f"/cards/{card_id}/actions", {
                "filter": "commentCard", "limit": str(self.COMMENTS_PAGE), "before": before,
            })
            found += page
            if len(page) < self.COMMENTS_PAGE:
                return found
            before = page[-1]["id"]

    def _entries(self, card: dict[str, Any]) -> Iterator[ChecklistEntry]:
        usernames = {member_id: name for name, member_id in self.layout().members.items()}
        for checklist in card.get("checklists", []):
            for item in sorted(checklist.get("checkItems", []), key=lambda i: i.get("pos", 0)):
                yield ChecklistEntry(
                    section=checklist.get("name", ""), ref=item["id"], text=item["name"],
                    owner_account=usernames.get(item.get("idMember") or ""),
                    due=self._day(item.get("due")), done=item.get("state") == "complete",
                )

    def upsert_meeting(self, draft: MeetingDraft, existing: ItemRef | None) -> ItemRef:
        # The marker is inside the budget: a lost-state lookup searches the desc for it.
        body = trello_body(draft.document, native=native_checklist,
                           suffix=f"\n\n`{meeting_marker(draft)}`")
        native = [s for s in draft.document.sections if s.checklist and native_checklist(s)]
        pairs = list(zip(native, body.checklists, strict=True))
        # The template holds the fixed checklists and empty ones for the team to fill.
        template = [cl if section.static else Checklist(cl.name, ()) for section, cl in pairs]
        team_items = [cl for section, cl in pairs if not section.static and cl.items]
        fields = {
            "name": draft.title,
            "desc": body.desc,
            "due": draft.starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "idMembers": ",".join(self._member_ids(draft.members)),
        }
        if existing is not None:
            self._call("PUT", f"/cards/{existing.id}", body=fields)
            ref = existing
        else:
            card = self._call("POST", "/cards", body={
                **fields, "idList": self.list_id(self.config.meetings_list, "meetings_list"),
                "pos": "bottom", "idCardSource": self._template(draft.template_id, template),
                "keepFromSource": "checklists",
            })
            ref = _ref(card)
        if team_items:
            self._add_missing_items(ref.id, team_items)
        return ref

    # --- tasks and comments -------------------------------------------------------------------
    def create_task(self, draft: TaskDraft) -> ItemRef:
        body = trello_body(draft.description, suffix=f"\n\n`{MARKER_PREFIX}{draft.marker}`")
        card = self._call("POST", "/cards", body={
            "idList": self.list_id(self.config.tasks_list, "tasks_list"), "pos": "bottom",
            "name": draft.title[:TRELLO_TEXT_LIMIT], "desc": body.desc,
            "due": self._due(draft.due), "idMembers": ",".join(self._member_ids(
                [draft.owner_account] if draft.owner_account else [])),
        })
        return _ref(card)

    def link_task(self, task: ItemRef, meeting: ItemRef, *, verify: bool) -> None:
        """An attachment pointing at the meeting card, as Trello shows links between cards."""
        if verify:
            attached = self._call("GET", f"/cards/{task.id}/attachments", {"fields": "url"})
            if any(a.get("url") == meeting.url for a in attached):
                return
        self._call("POST", f"/cards/{task.id}/attachments",
                   params={"url": meeting.url, "name": "Планёрка / meeting"})

    def find_tasks(self, markers: Sequence[str]) -> dict[str, ItemRef]:
        """Task cards carrying any of the markers, archived ones included: the board-wide read
        the status pull just made when it is fresh (its open cards and recent archivings), the
        archived cards paged only for a marker still missing; else the board paged."""
        if not markers:
            return {}
        wanted = set(markers)
        cards = self._fresh_board_cards()
        if cards is None:
            cards = self._paged_cards("open")
        found = _with_markers(cards, wanted)
        if wanted - found.keys() and not (cards is self._board_cards
                                          and self._board_cards_complete):
            # A task archived before the last pull's cursor (another state DB made it).
            found = _with_markers(self._paged_cards("closed"), wanted) | found
        return found

    def _fresh_board_cards(self) -> list[dict[str, Any]] | None:
        """The cards of the last board-wide read if it is recent enough to stand for now: a
        sync pulls states and then looks markers up within seconds."""
        if self._board_cards_at is None or time.monotonic() - self._board_cards_at > FRESH_FOR:
            return None
        return self._board_cards

    def _paged_cards(self, card_filter: str, window: dict[str, str] | None = None
                     ) -> list[dict[str, Any]]:
        """The board's cards of ``card_filter`` (within ``window``: ``since``/``before`` card
        ids), newest first, 1,000 a request: each page is ``before`` the oldest card id seen
        (ids are time-ordered, so a card made meanwhile neither shifts the pages nor is read
        twice); a short page is the last."""
        params = {"fields": CARD_STATE_FIELDS, "limit": str(CARDS_PAGE), **(window or {})}
        found: list[dict[str, Any]] = []
        while True:
            page = self._call("GET", f"/boards/{self.layout().board_id}/cards/{card_filter}",
                              params)
            found += page
            if len(page) < CARDS_PAGE:
                return found
            params["before"] = min(str(c["id"]) for c in page)

    def _cards_by_id(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Cards read by id, 10 per /batch request; a card deleted meanwhile is left out."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), BATCH_MAX):
            urls = ",".join(f"/cards/{card_id}" for card_id in ids[start:start + BATCH_MAX])
            for answer in self._call("GET", "/batch", {"urls": urls}):
                found += [answer["200"]] if "200" in answer else []
        return found

    def update_task(self, ref: ItemRef, patch: TaskPatch) -> None:
        fields: dict[str, Any] = {}
        if patch.title is not None:
            fields["name"] = patch.title
        if patch.due is not None:
            fields["due"] = self._due(patch.due)
        if patch.owner_account is not None:
            fields["idMembers"] = ",".join(self._member_ids([patch.owner_account]))
        if fields:
            self._call("PUT", f"/cards/{ref.id}", body=fields)

    def put_comment(self, on: ItemRef, doc: Document, existing: str | None) -> str:
        text = trello_body(doc).desc
        if existing:
            self._call("PUT", f"/actions/{existing}/text", body={"value": text})
            return existing
        created = self._call("POST", f"/cards/{on.id}/actions/comments", body={"text": text})
        return str(created["id"])

    def annotate(self, meeting: ItemRef, entry: ChecklistEntry, task: ItemRef) -> None:
        """The decision's check item shows its task's link."""
        self._call("PUT", f"/cards/{meeting.id}/checkItem/{entry.ref}",
                   body={"name": f"{entry.text}{ANNOTATION}{task.url}"})

    # --- webhooks (WebhookAdmin) ------------------------------------------------------------
    def webhooks(self) -> list[Webhook]:
        """The token's webhooks that watch this board.

        Trello lists a token's webhooks only at ``/1/tokens/{token}/webhooks`` (``/members/me/
        tokens`` lists tokens, not their webhooks), so the token must sit in the path; http.py
        shows such a path as ``/1/tokens/***/webhooks`` in every message and log line."""
        token = self.config.token.get_secret_value()
        board = self.layout().board_id
        hooks = self._call("GET", f"/tokens/{token}/webhooks")
        return [_webhook(h) for h in hooks if h.get("idModel") == board]

    def add_webhook(self, url: str, secret: str | None) -> Webhook:
        """Trello HEADs ``url`` first and registers only if it answers 200; the app secret
        that signs deliveries is the API key's, so ``secret`` is not sent."""
        for hook in self.webhooks():
            if hook.url == url:
                return hook
        created = self._call("POST", "/webhooks", body={
            "callbackURL": url, "idModel": self.layout().board_id,
            "description": "planerka-sync: decisions and task status"})
        return _webhook(created)

    def remove_webhook(self, webhook_id: str) -> None:
        self._call("DELETE", f"/webhooks/{webhook_id}")

    def task_states(self, since: datetime | None) -> Iterator[TaskState]:
        """Every open task card's state, and the archived ones': those archived since ``since``
        or, without a cursor, all of them (the full pull notices tasks gone since)."""
        self._board_cards = self._status_cards(since)
        self._board_cards_at = time.monotonic()
        self._board_cards_complete = since is None
        layout = self.layout()
        lists = {list_id: name for name, list_id in layout.lists.items()}
        usernames = {member_id: name for name, member_id in layout.members.items()}
        for card in self._board_cards:
            marker = TASK_MARKER.search(card.get("desc") or "")
            if marker is None:
                continue
            list_name = lists.get(card.get("idList", ""), "")
            category = self._category(card, list_name)
            members = [usernames.get(m) for m in card.get("idMembers", [])]
            active = _moment(card.get("dateLastActivity"))
            yield TaskState(
                marker=marker.group(1), ref=_ref(card), title=card.get("name", ""),
                category=category, status_name=list_name or "archived",
                assignee=next((m for m in members if m), None), due=self._day(card.get("due")),
                done_at=active if category == "done" else None, updated_at=active,
            )

    def _status_cards(self, since: datetime | None) -> list[dict[str, Any]]:
        open_cards, archived = self._open_cards(since)
        if archived is None:
            closed = self._paged_cards("closed")
        else:
            seen = {str(c["id"]) for c in open_cards}  # archived, then restored: read already
            closed = [c for c in self._cards_by_id([i for i in archived if i not in seen])
                      if c.get("idBoard", self.layout().board_id) == self.layout().board_id]
        return open_cards + closed

    def _open_cards(self, since: datetime | None) -> tuple[list[dict[str, Any]], list[str] | None]:
        """The open cards, and the ids of the cards archived since ``since`` (None: unknown,
        all archived cards are to be read). Both ride on the board request when Trello allows:
        it refuses nested cards over 1,000, so they are nested only on a board the last pull
        found well under that (remembered); until then, and on a bigger board, they are paged."""
        nested: dict[str, str] = {}
        if since is not None:
            nested |= {"actions": "updateCard:closed", "actions_since": _iso(since),
                       "actions_limit": str(CARDS_PAGE), "action_fields": "data"}
        size_key = f"trello:open-cards-nested:{self.config.board}"
        windows_key = f"trello:open-card-windows:{self.config.board}"
        data: dict[str, Any] | None = None
        open_cards: list[dict[str, Any]] | None = None
        if self.memo.get(size_key) == "yes":
            try:
                data = self._board_request(nested | {"cards": "open",
                                                     "card_fields": CARD_STATE_FIELDS})
            except TrackerError as exc:
                if not _too_many_cards(exc):  # the board grew past 1,000 since the last pull
                    raise
        elif self.memo.get(windows_key):
            data, open_cards = self._board_in_windows(nested, self.memo[windows_key])
        if data is None:
            data = self._board_request(nested)
        self._layout = _layout_of(data)
        if open_cards is None:
            open_cards = data["cards"] if "cards" in data else self._paged_cards("open")
        # A margin under the limit, so a growing board switches to paging before a refusal.
        fits = "yes" if len(open_cards) < CARDS_PAGE * 0.9 else "no"
        if self.memo.get(size_key) != fits:
            self.memo[size_key] = fits
        windows = "" if fits == "yes" else _plan_windows(open_cards)
        if self.memo.get(windows_key, "") != windows:
            self.memo[windows_key] = windows
        actions = data.get("actions", [])
        if since is None or len(actions) >= CARDS_PAGE:
            return open_cards, None  # no cursor, or too many archivings to list: read them all
        ids = [a["data"]["card"]["id"] for a in actions if a.get("data", {}).get("card")]
        return open_cards, list(dict.fromkeys(ids))

    def _board_in_windows(self, nested: dict[str, str], plan: str
                          ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
        """The board request and its open cards in windows of card ids the last pull planned
        (each then held at most ``WINDOW`` cards), all in one ``/batch`` per 10 routes: a big
        board's tick is one request, not a board request and a page per 1,000 sequentially. A
        window that has grown to a full page is paged on; any route refused gives (None, None):
        the plain requests then say what is wrong."""
        windows = _windows(plan)
        if windows is None:
            return None, None
        board_id = self._board_id()
        routes = [_route(f"/boards/{board_id}", _board_params(nested))] + [
            _route(f"/boards/{board_id}/cards/open",
                   {"fields": CARD_STATE_FIELDS, "limit": str(CARDS_PAGE), **window})
            for window in windows]
        answers: list[dict[str, Any]] = []
        for start in range(0, len(routes), BATCH_MAX):
            answers += self._call("GET", "/batch",
                                  {"urls": ",".join(routes[start:start + BATCH_MAX])})
        if len(answers) != len(routes) or any("200" not in answer for answer in answers):
            return None, None
        data, *pages = (answer["200"] for answer in answers)
        self._layout = _layout_of(data)  # the paging below asks for the board's id
        cards: dict[str, dict[str, Any]] = {}
        for window, page in zip(windows, pages, strict=True):
            if len(page) >= CARDS_PAGE:
                page = page + self._paged_cards(
                    "open", {**window, "before": min(str(c["id"]) for c in page)})
            cards |= {str(c["id"]): c for c in page}  # a card moved in may sit in two windows
        return data, list(cards.values())

    def _category(self, card: dict[str, Any], list_name: str) -> str:
        if card.get("dueComplete") or list_name in self.config.done_lists:
            return "done"
        if card.get("closed") or not list_name:
            return "deleted"  # archived (or its list is) and not done: no longer being worked on
        mapped = self.config.status_map.get(list_name)
        if mapped:
            return CATEGORY_OF_STATUS[mapped]
        return "new" if list_name == self.config.tasks_list else "indeterminate"

    def attach(self, on: ItemRef, file: Attachment, replace: str | None) -> str:
        if replace:
            with contextlib.suppress(TrackerNotFound):  # someone removed it already
                self._call("DELETE", f"/cards/{on.id}/attachments/{replace}")
        created = self._call(
            "POST", f"/cards/{on.id}/attachments",
            params={"name": file.filename, "mimeType": file.mime_type},
            files={"file": (file.filename, file.content, file.mime_type)},
        )
        return str(created["id"])

    # --- helpers -------------------------------------------------------------------------------
    def _due(self, day: date | None) -> str | None:
        """A due date as Trello keeps it: the end of the team's working day on that date, in
        UTC (18:00 Moscow = 15:00Z by default)."""
        if day is None:
            return None
        moment = self.working_day.due_at(day)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _day(self, value: str | None) -> date | None:
        """The team's date of a due Trello gives back (a task's, or a check item's a person
        set): 23:00 in New York is tomorrow in UTC but today for the team."""
        moment = _moment(value)
        return self.working_day.day_of(moment) if moment else None

    def _member_ids(self, usernames: Sequence[str]) -> list[str]:
        members = self.layout().members
        return [members[u] for u in usernames if u in members]

    def _template(self, template_id: str, checklists: Sequence[Checklist]) -> str:
        """The template card holding the fixed checklists; one per template version."""
        name = f"{TEMPLATE_PREFIX}{template_id}:{_digest(checklists)}"
        for card in self._template_cards():
            if card["name"] == name and card.get("isTemplate"):
                return str(card["id"])
            if card["name"].startswith(INCOMPLETE_PREFIX):
                # A template whose creation was interrupted: its checklists may be partial.
                self._call("DELETE", f"/cards/{card['id']}")
                self._meetings_list_cards().remove(card)
        created = self._create_template(name, checklists)
        self._retire_templates(f"{TEMPLATE_PREFIX}{template_id}:", keep=created)
        return created

    def _retire_templates(self, prefix: str, keep: str) -> None:
        """Earlier versions of this template are archived once the new one is complete, as
        they always were: nothing copies them any more and the list stays readable."""
        for card in self._template_cards():
            if card["name"].startswith(prefix) and card["id"] != keep:
                self._call("PUT", f"/cards/{card['id']}", body={"closed": True})
                self._meetings_list_cards().remove(card)

    def _create_template(self, name: str, checklists: Sequence[Checklist]) -> str:
        """Built under a provisional name and renamed + made a template card last (one PUT), so
        only a complete template is ever copied. A step with an unknown outcome is not the
        meeting card's: the incomplete template is deleted and built again, so it is reported as
        plainly transient (the meeting item itself is not in doubt)."""
        try:
            return self._build_template(name, checklists)
        except MaybeApplied as exc:
            raise TransientTrackerError(t(f"{exc.message}; the agenda template is built again "
                                          "on the next run",
                                          f"{exc.message}; шаблон повестки будет собран заново "
                                          "при следующем запуске")) from None

    def _build_template(self, name: str, checklists: Sequence[Checklist]) -> str:
        list_id = self.list_id(self.config.meetings_list, "meetings_list")
        # At the top: the template heads the meetings list instead of sitting among meetings.
        card = self._call("POST", "/cards", body={
            "idList": list_id, "name": INCOMPLETE_PREFIX + name, "pos": "top",
            "desc": TEMPLATE_DESC,
        })
        for checklist in checklists:
            created = self._call("POST", f"/cards/{card['id']}/checklists",
                                 body={"name": checklist.name})
            for item in checklist.items:
                self._call("POST", f"/checklists/{created['id']}/checkItems",
                           body={"name": item.name, "checked": item.checked})
        # isTemplate is the card field Trello's own "Make template" sets (CardFields in the
        # spec; PUT /1/cards/{id} accepts it although the reference does not list it).
        self._call("PUT", f"/cards/{card['id']}", body={"name": name, "isTemplate": True})
        self._meetings_list_cards().append({**card, "name": name, "isTemplate": True})
        return str(card["id"])

    def _add_missing_items(self, card_id: str, checklists: Sequence[Checklist]) -> None:
        """Topics proposed in comments join the card's checklist of the same name, once."""
        card = self.layout().snapshots.get(card_id)
        if card is None:
            card = self._call("GET", f"/cards/{card_id}", {"checklists": "all", "fields": "name"})
        existing = {cl["name"]: cl for cl in card.get("checklists", [])}
        for checklist in checklists:
            target = existing.get(checklist.name)
            if target is None:
                continue
            have = {i["name"] for i in target.get("checkItems", [])}
            for item in checklist.items:
                if item.name not in have:
                    self._call("POST", f"/checklists/{target['id']}/checkItems",
                               body={"name": item.name, "checked": item.checked})


def meeting_marker(draft: MeetingDraft) -> str:
    """Deterministic per occurrence; found in the description when the state DB is lost."""
    start = draft.starts_at.astimezone(UTC)
    return f"{MARKER_PREFIX}meeting-{draft.series_id}-{start:%Y%m%dT%H%MZ}"


def _with_markers(cards: Sequence[dict[str, Any]], wanted: set[str]) -> dict[str, ItemRef]:
    found: dict[str, ItemRef] = {}
    for card in cards:
        marker = TASK_MARKER.search(card.get("desc") or "")
        if marker is not None and marker.group(1) in wanted:
            found.setdefault(marker.group(1), _ref(card))
    return found


def _board_params(nested: dict[str, str]) -> dict[str, str]:
    return {"fields": "name,url", "lists": "open", "list_fields": "name",
            "members": "all", "member_fields": "username,fullName", **nested}


def _route(path: str, params: dict[str, str]) -> str:
    """A route for ``/batch``'s comma-separated ``urls``: its own commas percent-encoded (as
    ``urlencode`` does), so only the separators are bare."""
    return f"{path}?{urlencode(params)}"


def _plan_windows(open_cards: Sequence[dict[str, Any]]) -> str:
    """Where the next pull splits the open cards: after every ``WINDOW`` cards from the oldest,
    the pair of adjacent card ids at the split (``older:newer,...``). Counted from the oldest so
    the splits stay put as cards are made; only the newest window grows."""
    ids = sorted(str(c["id"]) for c in open_cards)  # Trello ids: fixed-width hex, time-ordered
    return ",".join(f"{ids[i - 1]}:{ids[i]}" for i in range(WINDOW, len(ids), WINDOW))


def _windows(plan: str) -> list[dict[str, str]] | None:
    """The ``since``/``before`` bounds (exclusive) of the windows between the planned splits:
    each window runs from the older card of one split to the newer card of the next, so a card
    at a split is in exactly one window and none between two is missed. Every id is then in some
    window as long as each split's older id is below its newer one: a plan that is not so (the
    state DB edited by hand) is None, never a read that skips cards."""
    splits = [pair.split(":") for pair in plan.split(",") if pair]
    if not all(len(pair) == 2 and all(_CARD_ID.fullmatch(i) for i in pair) and pair[0] < pair[1]
               for pair in splits):
        return None
    bounds: list[dict[str, str]] = []
    since: str | None = None
    for older, newer in splits:
        bounds.append({"before": newer} | ({"since": since} if since else {}))
        since = older
    bounds.append({"since": since} if since else {})
    return bounds


def _layout_of(data: dict[str, Any]) -> BoardLayout:
    return BoardLayout(
        board_id=data["id"],
        board_url=data.get("url", ""),
        lists={lst["name"]: lst["id"] for lst in data.get("lists", [])},
        members={m["username"]: m["id"] for m in data.get("members", [])},
    )


def _is_template(card: dict[str, Any]) -> bool:
    """A Trello template card, or ours by its name (an interrupted build is not marked yet)."""
    return bool(card.get("isTemplate")) or card.get("name", "").startswith("planerka-template")


def _too_many_cards(exc: TrackerError) -> bool:
    return TOO_MANY_CARDS.casefold() in str(exc).casefold() or "too many cards" in str(exc).lower()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _topic_checklists(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [cl for cl in card.get("checklists", [])
            if cl.get("name", "").casefold().startswith(TOPIC_CHECKLISTS)]


def _digest(checklists: Sequence[Checklist]) -> str:
    payload = [[cl.name, [i.name for i in cl.items]] for cl in checklists]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:10]


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _ref(card: dict[str, Any]) -> ItemRef:
    return ItemRef(id=str(card["id"]), url=card.get("shortUrl") or card.get("url") or "")


def _webhook(hook: dict[str, Any]) -> Webhook:
    return Webhook(id=str(hook["id"]), url=str(hook.get("callbackURL", "")),
                   watches=str(hook.get("idModel", "")), active=bool(hook.get("active", True)))
