"""A loopback emulator of the Trello REST API v1 (``https://api.trello.com/1``).

It follows Atlassian's Trello REST reference (paths, parameters, response shapes, plain-text
errors) closely enough that py-trello and our adapter cannot tell it from the real service for
what planerka-sync uses: members, boards with nested resources, lists, cards (copying a template
card with ``idCardSource``), checklists with native check-item members and due dates, comments,
attachments, actions with ``since``/``before`` cursors, ``/batch``, webhooks and rate limits.

Authentication: ``key`` and ``token`` in the query string, a urlencoded/JSON/multipart body, or
an ``Authorization: OAuth oauth_consumer_key="..", oauth_token=".."`` header (py-trello signs
with OAuth 1; the signature is not checked).

Seed format (a JSON object; every key optional)::

    {
      "members": [{"id": "<24 hex>", "username": "anna", "fullName": "Анна", "email": "..."}],
      "credentials": [{"key": "k", "token": "t", "member": "anna"}],   # absent: any key+token
      "organization": {"name": "marketing-workspace", "displayName": "Marketing"},  # Workspace
      "boards": [{
        "id": "<24 hex>", "name": "Marketing", "desc": "", "closed": false,
        "members": ["anna", "ivan"],                  # usernames or ids; default: every member
        "labels": [{"name": "KPI", "color": "green"}],  # default: Trello's six blank labels
        "lists": [{"id": "...", "name": "To Do", "closed": false}],     # or plain names
        "cards": [{
          "id": "...", "name": "Планёрка", "list": "To Do",  # list name or id (default: first)
          "desc": "", "due": "2026-01-12T07:00:00.000Z", "start": null, "dueComplete": false,
          "closed": false, "members": ["ivan"], "labels": ["KPI"],      # label name/color/id
          "checklists": [{"name": "Decisions", "items": [
              {"name": "Отчёт", "state": "incomplete", "due": "...", "member": "ivan"}]}],
          "comments": [{"text": "...", "member": "anna", "date": "2026-01-05T10:00:00Z"}],
          "attachments": [{"name": "a.txt", "content": "text", "mimeType": "text/plain"},
                          {"name": "link", "url": "https://example.org"}]
        }],
        "generate": {"cards": 1000, "list": "To Do", "checklists": 0, "items": 0}
      }],
      "generate": {"cards": 1000, "list": "To Do", "board": "Marketing"}   # bulk cards
    }

Objects without an ``id`` get one; seeded ids carry the timestamp 2024-01-01, later ones the
emulator clock (``self.now()``), so ids order like Trello's (the first 8 hex digits are the
creation time). ``self.db`` stays JSON-serialisable (uploaded bytes are kept base64-encoded).

Options: ``rate_limit`` (100 requests / 10 s per token, 300 per key -> 429),
``webhook_head_check`` (HEAD the callback on webhook creation), ``deliver_webhooks`` (POST
actions to callbacks in a background thread, signed with ``app_secret``), ``web_url`` (the host
of card/board ``url`` fields, default https://trello.com).

Where ``core.Emulator`` differs from Trello this module overrides it: ``_dispatch`` (trailing
slashes, 403 for a GET with a body, plain-text 404s, rate limits, sub-requests for ``/batch``)
and ``reset`` (also clears the rate-limit windows).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import queue
import re
import string
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import requests

from planerka_sync.sandbox import seed as demo
from planerka_sync.sandbox.core import (
    JSON,
    Emulator,
    HttpError,
    MultipartPart,
    Request,
    Response,
    Route,
    courier_loop,
    route,
)

Obj = dict[str, Any]

WEB_URL = "https://trello.com"
SEED_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z: the creation time of seeded objects
POS_STEP = 16384.0
RATE_WINDOW = 10.0
TOKEN_LIMIT = 100
KEY_LIMIT = 300
BATCH_MAX = 10
ACTIONS_MAX = 1000
# A nested ``actions=`` returns the newest 50 unless ``actions_limit`` (at most 1000) says
# otherwise: older comments need GET /1/cards/{id}/actions?before=... to be seen at all.
NESTED_ACTIONS_DEFAULT = 50
TEXT_MAX = 16384
# Board card listings answer at most 1,000 cards (``limit`` at most 1000; page with ``before``,
# card ids being time-ordered). A nested ``cards=`` cannot be paged, so more than that is refused
# as Trello refuses it; a plain listing without ``limit`` is capped at the newest 1,000 (what
# Trello answers there is not documented: a cap loses cards just as visibly to a client that
# does not page).
CARDS_MAX = 1000
TOO_MANY_CARDS = {"error": "API_TOO_MANY_CARDS_REQUESTED", "message": "Requested too many cards"}
NOT_FOUND = "The requested resource was not found."
MODEL_NOT_FOUND = "model not found"
NO_PERMISSION = "unauthorized permission requested"
HEX24 = re.compile(r"[0-9a-fA-F]{24}")
SHORT_LINK = re.compile(r"[0-9A-Za-z]{8}")
OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
LABEL_COLORS = ("green", "yellow", "orange", "red", "purple", "blue")
ALL_COLORS = (*LABEL_COLORS, "black", "sky", "pink", "lime")
KEEP_FROM_SOURCE = frozenset(
    {
        "attachments",
        "checklists",
        "comments",
        "customFields",
        "due",
        "start",
        "labels",
        "members",
        "stickers",
    }
)
CARD_ACTIONS_DEFAULT = "commentCard,updateCard:idList"  # the reference's default filter
MEMBER_SUMMARY = (
    "activityBlocked",
    "avatarHash",
    "avatarUrl",
    "fullName",
    "idMemberReferrer",
    "initials",
    "nonPublic",
    "nonPublicAvailable",
    "username",
)
BOARD_DEFAULT_FIELDS = (
    "name,desc,descData,closed,idOrganization,pinned,url,shortUrl,prefs,labelNames"
)
# What CloudFront answers for a GET with a body (Trello sits behind it).
CLOUDFRONT_403 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<HTML><HEAD><TITLE>ERROR: '
    "The request could not be satisfied</TITLE></HEAD><BODY>\n<H1>403 ERROR</H1>\n<H2>The request "
    "could not be satisfied.</H2>\nBad request. We can't connect to the server for this app or "
    "website at this time.\n</BODY></HTML>"
)

ID = r"(?P<id>[^/]+)"
CARD_FIELDS_RW = (
    "name|desc|closed|idList|idBoard|due|start|dueComplete|pos|subscribed|idAttachmentCover"
)
CARD_FIELDS_RO = (
    CARD_FIELDS_RW + "|badges|dateLastActivity|idShort|idMembers|idLabels|idChecklists|labels|"
    "shortLink|shortUrl|url|descData"
)
BOARD_FIELDS = (
    "name|desc|descData|closed|url|shortUrl|shortLink|dateLastActivity|idOrganization|labelNames|"
    "prefs|pinned"
)
LIST_FIELDS = "name|closed|pos|idBoard|subscribed"
ACTION_FIELDS = "data|date|type|idMemberCreator|display"
MEMBER_FIELDS = "username|fullName|initials|email|idBoards|url|bio|avatarUrl|confirmed|status"
WEBHOOK_FIELDS = (
    "active|callbackURL|description|idModel|consecutiveFailures|firstConsecutiveFailDate"
)


# --- small pure helpers ---------------------------------------------------------------------------


def iso(t: float) -> str:
    """Trello's timestamp format: UTC with milliseconds and a Z."""
    return (
        datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(t * 1000) % 1000:03d}Z"
    )


def parse_when(value: str, name: str) -> float:
    """An ISO date or date-time (naive = UTC) as epoch seconds; 400 like Trello otherwise."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise HttpError(400, f"invalid value for {name}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def id_time(object_id: str) -> int:
    """The creation time a Trello id carries in its first four bytes."""
    return int(object_id[:8], 16)


def short_link(object_id: str) -> str:
    """A deterministic 8-character shortLink for an id."""
    digest = int(hashlib.sha1(object_id.encode()).hexdigest(), 16)
    alphabet = string.ascii_letters + string.digits
    out = []
    for _ in range(8):
        digest, rest = divmod(digest, 62)
        out.append(alphabet[rest])
    return "".join(out)


def slug(name: str) -> str:
    words = re.sub(r"[^\w]+", "-", name.lower()).strip("-")
    return quote(words[:128] or "card")


def initials(full_name: str) -> str:
    return "".join(part[0] for part in full_name.split()[:3]).upper()


def pick(obj: Obj, fields: list[str] | None) -> Obj:
    """The requested fields of an object (``None`` = all); ``id`` is always returned."""
    if fields is None:
        return obj
    out: Obj = {"id": obj["id"]} if "id" in obj else {}
    out.update({f: obj[f] for f in fields if f in obj})
    return out


def parse_oauth(header: str | None) -> dict[str, str]:
    """The parameters of an ``Authorization: OAuth k="v", ...`` header."""
    if not header or not header.lower().startswith("oauth "):
        return {}
    return {k: unquote(v) for k, v in OAUTH_PARAM.findall(header)}


def sign_webhook(secret: str, body: bytes, callback_url: str) -> str:
    """X-Trello-Webhook: base64(HMAC-SHA1(app secret, body + callbackURL))."""
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Params:
    """Request parameters merged from the query string and a urlencoded, JSON or multipart body,
    as Trello reads them; values from JSON keep their types (null, booleans, numbers)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        return name in self.values

    def given(self, name: str) -> bool:
        """Present with a value: py-trello sends null, "" (and due "null") for 'not set'."""
        return self.values.get(name) not in (None, "", "null")

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, MultipartPart):
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        lowered = str(value).lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise HttpError(400, f"invalid value for {name}")

    def number(self, name: str, default: int) -> int:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(float(str(value)))
        except ValueError as exc:
            raise HttpError(400, f"invalid value for {name}") from exc

    def ids(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value in (None, "", "null"):
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]

    def fields(self, name: str, default: str = "all") -> list[str] | None:
        """A ``fields`` list; ``None`` means all."""
        value = self.text(name) or default
        if value == "all":
            return None
        return [f.strip() for f in value.split(",") if f.strip()]


@dataclass(frozen=True)
class CardView:
    """How cards are rendered: fields and nested resources (``checklists=all`` ...)."""

    fields: list[str] | None = None
    checklists: bool = False
    attachments: bool = False
    members: bool = False
    member_fields: list[str] | None = None
    check_item_states: bool = False
    actions: str | None = None
    actions_limit: int = NESTED_ACTIONS_DEFAULT

    @classmethod
    def of(cls, p: Params, prefix: str = "", fields: str = "all") -> CardView:
        """Read ``fields``/``checklists``/... (or ``card_fields``/``card_checklists``/...)."""
        attachments = p.text(f"{prefix}attachments", "false") or "false"
        return cls(
            fields=p.fields(f"{prefix}fields", fields),
            checklists=(p.text(f"{prefix}checklists", "none") or "none") != "none",
            attachments=attachments not in ("false", "none"),
            members=p.flag(f"{prefix}members"),
            member_fields=p.fields(
                f"{prefix}member_fields", "avatarHash,fullName,initials,username"
            ),
            check_item_states=p.flag("checkItemStates"),
            actions=p.text(f"{prefix}actions") if not prefix else None,
            actions_limit=_nested_actions_limit(p) if not prefix else NESTED_ACTIONS_DEFAULT,
        )


def _nested_actions_limit(p: Params) -> int:
    limit = p.number("actions_limit", NESTED_ACTIONS_DEFAULT)
    if not 0 <= limit <= ACTIONS_MAX:
        raise HttpError(400, "invalid value for actions_limit")
    return limit


@dataclass
class Delivery:
    """One webhook POST waiting for the courier thread."""

    webhook_id: str
    url: str
    body: bytes
    signature: str


# --- the emulator ---------------------------------------------------------------------------------


class TrelloEmulator(Emulator):
    """Trello REST v1 on loopback; objects live in ``self.db`` as Trello-shaped dicts."""

    flavour = "trello"

    def __init__(self, seed: JSON | None = None, options: dict[str, Any] | None = None) -> None:
        self._ctx = threading.local()
        self._seeding = False
        self._windows: dict[str, deque[float]] = {}
        self._outbox: queue.Queue[Delivery] = queue.Queue()
        self._courier: threading.Thread | None = None
        self.deliveries: list[dict[str, Any]] = []
        super().__init__(seed, options)

    # --- seed ---------------------------------------------------------------------------------
    def default_seed(self) -> JSON:
        members = [
            {
                "id": p["trello_id"],
                "username": p["trello_username"],
                "fullName": p["name"],
                "email": p["email"],
            }
            for p in demo.DEFAULT_PEOPLE
        ]
        board = {"name": demo.TRELLO_BOARD_NAME, "lists": list(demo.TRELLO_LISTS)}
        return {"members": members, "boards": [board]}

    def load_seed(self, seed: JSON) -> None:
        if not isinstance(seed, dict):
            raise HttpError(400, {"error": "a Trello seed is a JSON object"})
        self.db = {
            "seq": 0,
            "members": {},
            "boards": {},
            "lists": {},
            "cards": {},
            "checklists": {},
            "labels": {},
            "actions": {},
            "attachments": {},
            "webhooks": {},
            "organizations": {},
            "credentials": list(seed.get("credentials") or []),
        }
        self._ctx.member = None  # a control request's thread may still carry an old actor
        self._seeding = True
        try:
            for member in seed.get("members", []):
                self._seed_member(member)
            self._seed_organization(seed.get("organization") or {})
            boards = [self._seed_board(b) for b in seed.get("boards", [])]
            if seed.get("generate"):
                spec = seed["generate"]
                board = self._seed_ref_board(spec.get("board"), boards)
                self._generate(board, spec)
        except (KeyError, TypeError, ValueError) as exc:
            raise HttpError(400, {"error": f"bad Trello seed: {exc!r}"}) from exc
        finally:
            self._seeding = False

    def _seed_organization(self, spec: Obj) -> Obj:
        """The Workspace every board belongs to (Trello no longer has boards outside one)."""
        org_id = spec.get("id") or self._new_id()
        display = spec.get("displayName") or demo.TRELLO_BOARD_NAME
        org = {
            "id": org_id,
            "name": spec.get("name") or slug(display).lower() + "-workspace",
            "displayName": display,
            "desc": spec.get("desc", ""),
            "idMembers": list(self.db["members"]),
        }
        self.db["organizations"][org_id] = org
        return org

    def _seed_member(self, spec: Obj) -> Obj:
        member_id = spec.get("id") or self._new_id()
        full_name = spec.get("fullName") or spec["username"]
        member = {
            "id": member_id,
            "username": spec["username"],
            "fullName": full_name,
            "initials": spec.get("initials") or initials(full_name),
            "email": spec.get("email"),
        }
        self.db["members"][member_id] = member
        return member

    def _seed_board(self, spec: Obj) -> Obj:
        refs = spec.get("members")
        members = (
            [self._member_ref(r) for r in refs]
            if refs is not None
            else list(self.db["members"].values())
        )
        creator = members[0]["id"] if members else None
        board = self._make_board(
            spec["name"], spec.get("desc", ""), [m["id"] for m in members], creator, spec.get("id")
        )
        board["closed"] = bool(spec.get("closed", False))
        for label in spec.get("labels") or [{"name": "", "color": c} for c in LABEL_COLORS]:
            self._make_label(board, label.get("name", ""), label.get("color"), label.get("id"))
        for item in spec.get("lists", []):
            item = {"name": item} if isinstance(item, str) else item
            lst = self._make_list(board, item["name"], "bottom", item.get("id"))
            lst["closed"] = bool(item.get("closed", False))
        for card in spec.get("cards", []):
            self._seed_card(board, card)
        if spec.get("generate"):
            self._generate(board, spec["generate"])
        return board

    def _seed_ref_board(self, ref: str | None, boards: list[Obj]) -> Obj:
        for board in boards:
            if ref in (None, board["id"], board["name"]):
                return board
        raise ValueError(f"generate: no board {ref!r}")

    def _seed_list(self, board: Obj, ref: str | None) -> Obj:
        lists = self._board_lists(board["id"])
        for lst in lists:
            if ref in (None, lst["id"], lst["name"]):
                return lst
        raise ValueError(f"no list {ref!r} on board {board['name']!r}")

    def _seed_card(self, board: Obj, spec: Obj) -> Obj:
        lst = self._seed_list(board, spec.get("list"))
        labels = [self._seed_label(board, ref)["id"] for ref in spec.get("labels", [])]
        card = self._make_card(
            lst, spec.get("name", ""), spec.get("desc", ""), "bottom", spec.get("id")
        )
        card.update(
            due=self._date_or_none(spec.get("due"), "due"),
            start=self._date_or_none(spec.get("start"), "start"),
            dueComplete=bool(spec.get("dueComplete", False)),
            closed=bool(spec.get("closed", False)),
            isTemplate=bool(spec.get("isTemplate", False)),
            idMembers=[self._member_ref(r)["id"] for r in spec.get("members", [])],
            idLabels=labels,
        )
        self._record("createCard", self._card_data(card), self._actor_id())
        for checklist in spec.get("checklists", []):
            self._seed_checklist(card, checklist)
        for comment in spec.get("comments", []):
            self._seed_comment(card, comment)
        for attachment in spec.get("attachments", []):
            content = attachment.get("content")
            data = content.encode() if isinstance(content, str) else None
            self._add_attachment(
                card,
                attachment.get("name"),
                attachment.get("url"),
                data,
                attachment.get("mimeType"),
            )
        return card

    def _seed_label(self, board: Obj, ref: str) -> Obj:
        for label in self._board_labels(board["id"]):
            if ref in (label["id"], label["name"]) or (not label["name"] and ref == label["color"]):
                return label
        return self._make_label(board, ref, None)

    def _seed_checklist(self, card: Obj, spec: Obj) -> None:
        checklist = self._make_checklist(card, spec.get("name", "Checklist"), "bottom")
        for item in spec.get("items", []):
            item = {"name": item} if isinstance(item, str) else item
            state = item.get("state") or ("complete" if item.get("checked") else "incomplete")
            member = self._member_ref(item["member"])["id"] if item.get("member") else None
            self._make_check_item(
                checklist,
                item["name"],
                "bottom",
                state,
                self._date_or_none(item.get("due"), "due"),
                member,
            )

    def _seed_comment(self, card: Obj, spec: Obj) -> None:
        author = self._member_ref(spec["member"])["id"] if spec.get("member") else self._actor_id()
        action = self._add_comment(card, spec["text"], author)
        if spec.get("date"):
            action["date"] = iso(parse_when(spec["date"], "date"))

    def _generate(self, board: Obj, spec: Obj) -> None:
        """Bulk cards: ``{"cards": N, "list": name, "checklists": k, "items": m}``."""
        lst = self._seed_list(board, spec.get("list"))
        for n in range(int(spec.get("cards", 0))):
            card = self._make_card(
                lst, f"{spec.get('prefix', 'Generated card')} {n + 1}", "", "bottom"
            )
            for c in range(int(spec.get("checklists", 0))):
                checklist = self._make_checklist(card, f"Checklist {c + 1}", "bottom")
                for i in range(int(spec.get("items", 0))):
                    self._make_check_item(
                        checklist, f"Item {i + 1}", "bottom", "incomplete", None, None
                    )

    def _member_ref(self, ref: str) -> Obj:
        """A member by id or username (seeds and credentials use either)."""
        if ref in self.db["members"]:
            found: Obj = self.db["members"][ref]
            return found
        for member in self.db["members"].values():
            if member["username"] == ref:
                return member
        raise ValueError(f"no member {ref!r}")

    # --- ids, time, actions ---------------------------------------------------------------------
    def _time(self) -> float:
        return float(SEED_EPOCH) if self._seeding else self.now()

    def _new_id(self) -> str:
        """Like a Mongo ObjectId: creation time, then a counter (so ids sort by creation)."""
        self.db["seq"] += 1
        return f"{int(self._time()):08x}{self.db['seq']:016x}"

    def _actor_id(self) -> str | None:
        """The authenticated member; while seeding, the default actor (or the first member)."""
        member = getattr(self._ctx, "member", None)
        if member is not None:
            return str(member)
        with contextlib.suppress(ValueError):
            return str(self._member_ref(demo.DEFAULT_ACTOR)["id"])
        return next(iter(self.db["members"]), None)

    def _record(self, kind: str, data: Obj, member_id: str | None = None) -> Obj:
        """Store a Trello action, touch dateLastActivity, and queue webhook deliveries."""
        action_id = self._new_id()
        action: Obj = {
            "id": action_id,
            "idMemberCreator": member_id or self._actor_id(),
            "data": data,
            "type": kind,
            "date": iso(self._time()),
        }
        self.db["actions"][action_id] = action
        self._touch(data, action["date"])
        self._notify(action)
        return action

    def _touch(self, data: Obj, when: str) -> None:
        card = self.db["cards"].get((data.get("card") or {}).get("id", ""))
        if card is not None:
            card["dateLastActivity"] = when
        board = self.db["boards"].get((data.get("board") or {}).get("id", ""))
        if board is not None:
            board["dateLastActivity"] = when

    def _board_ref(self, board_id: str) -> Obj:
        board = self.db["boards"][board_id]
        return {"id": board["id"], "name": board["name"], "shortLink": board["shortLink"]}

    def _list_ref(self, list_id: str) -> Obj:
        lst = self.db["lists"][list_id]
        return {"id": lst["id"], "name": lst["name"]}

    def _card_ref(self, card: Obj) -> Obj:
        return {
            "id": card["id"],
            "name": card["name"],
            "idShort": card["idShort"],
            "shortLink": card["shortLink"],
        }

    def _card_data(self, card: Obj) -> Obj:
        return {
            "card": self._card_ref(card),
            "board": self._board_ref(card["idBoard"]),
            "list": self._list_ref(card["idList"]),
        }

    # --- making objects -------------------------------------------------------------------------
    def _make_board(
        self,
        name: str,
        desc: str,
        members: list[str],
        creator: str | None,
        board_id: str | None = None,
    ) -> Obj:
        board_id = board_id or self._new_id()
        board = {
            "id": board_id,
            "name": name,
            "desc": desc,
            "closed": False,
            "idOrganization": next(iter(self.db["organizations"]), None),
            "idMemberCreator": creator,
            "pinned": False,
            "shortLink": short_link(board_id),
            "dateLastActivity": iso(self._time()),
            "idMembers": list(members),
            "permissionLevel": "private",
            "nextIdShort": 1,
        }
        self.db["boards"][board_id] = board
        return board

    def _make_label(
        self, board: Obj, name: str, color: str | None, label_id: str | None = None
    ) -> Obj:
        label_id = label_id or self._new_id()
        label = {"id": label_id, "idBoard": board["id"], "name": name or "", "color": color}
        self.db["labels"][label_id] = label
        return label

    def _make_list(self, board: Obj, name: str, pos: Any, list_id: str | None = None) -> Obj:
        siblings = [lst["pos"] for lst in self._board_lists(board["id"])]
        list_id = list_id or self._new_id()
        lst = {
            "id": list_id,
            "name": name,
            "closed": False,
            "idBoard": board["id"],
            "pos": self._position(pos, siblings),
            "subscribed": False,
        }
        self.db["lists"][list_id] = lst
        return lst

    def _make_card(
        self, lst: Obj, name: str, desc: str, pos: Any, card_id: str | None = None
    ) -> Obj:
        board = self.db["boards"][lst["idBoard"]]
        siblings = [c["pos"] for c in self.db["cards"].values() if c["idList"] == lst["id"]]
        card_id = card_id or self._new_id()
        card = {
            "id": card_id,
            "name": name,
            "desc": desc or "",
            "closed": False,
            "idBoard": board["id"],
            "idList": lst["id"],
            "idMembers": [],
            "idLabels": [],
            "idChecklists": [],
            "idAttachments": [],
            "comments": 0,
            "due": None,
            "start": None,
            "dueComplete": False,
            "dueReminder": None,
            "pos": self._position(pos, siblings),
            "idShort": board["nextIdShort"],
            "shortLink": short_link(card_id),
            "dateLastActivity": iso(self._time()),
            "idAttachmentCover": None,
            "subscribed": False,
            "isTemplate": False,
        }
        board["nextIdShort"] += 1
        self.db["cards"][card_id] = card
        return card

    def _make_checklist(
        self, card: Obj, name: str, pos: Any, checklist_id: str | None = None
    ) -> Obj:
        siblings = [self.db["checklists"][c]["pos"] for c in card["idChecklists"]]
        checklist_id = checklist_id or self._new_id()
        checklist = {
            "id": checklist_id,
            "name": name,
            "idBoard": card["idBoard"],
            "idCard": card["id"],
            "pos": self._position(pos, siblings),
            "checkItems": [],
        }
        self.db["checklists"][checklist_id] = checklist
        card["idChecklists"].append(checklist_id)
        return checklist

    def _make_check_item(
        self,
        checklist: Obj,
        name: str,
        pos: Any,
        state: str,
        due: str | None,
        member: str | None,
        reminder: Any = None,
    ) -> Obj:
        item = {
            "id": self._new_id(),
            "name": name,
            "nameData": None,
            "pos": self._position(pos, [i["pos"] for i in checklist["checkItems"]]),
            "state": state,
            "due": due,
            "dueReminder": reminder,
            "idMember": member,
            "idChecklist": checklist["id"],
        }
        checklist["checkItems"].append(item)
        checklist["checkItems"].sort(key=lambda i: i["pos"])
        return item

    @staticmethod
    def _position(pos: Any, siblings: list[float]) -> float:
        """``top``/``bottom``/a positive number, as Trello places new objects."""
        if pos in (None, "", "bottom"):
            return (max(siblings) if siblings else 0.0) + POS_STEP
        if pos == "top":
            return min(siblings) / 2 if siblings else POS_STEP
        try:
            value = float(pos)
        except (TypeError, ValueError) as exc:
            raise HttpError(400, "invalid value for pos") from exc
        if value < 0:
            raise HttpError(400, "invalid value for pos")
        return value

    def _date_or_none(self, value: Any, name: str) -> str | None:
        if value in (None, "", "null"):
            return None
        return iso(parse_when(str(value), name))

    # --- lookups and permissions ----------------------------------------------------------------
    def _get(self, kind: str, ref: str | None, missing: str = MODEL_NOT_FOUND) -> Obj:
        """An object by id (cards, boards also by shortLink); 400 'invalid id' / 404 like Trello."""
        table: dict[str, Obj] = self.db[kind]
        if ref and HEX24.fullmatch(ref):
            found = table.get(ref.lower())
            if found is None:
                raise HttpError(404, missing)
            return found
        if ref and kind in ("cards", "boards") and SHORT_LINK.fullmatch(ref):
            for obj in table.values():
                if obj["shortLink"] == ref:
                    return obj
            raise HttpError(404, missing)
        raise HttpError(400, "invalid id")

    def _board(self, ref: str | None) -> Obj:
        board = self._get("boards", ref, NOT_FOUND)
        self._require_access(board)
        return board

    def _card(self, ref: str | None) -> Obj:
        card = self._get("cards", ref, NOT_FOUND)
        self._require_access(self.db["boards"][card["idBoard"]])
        return card

    def _list(self, ref: str | None) -> Obj:
        lst = self._get("lists", ref)
        self._require_access(self.db["boards"][lst["idBoard"]])
        return lst

    def _checklist(self, ref: str | None) -> Obj:
        checklist = self._get("checklists", ref)
        self._require_access(self.db["boards"][checklist["idBoard"]])
        return checklist

    def _require_access(self, board: Obj) -> None:
        """Private boards are visible to their members only (401, as Trello answers)."""
        actor = getattr(self._ctx, "member", None)
        if board["permissionLevel"] != "public" and actor not in board["idMembers"]:
            raise HttpError(401, NO_PERMISSION)

    def _member(self, ref: str) -> Obj:
        if ref == "me":
            return self.db["members"][self._ctx.member]
        if HEX24.fullmatch(ref):
            found = self.db["members"].get(ref.lower())
        else:
            found = next((m for m in self.db["members"].values() if m["username"] == ref), None)
        if found is None:
            raise HttpError(404, MODEL_NOT_FOUND)
        return found

    def _board_member(self, board: Obj, member_id: str | None, param: str) -> str:
        if not member_id or member_id not in board["idMembers"]:
            raise HttpError(400, f"invalid value for {param}")
        return member_id

    def _board_lists(self, board_id: str) -> list[Obj]:
        lists = [lst for lst in self.db["lists"].values() if lst["idBoard"] == board_id]
        return sorted(lists, key=lambda lst: lst["pos"])

    def _board_labels(self, board_id: str) -> list[Obj]:
        return [label for label in self.db["labels"].values() if label["idBoard"] == board_id]

    def _check_item(self, card: Obj, item_id: str) -> tuple[Obj, Obj]:
        for checklist_id in card["idChecklists"]:
            checklist = self.db["checklists"][checklist_id]
            for item in checklist["checkItems"]:
                if item["id"] == item_id:
                    return checklist, item
        if not HEX24.fullmatch(item_id):
            raise HttpError(400, "invalid id")
        raise HttpError(404, MODEL_NOT_FOUND)

    # --- rendering ------------------------------------------------------------------------------
    def _web(self) -> str:
        return str(self.options.get("web_url") or WEB_URL).rstrip("/")

    def _member_json(self, member: Obj, fields: list[str] | None = None) -> Obj:
        is_me = member["id"] == getattr(self._ctx, "member", None)
        boards = [b["id"] for b in self.db["boards"].values() if member["id"] in b["idMembers"]]
        orgs = [k for k, o in self.db["organizations"].items() if member["id"] in o["idMembers"]]
        avatar = hashlib.md5(member["id"].encode()).hexdigest()
        full = {
            "id": member["id"],
            "activityBlocked": False,
            "avatarHash": avatar,
            "avatarUrl": f"https://trello-members.s3.amazonaws.com/{member['id']}/{avatar}",
            "bio": "",
            "bioData": {"emoji": {}},
            "confirmed": True,
            "fullName": member["fullName"],
            "idEnterprisesDeactivated": [],
            "idMemberReferrer": None,
            "idPremOrgsAdmin": [],
            "initials": member["initials"],
            "memberType": "normal",
            "nonPublic": {},
            "nonPublicAvailable": True,
            "products": [],
            "url": f"{self._web()}/{member['username']}",
            "username": member["username"],
            "status": "disconnected",
            "email": member.get("email") if is_me else None,
            "idBoards": boards,
            "idOrganizations": orgs,
            "loginTypes": ["password"],
            "oneTimeMessagesDismissed": [],
            "trophies": [],
            "premiumFeatures": [],
            "idBoardsPinned": None,
        }
        return pick(full, fields)

    def _member_summary(self, member_id: str | None) -> Obj | None:
        member = self.db["members"].get(member_id or "")
        return self._member_json(member, list(MEMBER_SUMMARY)) if member else None

    def _board_json(self, board: Obj, fields: list[str] | None) -> Obj:
        memberships = [
            {
                "id": f"{m[:8]}{board['id'][8:16]}{m[16:]}",
                "idMember": m,
                "memberType": "admin" if m == board["idMemberCreator"] else "normal",
                "unconfirmed": False,
                "deactivated": False,
            }
            for m in board["idMembers"]
        ]
        full = {
            "id": board["id"],
            "name": board["name"],
            "desc": board["desc"],
            "descData": None,
            "closed": board["closed"],
            "idOrganization": board["idOrganization"],
            "idEnterprise": None,
            "idMemberCreator": board["idMemberCreator"],
            "pinned": board["pinned"],
            "url": f"{self._web()}/b/{board['shortLink']}/{slug(board['name'])}",
            "shortUrl": f"{self._web()}/b/{board['shortLink']}",
            "shortLink": board["shortLink"],
            "prefs": {
                "permissionLevel": board["permissionLevel"],
                "comments": "members",
                "voting": "disabled",
                "invitations": "members",
                "selfJoin": True,
                "cardCovers": True,
                "isTemplate": False,
                "hideVotes": False,
            },
            "labelNames": {
                c: next(
                    (lb["name"] for lb in self._board_labels(board["id"]) if lb["color"] == c), ""
                )
                for c in ALL_COLORS
            },
            "starred": False,
            "subscribed": False,
            "memberships": memberships,
            "dateLastActivity": board["dateLastActivity"],
            "dateLastView": board["dateLastActivity"],
            "limits": {},
        }
        return pick(full, fields)

    def _list_json(self, lst: Obj, fields: list[str] | None = None) -> Obj:
        full = {
            "id": lst["id"],
            "name": lst["name"],
            "closed": lst["closed"],
            "color": None,
            "idBoard": lst["idBoard"],
            "pos": lst["pos"],
            "subscribed": lst["subscribed"],
        }
        return pick(full, fields)

    def _label_json(self, label: Obj, fields: list[str] | None = None) -> Obj:
        uses = sum(1 for c in self.db["cards"].values() if label["id"] in c["idLabels"])
        return pick({**label, "uses": uses}, fields)

    def _check_item_json(self, item: Obj) -> Obj:
        return dict(item)

    def _checklist_json(self, checklist: Obj, fields: list[str] | None = None) -> Obj:
        full = {
            **checklist,
            "checkItems": [self._check_item_json(i) for i in checklist["checkItems"]],
            "limits": {},
        }
        out = pick(full, fields)
        out.setdefault("checkItems", full["checkItems"])
        return out

    def _badges(self, card: Obj) -> Obj:
        items = [i for c in card["idChecklists"] for i in self.db["checklists"][c]["checkItems"]]
        dues = sorted(i["due"] for i in items if i["due"] and i["state"] != "complete")
        return {
            "attachmentsByType": {"trello": {"board": 0, "card": 0}},
            "location": False,
            "votes": 0,
            "viewingMemberVoted": False,
            "subscribed": card["subscribed"],
            "fogbugz": "",
            "checkItems": len(items),
            "checkItemsChecked": sum(1 for i in items if i["state"] == "complete"),
            "checkItemsEarliestDue": dues[0] if dues else None,
            "comments": card["comments"],
            "attachments": len(card["idAttachments"]),
            "description": bool(card["desc"]),
            "due": card["due"],
            "dueComplete": card["dueComplete"],
            "start": card["start"],
        }

    def _card_json(self, card: Obj, view: CardView | None = None) -> Obj:
        view = view or CardView()
        labels = [dict(self.db["labels"][i]) for i in card["idLabels"]]
        web = self._web()
        full = {
            "id": card["id"],
            "badges": self._badges(card),
            "checkItemStates": [],
            "closed": card["closed"],
            "dueComplete": card["dueComplete"],
            "dateLastActivity": card["dateLastActivity"],
            "desc": card["desc"],
            "descData": {"emoji": {}},
            "due": card["due"],
            "dueReminder": card["dueReminder"],
            "idBoard": card["idBoard"],
            "idChecklists": list(card["idChecklists"]),
            "idList": card["idList"],
            "idMembers": list(card["idMembers"]),
            "idMembersVoted": [],
            "idShort": card["idShort"],
            "idAttachmentCover": card["idAttachmentCover"],
            "labels": labels,
            "idLabels": list(card["idLabels"]),
            "manualCoverAttachment": False,
            "name": card["name"],
            "pos": card["pos"],
            "shortLink": card["shortLink"],
            "shortUrl": f"{web}/c/{card['shortLink']}",
            "start": card["start"],
            "subscribed": card["subscribed"],
            "url": f"{web}/c/{card['shortLink']}/{card['idShort']}-{slug(card['name'])}",
            "cover": {
                "idAttachment": None,
                "color": None,
                "idUploadedBackground": None,
                "size": "normal",
                "brightness": "dark",
            },
            # A Trello template card (set with PUT isTemplate=true); cards copied from it are not.
            "isTemplate": bool(card.get("isTemplate", False)),
            "cardRole": None,
        }
        out = pick(full, view.fields)
        self._nest_card(out, card, view)
        return out

    def _nest_card(self, out: Obj, card: Obj, view: CardView) -> None:
        if view.checklists:
            out["checklists"] = self._card_checklists(card)
        if view.attachments:
            out["attachments"] = [
                self._attachment_json(self.db["attachments"][a]) for a in card["idAttachments"]
            ]
        if view.members:
            out["members"] = [
                self._member_json(self.db["members"][m], view.member_fields)
                for m in card["idMembers"]
            ]
        if view.check_item_states:
            out["checkItemStates"] = self._check_item_states(card)
        if view.actions:
            found = self._card_actions(card, view.actions)[: view.actions_limit]
            out["actions"] = self._render_actions(found)

    def _card_checklists(self, card: Obj) -> list[Obj]:
        checklists = [self.db["checklists"][c] for c in card["idChecklists"]]
        return [self._checklist_json(c) for c in sorted(checklists, key=lambda c: c["pos"])]

    def _check_item_states(self, card: Obj) -> list[Obj]:
        items = [i for c in card["idChecklists"] for i in self.db["checklists"][c]["checkItems"]]
        return [
            {"idCheckItem": i["id"], "state": "complete"} for i in items if i["state"] == "complete"
        ]

    def _attachment_json(self, attachment: Obj, fields: list[str] | None = None) -> Obj:
        full = {k: v for k, v in attachment.items() if k not in ("data", "idCard")}
        if attachment["isUpload"]:
            full["url"] = (
                f"{self.base_url}/1/cards/{attachment['idCard']}/attachments/"
                f"{attachment['id']}/download/{quote(attachment['fileName'])}"
            )
        return pick(full, fields)

    def _action_json(self, action: Obj, creator: bool = True) -> Obj:
        out = {**action, "appCreator": None, "limits": {}}
        if creator:
            out["memberCreator"] = self._member_summary(action["idMemberCreator"])
        if action["type"] == "commentCard":
            out["limits"] = {
                "reactions": {
                    "perAction": {"status": "ok", "disableAt": 900, "warnAt": 720},
                    "uniquePerAction": {"status": "ok", "disableAt": 17, "warnAt": 14},
                }
            }
        return out

    def _render_actions(self, actions: Iterable[Obj], creator: bool = True) -> list[Obj]:
        return [self._action_json(a, creator) for a in actions]

    def _webhook_json(self, webhook: Obj) -> Obj:
        return {k: v for k, v in webhook.items() if k != "token"}

    # --- action queries -------------------------------------------------------------------------
    @staticmethod
    def _action_filter(spec: str) -> Callable[[Obj], bool]:
        """``all`` or a comma list of ``type`` / ``type:field`` (field changed in data.old)."""
        wanted = [w.strip() for w in spec.split(",") if w.strip()]
        if "all" in wanted:
            return lambda action: True

        def matches(action: Obj) -> bool:
            for want in wanted:
                kind, _, changed = want.partition(":")
                if action["type"] == kind and (
                    not changed or changed in action["data"].get("old", {})
                ):
                    return True
            return False

        return matches

    def _cursor(self, value: str | None, name: str) -> Callable[[Obj], str | float] | None:
        """``since``/``before`` take an object id or a date; returns the key to compare by."""
        if not value or value == "null":
            return None
        if HEX24.fullmatch(value):
            return lambda obj: str(obj["id"])
        parse_when(value, name)
        return lambda obj: (
            parse_when(obj["date"], "date") if "date" in obj else float(id_time(obj["id"]))
        )

    def _window(self, objs: list[Obj], p: Params) -> list[Obj]:
        """Apply since/before (exclusive), newest first."""
        for name, keep in (("since", lambda a, b: a > b), ("before", lambda a, b: a < b)):
            raw = p.text(name)
            key = self._cursor(raw, name)
            if key is None or raw is None:
                continue
            bound: str | float = raw.lower() if HEX24.fullmatch(raw) else parse_when(raw, name)
            objs = [o for o in objs if keep(key(o), bound)]
        return sorted(objs, key=lambda o: o["id"], reverse=True)

    def _limit(self, p: Params, default: int = 50) -> int:
        limit = p.number("limit", default)
        if not 0 <= limit <= ACTIONS_MAX:
            raise HttpError(400, "invalid value for limit")
        return limit

    def _page(self, objs: list[Obj], p: Params) -> list[Obj]:
        limit = self._limit(p)
        page = p.number("page", 0)
        return objs[page * limit : page * limit + limit]

    def _card_actions(self, card: Obj, spec: str) -> list[Obj]:
        wanted = self._action_filter(spec)
        found = [
            a
            for a in self.db["actions"].values()
            if a["data"].get("card", {}).get("id") == card["id"] and wanted(a)
        ]
        return sorted(found, key=lambda a: a["id"], reverse=True)

    # --- webhook deliveries ---------------------------------------------------------------------
    def _models_of(self, action: Obj) -> set[str]:
        data = action["data"]
        ids = {action["idMemberCreator"]}
        for key in ("board", "card", "list", "listBefore", "listAfter", "checklist"):
            if isinstance(data.get(key), dict):
                ids.add(data[key].get("id"))
        return {i for i in ids if i}

    def _notify(self, action: Obj) -> None:
        """Queue the action for every active webhook watching one of its models."""
        if self._seeding or not self.options.get("deliver_webhooks"):
            return
        models = self._models_of(action)
        secret = str(self.options.get("app_secret", "sandbox-secret"))
        for hook in self.db["webhooks"].values():
            if not hook["active"] or hook["idModel"] not in models:
                continue
            payload = {
                "action": self._action_json(action),
                "model": self._model_json(hook["idModel"]),
            }
            body = json.dumps(payload, ensure_ascii=False).encode()
            signature = sign_webhook(secret, body, hook["callbackURL"])
            self._outbox.put(Delivery(hook["id"], hook["callbackURL"], body, signature))
        self._start_courier()

    def _model_json(self, model_id: str) -> Obj | None:
        if model_id in self.db["boards"]:
            return self._board_json(self.db["boards"][model_id], None)
        if model_id in self.db["cards"]:
            return self._card_json(self.db["cards"][model_id])
        if model_id in self.db["lists"]:
            return self._list_json(self.db["lists"][model_id])
        if model_id in self.db["members"]:
            return self._member_json(self.db["members"][model_id])
        return None

    def _start_courier(self) -> None:
        if self._courier is None or not self._courier.is_alive():
            self._courier = threading.Thread(
                target=self._courier_loop, name="trello-webhooks", daemon=True
            )
            self._courier.start()

    def _courier_loop(self) -> None:
        courier_loop(self._outbox, self.shutting_down, self._deliver)

    def _deliver(self, delivery: Delivery) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Trello-Webhook": delivery.signature,
            "User-Agent": "Trello",
        }
        try:
            status = requests.post(
                delivery.url, data=delivery.body, headers=headers, timeout=5
            ).status_code
        except requests.RequestException as exc:
            status = 0
            error = repr(exc)
        else:
            error = ""
        with self.lock:
            self.deliveries.append(
                {
                    "webhook": delivery.webhook_id,
                    "url": delivery.url,
                    "status": status,
                    "error": error,
                }
            )
            hook = self.db["webhooks"].get(delivery.webhook_id)
            if hook is not None:
                failed = not 200 <= status < 300
                hook["consecutiveFailures"] = hook["consecutiveFailures"] + 1 if failed else 0
                if failed and hook["firstConsecutiveFailDate"] is None:
                    hook["firstConsecutiveFailDate"] = iso(self.now())
                if not failed:
                    hook["firstConsecutiveFailDate"] = None

    # --- request machinery (overrides of core) --------------------------------------------------
    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._windows.clear()
            self.deliveries.clear()

    def _params(self, req: Request) -> Params:
        values: dict[str, Any] = {k: v[0] for k, v in req.query.items() if v}
        ctype = (req.header("Content-Type", "") or "").lower()
        if req.body and "json" in ctype:
            try:
                body = json.loads(req.body)
            except ValueError as exc:
                raise HttpError(400, "Invalid JSON") from exc
            if isinstance(body, dict):
                values.update(body)
        elif req.body and "x-www-form-urlencoded" in ctype:
            values.update(req.form())
        elif req.body and ctype.startswith("multipart/form-data"):
            for part in req.multipart():
                values[part.name] = (
                    part
                    if part.filename is not None or part.name == "file"
                    else (part.data.decode("utf-8", "replace"))
                )
        return Params(values)

    def authenticate(self, req: Request) -> Response | None:
        try:
            p = self._params(req)
        except HttpError as err:
            return err.response
        oauth = parse_oauth(req.header("Authorization"))
        key = p.text("key") or oauth.get("oauth_consumer_key")
        token = p.text("token") or oauth.get("oauth_token")
        if not key:
            return Response(401, "invalid key")
        if not token:
            return Response(401, NO_PERMISSION)
        with self.lock:
            member, problem = self._member_for(key, token)
        if member is None:
            return Response(401, problem)
        self._ctx.member, self._ctx.key, self._ctx.token = member, key, token
        return None

    def _member_for(self, key: str, token: str) -> tuple[str | None, str]:
        """The member a key+token acts as, or None and Trello's complaint."""
        credentials = self.db["credentials"]
        if credentials:
            if not any(c.get("key") == key for c in credentials):
                return None, "invalid key"
            match = next(
                (c for c in credentials if c.get("key") == key and c.get("token") == token), None
            )
            if match is None:
                return None, "invalid token"
            ref = match.get("member", demo.DEFAULT_ACTOR)
        else:
            ref = demo.DEFAULT_ACTOR
        try:
            return str(self._member_ref(ref)["id"]), ""
        except ValueError:
            return None, "invalid token"

    def _rate_limited(self) -> Response | None:
        """Trello's limits: 100 requests / 10 s per token, 300 per key; 429, no Retry-After."""
        if not self.options.get("rate_limit"):
            return None
        now = self.now()
        scopes = (
            (f"token:{self._ctx.token}", TOKEN_LIMIT, "API_TOKEN_LIMIT_EXCEEDED"),
            (f"key:{self._ctx.key}", KEY_LIMIT, "API_KEY_LIMIT_EXCEEDED"),
        )
        with self.lock:
            windows = [self._windows.setdefault(name, deque()) for name, _, _ in scopes]
            for window, (_, limit, code) in zip(windows, scopes, strict=True):
                while window and window[0] <= now - RATE_WINDOW:
                    window.popleft()
                if len(window) >= limit:
                    message = f"Rate limit exceeded: {limit} requests per {RATE_WINDOW:g} seconds"
                    return Response(429, {"error": code, "message": message})
            for window in windows:
                window.append(now)
        return None

    def _match(self, method: str, path: str) -> tuple[Route, re.Match[str]] | None:
        for r in self._routes:
            if r.method == method:
                match = r.pattern.match(path)
                if match:
                    return r, match
        return None

    def _dispatch(self, req: Request) -> Response:
        """Trello's front door: CloudFront's 403 for a GET with a body, trailing slashes
        tolerated, plain-text 404s for unknown routes, auth, then rate limits."""
        if req.method == "GET" and req.body:
            return Response(403, CLOUDFRONT_403, content_type="text/html")
        self._ctx.member = self._ctx.key = self._ctx.token = None
        req = replace(req, path=req.path.rstrip("/") or "/")
        found = self._match(req.method, req.path)
        if found is None:
            return Response(404, f"Cannot {req.method} {req.path}")
        matched, match = found
        if matched.auth:
            denied = self.authenticate(req) or self._rate_limited()
            if denied is not None:
                return denied
        return self._invoke(matched, match, req)

    def _invoke(self, matched: Route, match: re.Match[str], req: Request) -> Response:
        req.params = match.groupdict()
        try:
            with self.lock:
                result = getattr(self, matched.handler_name)(req)
        except HttpError as err:
            return err.response
        return result if isinstance(result, Response) else Response(200, result)

    # === routes ===================================================================================

    # --- members --------------------------------------------------------------------------------
    @route("GET", rf"/1/members/{ID}")
    def get_member(self, req: Request) -> JSON:
        p = self._params(req)
        out = self._member_json(self._member(req.params["id"]), p.fields("fields"))
        if (p.text("boards") or "none") != "none":
            out["boards"] = self._member_boards(
                self._member(req.params["id"]), p.text("boards") or "all", p.fields("board_fields")
            )
        return out

    @route("GET", rf"/1/members/{ID}/boards(?:/(?P<filter>[a-z]+))?")
    def member_boards(self, req: Request) -> JSON:
        p = self._params(req)
        member = self._member(req.params["id"])
        board_filter = req.params.get("filter") or p.text("filter") or "all"
        boards = self._member_boards(member, board_filter, p.fields("fields"))
        if (p.text("lists") or "none") != "none":
            for out in boards:
                out["lists"] = self._lists_of(out["id"], p.text("lists") or "open", None)
        return boards

    def _member_boards(self, member: Obj, board_filter: str, fields: list[str] | None) -> list[Obj]:
        wanted = {"all", "members", "open", "closed"} & set(board_filter.split(","))
        if not wanted:
            return []
        boards = [b for b in self.db["boards"].values() if member["id"] in b["idMembers"]]
        if wanted == {"open"}:
            boards = [b for b in boards if not b["closed"]]
        elif wanted == {"closed"}:
            boards = [b for b in boards if b["closed"]]
        return [self._board_json(b, fields) for b in boards]

    @route("GET", rf"/1/members/{ID}/cards(?:/(?P<filter>[a-z]+))?")
    def member_cards(self, req: Request) -> JSON:
        member = self._member(req.params["id"])
        p = self._params(req)
        cards = [c for c in self.db["cards"].values() if member["id"] in c["idMembers"]]
        cards = self._filter_cards(cards, req.params.get("filter") or p.text("filter") or "visible")
        view = CardView.of(p)
        return [self._card_json(c, view) for c in cards]

    @route("GET", rf"/1/members/{ID}/(?P<field>{MEMBER_FIELDS})")
    def member_field(self, req: Request) -> JSON:
        member = self._member_json(self._member(req.params["id"]))
        return {"_value": member[req.params["field"]]}

    # --- workspaces -----------------------------------------------------------------------------
    @route("GET", rf"/1/organizations/{ID}")
    def get_organization(self, req: Request) -> JSON:
        org = self._get("organizations", req.params["id"])
        if self._ctx.member not in org["idMembers"]:
            raise HttpError(401, NO_PERMISSION)
        boards = [b["id"] for b in self.db["boards"].values() if b["idOrganization"] == org["id"]]
        full = {
            "id": org["id"],
            "name": org["name"],
            "displayName": org["displayName"],
            "desc": org["desc"],
            "url": f"{self._web()}/w/{org['name']}",
            "website": None,
            "idBoards": boards,
            "products": [],
            "powerUps": [],
        }
        return pick(full, self._params(req).fields("fields"))

    # --- search (GET /1/search) ---------------------------------------------------------------
    # Trello's search is a full-text index; the sandbox matches words instead: every term of the
    # query (a "quoted phrase" is one term) must occur as a whole word, or as a word's start with
    # partial=true, in a card's or board's name or description, or a member's or workspace's
    # names. Search operators (board:, is:, @me ...) are not emulated: they match as plain words.
    # Only boards the caller is a member of are searched; archived cards and boards are left out.
    @route("GET", r"/1/search")
    def search(self, req: Request) -> JSON:
        p = self._params(req)
        query = (p.text("query") or "").strip()
        if not query:
            raise HttpError(400, "invalid value for query")
        terms = self._search_terms(query)
        partial = p.flag("partial")
        models = self._search_models(req)

        def hit(*texts: str) -> bool:
            return self._search_match(terms, " ".join(t for t in texts if t), partial)

        boards = self._searchable_boards(self._multi(req, "idBoards"))
        out: JSON = {"options": {"terms": [{"text": t} for t in terms], "modifiers": [],
                                 "modelTypes": models, "partial": partial}}
        if "cards" in models:
            cards = [c for b in boards for c in self._cards_of(b["id"])
                     if not c["closed"] and hit(c["name"], c["desc"])]
            view = CardView.of(p, "card_")
            out["cards"] = [self._card_json(c, view)
                            for c in cards[: self._search_limit(p, "cards_limit", 10)]]
        if "boards" in models:
            found = [b for b in boards if hit(b["name"], b.get("desc") or "")]
            fields = p.fields("board_fields", "name,idOrganization")
            out["boards"] = [self._board_json(b, fields)
                             for b in found[: self._search_limit(p, "boards_limit", 10)]]
        if "members" in models:
            members = [m for m in self.db["members"].values()
                       if hit(m.get("fullName") or "", m.get("username") or "")]
            fields = p.fields("member_fields", "avatarHash,fullName,initials,username,confirmed")
            out["members"] = [self._member_json(m, fields)
                              for m in members[: self._search_limit(p, "members_limit", 8)]]
        if "organizations" in models:
            orgs = [o for o in self.db["organizations"].values()
                    if self._ctx.member in o["idMembers"] and hit(o["name"], o["displayName"])]
            fields = p.fields("organization_fields", "name,displayName")
            out["organizations"] = [
                pick({"id": o["id"], "name": o["name"], "displayName": o["displayName"],
                      "desc": o["desc"], "url": f"{self._web()}/w/{o['name']}"}, fields)
                for o in orgs[: self._search_limit(p, "organizations_limit", 10)]]
        if "actions" in models:
            out["actions"] = []  # comments and other actions are not indexed by the sandbox
        return out

    @staticmethod
    def _multi(req: Request, name: str) -> list[str]:
        """A list parameter sent either repeated (py-trello, requests) or comma-separated."""
        return [item.strip() for value in req.query.get(name) or []
                for item in value.split(",") if item.strip()]

    def _search_models(self, req: Request) -> list[str]:
        models = self._multi(req, "modelTypes") or ["all"]
        known = ["actions", "boards", "cards", "members", "organizations"]
        if "all" in models:
            return known
        unknown = [m for m in models if m not in known]
        if unknown:
            raise HttpError(400, "invalid value for modelTypes")
        return models

    @staticmethod
    def _search_terms(query: str) -> list[str]:
        return [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', query.lower()) if a or b]

    def _searchable_boards(self, wanted: list[str]) -> list[Obj]:
        actor = getattr(self._ctx, "member", None)
        boards = [b for b in self.db["boards"].values()
                  if actor in b["idMembers"] and not b["closed"]]
        if wanted and wanted != ["mine"]:
            boards = [b for b in boards if b["id"] in wanted]
        return boards

    @staticmethod
    def _search_limit(p: Params, name: str, default: int) -> int:
        limit = p.number(name, default)
        if not 1 <= limit <= 1000:
            raise HttpError(400, f"invalid value for {name}")
        return limit

    @staticmethod
    def _search_match(terms: list[str], text: str, partial: bool) -> bool:
        """Every term occurs as a word (a phrase as consecutive words), or a word's start."""
        joined = " ".join(re.findall(r"\w+", text.lower()))
        for term in terms:
            wanted = " ".join(re.findall(r"\w+", term))
            if not wanted:
                continue
            pattern = r"(?<!\S)" + re.escape(wanted) + ("" if partial else r"(?!\S)")
            if not re.search(pattern, joined):
                return False
        return True

    # --- tokens ---------------------------------------------------------------------------------
    def _token_json(self, token: str) -> Obj:
        if token != self._ctx.token and not any(
            c.get("token") == token for c in self.db["credentials"]
        ):
            raise HttpError(401, "invalid token")
        member = self._ctx.member
        for cred in self.db["credentials"]:
            if cred.get("token") == token:
                member = self._member_ref(cred.get("member", demo.DEFAULT_ACTOR))["id"]
        return {
            "id": hashlib.sha1(token.encode()).hexdigest()[:24],
            "identifier": "planerka-sync",
            "idMember": member,
            "dateCreated": iso(SEED_EPOCH),
            "dateExpires": None,
            "permissions": [
                {"idModel": "*", "modelType": "Board", "read": True, "write": True},
                {"idModel": "*", "modelType": "Organization", "read": True, "write": True},
            ],
        }

    @route("GET", r"/1/tokens/(?P<token>[^/]+)")
    def get_token(self, req: Request) -> JSON:
        return self._token_json(req.params["token"])

    @route("GET", r"/1/tokens/(?P<token>[^/]+)/member")
    def token_member(self, req: Request) -> JSON:
        member = self._token_json(req.params["token"])["idMember"]
        return self._member_json(self.db["members"][member], self._params(req).fields("fields"))

    # --- boards ---------------------------------------------------------------------------------
    @route("POST", r"/1/boards")
    def create_board(self, req: Request) -> JSON:
        p = self._params(req)
        name = p.text("name") or ""
        if not 1 <= len(name) <= TEXT_MAX:
            raise HttpError(400, "invalid value for name")
        actor = self._ctx.member
        board = self._make_board(name, p.text("desc") or "", [actor], actor)
        if p.flag("defaultLabels", True):
            for color in LABEL_COLORS:
                self._make_label(board, "", color)
        if p.flag("defaultLists", True):
            for list_name in ("To Do", "Doing", "Done"):
                self._make_list(board, list_name, "bottom")
        self._record("createBoard", {"board": self._board_ref(board["id"])})
        return self._board_json(board, None)

    @route("GET", rf"/1/boards/{ID}")
    def get_board(self, req: Request) -> JSON:
        p = self._params(req)
        board = self._board(req.params["id"])
        out = self._board_json(board, p.fields("fields", BOARD_DEFAULT_FIELDS))
        self._nest_board(out, board, p)
        return out

    def _nest_board(self, out: Obj, board: Obj, p: Params) -> None:
        """GET /boards/{id}'s nested cards, lists, members, labels, checklists, actions."""
        cards = p.text("cards") or "none"
        if cards != "none":
            view = CardView.of(p, "card_")
            chosen = self._filter_cards(self._cards_of(board["id"]), cards)
            if len(chosen) > CARDS_MAX:
                raise HttpError(400, TOO_MANY_CARDS)
            out["cards"] = [self._card_json(c, view) for c in chosen]
        if (p.text("lists") or "none") != "none":
            out["lists"] = self._lists_of(
                board["id"], p.text("lists") or "open", p.fields("list_fields")
            )
        if (p.text("members") or "none") != "none":
            out["members"] = [
                self._member_json(
                    self.db["members"][m], p.fields("member_fields", "fullName,username")
                )
                for m in board["idMembers"]
            ]
        if (p.text("labels") or "none") != "none":
            out["labels"] = [
                self._label_json(lb, p.fields("label_fields"))
                for lb in self._board_labels(board["id"])
            ]
        if (p.text("checklists") or "none") != "none":
            out["checklists"] = self._board_checklists(board)
        if (p.text("actions") or "none") != "none":
            found = self._board_actions(board, p.text("actions") or "all")
            found = self._window(found, Params({
                "since": p.text("actions_since"), "before": p.text("actions_before")}))
            out["actions"] = self._render_actions(found[: _nested_actions_limit(p)])
        if p.flag("customFields"):
            out["customFields"] = []

    def _cards_of(self, board_id: str) -> list[Obj]:
        lists = {
            lst["id"]: lst["pos"] for lst in self.db["lists"].values() if lst["idBoard"] == board_id
        }
        cards = [c for c in self.db["cards"].values() if c["idBoard"] == board_id]
        return sorted(cards, key=lambda c: (lists.get(c["idList"], 0.0), c["pos"]))

    def _filter_cards(self, cards: list[Obj], card_filter: str) -> list[Obj]:
        lists = self.db["lists"]
        rules: dict[str, Callable[[Obj], bool]] = {
            "all": lambda c: True,
            "none": lambda c: False,
            "open": lambda c: not c["closed"],
            "closed": lambda c: c["closed"],
            "visible": lambda c: not c["closed"] and not lists[c["idList"]]["closed"],
            "complete": lambda c: c["dueComplete"],
            "incomplete": lambda c: not c["dueComplete"],
        }
        if card_filter not in rules:
            raise HttpError(400, "invalid value for filter")
        return [c for c in cards if rules[card_filter](c)]

    def _lists_of(self, board_id: str, list_filter: str, fields: list[str] | None) -> list[Obj]:
        rules: dict[str, Callable[[Obj], bool]] = {
            "all": lambda lst: True,
            "none": lambda lst: False,
            "open": lambda lst: not lst["closed"],
            "closed": lambda lst: lst["closed"],
        }
        if list_filter not in rules:
            raise HttpError(400, "invalid value for filter")
        return [
            self._list_json(lst, fields)
            for lst in self._board_lists(board_id)
            if rules[list_filter](lst)
        ]

    def _board_checklists(self, board: Obj) -> list[Obj]:
        checklists = [c for c in self.db["checklists"].values() if c["idBoard"] == board["id"]]
        return [self._checklist_json(c) for c in checklists]

    def _board_actions(self, board: Obj, spec: str) -> list[Obj]:
        wanted = self._action_filter(spec)
        found = [
            a
            for a in self.db["actions"].values()
            if a["data"].get("board", {}).get("id") == board["id"] and wanted(a)
        ]
        return sorted(found, key=lambda a: a["id"], reverse=True)

    @route("PUT", rf"/1/boards/{ID}")
    def update_board(self, req: Request) -> JSON:
        p = self._params(req)
        board = self._board(req.params["id"])
        old: Obj = {}
        for name in ("name", "desc"):
            if p.has(name) and p.text(name) != board[name]:
                old[name], board[name] = board[name], p.text(name) or ""
        if p.has("closed") and p.flag("closed") != board["closed"]:
            old["closed"], board["closed"] = board["closed"], p.flag("closed")
        if old:
            self._record("updateBoard", {"board": self._board_ref(board["id"]), "old": old})
        return self._board_json(board, None)

    @route("GET", rf"/1/boards/{ID}/cards(?:/(?P<filter>[^/]+))?")
    def board_cards(self, req: Request) -> JSON:
        p = self._params(req)
        board = self._board(req.params["id"])
        card_filter = req.params.get("filter") or p.text("filter") or "visible"
        if HEX24.fullmatch(card_filter):  # /boards/{id}/cards/{idCard} (py-trello's get_card)
            card = self._card(card_filter)
            if card["idBoard"] != board["id"]:
                raise HttpError(404, NOT_FOUND)
            return self._card_json(card, CardView.of(p))
        cards = self._filter_cards(self._cards_of(board["id"]), card_filter)
        view = CardView.of(p)
        return [self._card_json(c, view) for c in self._card_window(cards, p)]

    def _card_window(self, cards: list[Obj], p: Params) -> list[Obj]:
        """since/before (card ids or dates of creation) and limit (newest first, at most
        CARDS_MAX even without one), keeping board order."""
        paged = p.given("since") or p.given("before") or p.given("limit")
        if not paged and len(cards) <= CARDS_MAX:
            return cards
        windowed = self._window([{"id": c["id"]} for c in cards], p)
        windowed = windowed[: self._limit(p, CARDS_MAX) if p.given("limit") else CARDS_MAX]
        keep = {w["id"] for w in windowed}
        return [c for c in cards if c["id"] in keep]

    @route("GET", rf"/1/boards/{ID}/lists(?:/(?P<filter>all|closed|none|open))?")
    def board_lists(self, req: Request) -> JSON:
        p = self._params(req)
        board = self._board(req.params["id"])
        lists = self._lists_of(
            board["id"], req.params.get("filter") or p.text("filter") or "open", p.fields("fields")
        )
        card_filter = p.text("cards") or "none"
        if card_filter != "none":
            view = CardView(fields=p.fields("card_fields"))
            cards = self._filter_cards(self._cards_of(board["id"]), card_filter)
            for out in lists:
                out["cards"] = [self._card_json(c, view) for c in cards if c["idList"] == out["id"]]
        return lists

    @route("POST", rf"/1/boards/{ID}/lists")
    def board_create_list(self, req: Request) -> JSON:
        return self._create_list(self._board(req.params["id"]), self._params(req))

    @route("GET", rf"/1/boards/{ID}/members")
    def board_members(self, req: Request) -> JSON:
        p = self._params(req)
        board = self._board(req.params["id"])
        fields = p.fields("fields", "fullName,username")
        return [self._member_json(self.db["members"][m], fields) for m in board["idMembers"]]

    @route("GET", rf"/1/boards/{ID}/labels")
    def board_labels(self, req: Request) -> JSON:
        p = self._params(req)
        board = self._board(req.params["id"])
        labels = self._board_labels(board["id"])[: p.number("limit", 50)]
        return [self._label_json(lb, p.fields("fields")) for lb in labels]

    @route("POST", rf"/1/boards/{ID}/labels")
    def board_create_label(self, req: Request) -> JSON:
        p = self._params(req)
        return self._create_label(self._board(req.params["id"]), p)

    @route("GET", rf"/1/boards/{ID}/checklists")
    def board_checklists(self, req: Request) -> JSON:
        return self._board_checklists(self._board(req.params["id"]))

    @route("GET", r"/1/boards/(?P<id>[^/]+)/actions")
    def board_actions(self, req: Request) -> JSON:
        p = self._params(req)
        board = self._board(req.params["id"])
        found = self._window(self._board_actions(board, p.text("filter") or "all"), p)
        return self._render_actions(self._page(found, p), p.flag("memberCreator", True))

    @route("GET", rf"/1/boards/{ID}/(?P<field>{BOARD_FIELDS})")
    def board_field(self, req: Request) -> JSON:
        board = self._board_json(self._board(req.params["id"]), None)
        return {"_value": board[req.params["field"]]}

    # --- labels ---------------------------------------------------------------------------------
    def _create_label(self, board: Obj, p: Params) -> JSON:
        color = p.text("color")
        color = None if color in (None, "", "null") else color
        if color is not None and color not in ALL_COLORS:
            raise HttpError(400, "invalid value for color")
        name = p.text("name") or ""
        label = self._make_label(board, name, color)
        return self._label_json(label)

    @route("POST", r"/1/labels")
    def create_label(self, req: Request) -> JSON:
        p = self._params(req)
        return self._create_label(self._board(p.text("idBoard")), p)

    @route("GET", rf"/1/labels/{ID}")
    def get_label(self, req: Request) -> JSON:
        label = self._get("labels", req.params["id"])
        self._board(label["idBoard"])
        return self._label_json(label, self._params(req).fields("fields"))

    @route("PUT", rf"/1/labels/{ID}")
    def update_label(self, req: Request) -> JSON:
        p = self._params(req)
        label = self._get("labels", req.params["id"])
        self._board(label["idBoard"])
        if p.has("name"):
            label["name"] = p.text("name") or ""
        if p.has("color"):
            color = p.text("color")
            if color not in (None, "", "null", *ALL_COLORS):
                raise HttpError(400, "invalid value for color")
            label["color"] = None if color in (None, "", "null") else color
        return self._label_json(label)

    @route("DELETE", rf"/1/labels/{ID}")
    def delete_label(self, req: Request) -> JSON:
        label = self._get("labels", req.params["id"])
        self._board(label["idBoard"])
        for card in self.db["cards"].values():
            if label["id"] in card["idLabels"]:
                card["idLabels"].remove(label["id"])
        del self.db["labels"][label["id"]]
        return {"limits": {}}

    # --- lists ----------------------------------------------------------------------------------
    def _create_list(self, board: Obj, p: Params) -> JSON:
        name = p.text("name") or ""
        if not 1 <= len(name) <= TEXT_MAX:
            raise HttpError(400, "invalid value for name")
        lst = self._make_list(board, name, p.raw("pos") or "bottom")
        self._record(
            "createList", {"list": self._list_ref(lst["id"]), "board": self._board_ref(board["id"])}
        )
        return self._list_json(lst)

    @route("POST", r"/1/lists")
    def create_list(self, req: Request) -> JSON:
        p = self._params(req)
        if not p.given("idBoard"):
            raise HttpError(400, "invalid value for idBoard")
        return self._create_list(self._board(p.text("idBoard")), p)

    @route("GET", rf"/1/lists/{ID}")
    def get_list(self, req: Request) -> JSON:
        p = self._params(req)
        lst = self._list(req.params["id"])
        out = self._list_json(lst, p.fields("fields"))
        if (p.text("cards") or "none") != "none":
            cards = [c for c in self._cards_of(lst["idBoard"]) if c["idList"] == lst["id"]]
            out["cards"] = [
                self._card_json(c, CardView(fields=p.fields("card_fields")))
                for c in self._filter_cards(cards, p.text("cards") or "open")
            ]
        return out

    @route("PUT", rf"/1/lists/{ID}")
    def update_list(self, req: Request) -> JSON:
        return self._update_list(self._list(req.params["id"]), self._params(req).values)

    @route("PUT", rf"/1/lists/{ID}/(?P<field>{LIST_FIELDS})")
    def update_list_field(self, req: Request) -> JSON:
        value = self._params(req).raw("value")
        return self._update_list(self._list(req.params["id"]), {req.params["field"]: value})

    def _update_list(self, lst: Obj, values: dict[str, Any]) -> JSON:
        p = Params(values)
        old: Obj = {}
        if p.has("name"):
            name = p.text("name") or ""
            if not name:
                raise HttpError(400, "invalid value for name")
            old["name"], lst["name"] = lst["name"], name
        if p.has("closed"):
            old["closed"], lst["closed"] = lst["closed"], p.flag("closed")
        if p.has("pos"):
            siblings = [x["pos"] for x in self._board_lists(lst["idBoard"]) if x["id"] != lst["id"]]
            old["pos"], lst["pos"] = lst["pos"], self._position(p.raw("pos"), siblings)
        if p.has("subscribed"):
            lst["subscribed"] = p.flag("subscribed")
        if p.given("idBoard"):
            board = self._board(p.text("idBoard"))
            old["idBoard"], lst["idBoard"] = lst["idBoard"], board["id"]
        changed = {k: v for k, v in old.items() if v != lst[k]}
        if changed:
            self._record(
                "updateList",
                {
                    "list": {**self._list_ref(lst["id"]), **{k: lst[k] for k in changed}},
                    "old": changed,
                    "board": self._board_ref(lst["idBoard"]),
                },
            )
        return self._list_json(lst)

    @route("GET", rf"/1/lists/{ID}/cards(?:/(?P<filter>all|closed|none|open))?")
    def list_cards(self, req: Request) -> JSON:
        p = self._params(req)
        lst = self._list(req.params["id"])
        cards = [c for c in self._cards_of(lst["idBoard"]) if c["idList"] == lst["id"]]
        cards = self._filter_cards(cards, req.params.get("filter") or p.text("filter") or "open")
        view = CardView.of(p)
        return [self._card_json(c, view) for c in self._card_window(cards, p)]

    @route("GET", rf"/1/lists/{ID}/actions")
    def list_actions(self, req: Request) -> JSON:
        p = self._params(req)
        lst = self._list(req.params["id"])
        wanted = self._action_filter(p.text("filter") or "all")
        found = [
            a for a in self.db["actions"].values() if wanted(a) and lst["id"] in self._models_of(a)
        ]
        return self._render_actions(self._page(self._window(found, p), p))

    @route("GET", rf"/1/lists/{ID}/board")
    def list_board(self, req: Request) -> JSON:
        lst = self._list(req.params["id"])
        return self._board_json(
            self.db["boards"][lst["idBoard"]], self._params(req).fields("fields")
        )

    @route("POST", rf"/1/lists/{ID}/archiveAllCards")
    def archive_all_cards(self, req: Request) -> JSON:
        lst = self._list(req.params["id"])
        for card in [
            c for c in self.db["cards"].values() if c["idList"] == lst["id"] and not c["closed"]
        ]:
            self._apply_card_change(card, "closed", True)
        return {}

    @route("POST", rf"/1/lists/{ID}/moveAllCards")
    def move_all_cards(self, req: Request) -> JSON:
        p = self._params(req)
        lst = self._list(req.params["id"])
        target = self._list(p.text("idList"))
        moved = [c for c in self.db["cards"].values() if c["idList"] == lst["id"]]
        for card in moved:
            self._apply_card_change(card, "idList", target["id"])
        return [self._card_json(c) for c in moved]

    # --- cards: create ----------------------------------------------------------------------------
    @route("POST", r"/1/cards")
    def create_card(self, req: Request) -> JSON:
        p = self._params(req)
        if not p.given("idList"):
            raise HttpError(400, "invalid value for idList")
        lst = self._list(p.text("idList"))
        board = self.db["boards"][lst["idBoard"]]
        source = self._card(p.text("idCardSource")) if p.given("idCardSource") else None
        keep = self._keep_from_source(p) if source else set()
        card = self._make_card(
            lst, self._card_name(p, source), self._card_desc(p, source), p.raw("pos")
        )
        self._fill_card(card, board, p, source, keep)
        if source is None:
            self._record("createCard", self._card_data(card))
        else:
            self._record(
                "copyCard", {**self._card_data(card), "cardSource": self._card_ref(source)}
            )
            self._copy_card_parts(source, card, keep)
        self._attach_sources(card, p)
        return self._card_json(card)

    @staticmethod
    def _card_name(p: Params, source: Obj | None) -> str:
        name = p.text("name") if p.given("name") else (source["name"] if source else "")
        if _units(name or "") > TEXT_MAX:
            raise HttpError(400, "invalid value for name")
        return name or ""

    @staticmethod
    def _card_desc(p: Params, source: Obj | None) -> str:
        # Checked on create as on update: Trello answers the same 400 to both.
        desc = (p.text("desc") or "") if p.given("desc") else (source["desc"] if source else "")
        if _units(desc) > TEXT_MAX:
            raise HttpError(400, "invalid value for desc")
        return desc

    @staticmethod
    def _keep_from_source(p: Params) -> set[str]:
        keep = set(p.ids("keepFromSource") or ["all"])
        if "all" in keep:
            return set(KEEP_FROM_SOURCE)
        if not keep <= KEEP_FROM_SOURCE:
            raise HttpError(400, "invalid value for keepFromSource")
        return keep

    def _fill_card(
        self, card: Obj, board: Obj, p: Params, source: Obj | None, keep: set[str]
    ) -> None:
        """Explicit parameters win; otherwise what ``keepFromSource`` copies from the source."""
        src = source or {}
        card["due"] = (
            self._date_or_none(p.raw("due"), "due")
            if p.given("due")
            else src.get("due")
            if "due" in keep
            else None
        )
        card["start"] = (
            self._date_or_none(p.raw("start"), "start")
            if p.given("start")
            else src.get("start")
            if "start" in keep
            else None
        )
        card["dueComplete"] = (
            p.flag("dueComplete")
            if p.given("dueComplete")
            else bool(src.get("dueComplete"))
            if "due" in keep
            else False
        )
        card["closed"] = p.flag("closed")
        # Never copied: a card made from a template is an ordinary card.
        card["isTemplate"] = p.flag("isTemplate")
        if p.given("idMembers"):
            card["idMembers"] = [
                self._board_member(board, m, "idMembers") for m in dict.fromkeys(p.ids("idMembers"))
            ]
        elif "members" in keep:
            card["idMembers"] = [m for m in src.get("idMembers", []) if m in board["idMembers"]]
        if p.given("idLabels"):
            card["idLabels"] = [
                self._board_label(board, lb, "idLabels") for lb in dict.fromkeys(p.ids("idLabels"))
            ]
        elif "labels" in keep:
            card["idLabels"] = [
                lb
                for lb in src.get("idLabels", [])
                if self.db["labels"][lb]["idBoard"] == board["id"]
            ]

    def _board_label(self, board: Obj, label_id: str, param: str) -> str:
        label = self.db["labels"].get(label_id)
        if label is None or label["idBoard"] != board["id"]:
            raise HttpError(400, f"invalid value for {param}")
        return label_id

    def _copy_card_parts(self, source: Obj, card: Obj, keep: set[str]) -> None:
        """What ``keepFromSource`` copies besides fields: checklists (new ids), attachments,
        comments."""
        if "checklists" in keep:
            for checklist_id in source["idChecklists"]:
                self._copy_checklist(self.db["checklists"][checklist_id], card)
        if "attachments" in keep:
            for attachment_id in source["idAttachments"]:
                old = self.db["attachments"][attachment_id]
                data = base64.b64decode(old["data"]) if old.get("data") is not None else None
                self._add_attachment(
                    card,
                    old["name"],
                    None if data is not None else old["url"],
                    data,
                    old["mimeType"],
                    record=False,
                )
        if "comments" in keep:
            for action in sorted(self._card_actions(source, "commentCard"), key=lambda a: a["id"]):
                self._add_comment(card, action["data"]["text"], action["idMemberCreator"])

    def _copy_checklist(
        self, source: Obj, card: Obj, name: str | None = None, pos: Any = "bottom"
    ) -> Obj:
        checklist = self._make_checklist(card, name or source["name"], pos)
        for item in source["checkItems"]:
            member = (
                item["idMember"]
                if item["idMember"] in self.db["boards"][card["idBoard"]]["idMembers"]
                else None
            )
            self._make_check_item(
                checklist,
                item["name"],
                item["pos"],
                item["state"],
                item["due"],
                member,
                item.get("dueReminder"),
            )
        return checklist

    def _attach_sources(self, card: Obj, p: Params) -> None:
        """``urlSource`` / ``fileSource`` attach something to the new card in the same request."""
        file_source = p.raw("fileSource")
        if isinstance(file_source, MultipartPart):
            self._add_attachment(
                card,
                file_source.filename,
                None,
                file_source.data,
                p.text("mimeType") or file_source.content_type,
            )
        elif p.given("urlSource"):
            url = p.text("urlSource") or ""
            self._check_url(url, "urlSource")
            self._add_attachment(card, url, url, None, p.text("mimeType"))

    # --- cards: read / update / delete ------------------------------------------------------------
    @route("GET", rf"/1/cards/{ID}")
    def get_card(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        out = self._card_json(card, CardView.of(p))
        if p.flag("board"):
            out["board"] = self._board_json(
                self.db["boards"][card["idBoard"]], p.fields("board_fields", BOARD_DEFAULT_FIELDS)
            )
        if p.flag("list"):
            out["list"] = self._list_json(self.db["lists"][card["idList"]], p.fields("list_fields"))
        if p.flag("customFieldItems"):
            out["customFieldItems"] = []
        if p.flag("pluginData"):
            out["pluginData"] = []
        return out

    @route("PUT", rf"/1/cards/{ID}")
    def update_card(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        order = (
            "name",
            "desc",
            "closed",
            "idBoard",
            "idList",
            "pos",
            "due",
            "start",
            "dueComplete",
            "idMembers",
            "idLabels",
            "idAttachmentCover",
            "subscribed",
            "isTemplate",
        )
        card.setdefault("isTemplate", False)  # cards of databases saved before it existed
        for field in order:
            if p.has(field):
                self._apply_card_change(card, field, p.raw(field))
        return self._card_json(card)

    @route("PUT", rf"/1/cards/{ID}/(?P<field>{CARD_FIELDS_RW})")
    def update_card_field(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        self._apply_card_change(card, req.params["field"], self._params(req).raw("value"))
        return self._card_json(card)

    def _apply_card_change(self, card: Obj, field: str, value: Any) -> None:
        """Change one card field and record Trello's action for it (with data.old)."""
        board = self.db["boards"][card["idBoard"]]
        p = Params({field: value})
        if field == "idMembers":
            self._set_card_members(
                card, [self._board_member(board, m, field) for m in dict.fromkeys(p.ids(field))]
            )
            return
        if field == "idLabels":
            self._set_card_labels(
                card, [self._board_label(board, lb, field) for lb in dict.fromkeys(p.ids(field))]
            )
            return
        new = self._card_value(card, field, p)
        if new == card[field]:
            return
        old = card[field]
        if field == "idList":
            self._move_card(card, new)
            return
        card[field] = new
        if field != "subscribed":
            data = self._card_data(card)
            data["card"][field] = new
            self._record("updateCard", {**data, "old": {field: old}})

    def _card_value(self, card: Obj, field: str, p: Params) -> Any:
        """Validate a new value for a plain card field."""
        if field in ("closed", "dueComplete", "subscribed", "isTemplate"):
            return p.flag(field)
        if field in ("due", "start"):
            return self._date_or_none(p.raw(field), field)
        if field == "pos":
            siblings = [
                c["pos"]
                for c in self.db["cards"].values()
                if c["idList"] == card["idList"] and c is not card
            ]
            return self._position(p.raw(field), siblings)
        if field == "idList":
            target = self._list(p.text(field))
            return target["id"]
        if field == "idBoard":
            if p.text(field) != card["idBoard"]:
                raise HttpError(
                    400, "invalid value for idBoard"
                )  # moving between boards: not emulated
            return card["idBoard"]
        if field == "idAttachmentCover":
            cover = p.text(field)
            if cover not in (None, "", "null") and cover not in card["idAttachments"]:
                raise HttpError(400, "invalid value for idAttachmentCover")
            return None if cover in (None, "", "null") else cover
        name = p.text(field) or ""
        if _units(name) > TEXT_MAX or (field == "name" and not name):
            raise HttpError(400, f"invalid value for {field}")
        return name

    def _move_card(self, card: Obj, list_id: str) -> None:
        target = self.db["lists"][list_id]
        if target["idBoard"] != card["idBoard"]:
            raise HttpError(400, "invalid value for idList")
        before = self._list_ref(card["idList"])
        old_list = card["idList"]
        card["idList"] = list_id
        siblings = [
            c["pos"] for c in self.db["cards"].values() if c["idList"] == list_id and c is not card
        ]
        card["pos"] = self._position("bottom", siblings)
        data = self._card_data(card)
        data["card"]["idList"] = list_id
        del data["list"]
        self._record(
            "updateCard",
            {
                **data,
                "old": {"idList": old_list},
                "listBefore": before,
                "listAfter": self._list_ref(list_id),
            },
        )

    def _set_card_members(self, card: Obj, members: list[str]) -> None:
        for member_id in [m for m in card["idMembers"] if m not in members]:
            self._remove_card_member(card, member_id)
        for member_id in [m for m in members if m not in card["idMembers"]]:
            self._add_card_member(card, member_id)

    def _add_card_member(self, card: Obj, member_id: str) -> None:
        card["idMembers"].append(member_id)
        member = self.db["members"][member_id]
        self._record(
            "addMemberToCard",
            {
                "idMember": member_id,
                "member": {"id": member_id, "name": member["fullName"]},
                **self._card_data(card),
            },
        )

    def _remove_card_member(self, card: Obj, member_id: str) -> None:
        card["idMembers"].remove(member_id)
        member = self.db["members"][member_id]
        self._record(
            "removeMemberFromCard",
            {
                "idMember": member_id,
                "member": {"id": member_id, "name": member["fullName"]},
                **self._card_data(card),
            },
        )

    def _set_card_labels(self, card: Obj, labels: list[str]) -> None:
        for label_id in [lb for lb in card["idLabels"] if lb not in labels]:
            card["idLabels"].remove(label_id)
            self._record(
                "removeLabelFromCard", {"label": self._label_ref(label_id), **self._card_data(card)}
            )
        for label_id in [lb for lb in labels if lb not in card["idLabels"]]:
            card["idLabels"].append(label_id)
            self._record(
                "addLabelToCard", {"label": self._label_ref(label_id), **self._card_data(card)}
            )

    def _label_ref(self, label_id: str) -> Obj:
        label = self.db["labels"][label_id]
        return {"id": label_id, "name": label["name"], "color": label["color"]}

    @route("DELETE", rf"/1/cards/{ID}")
    def delete_card(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        data = self._card_data(card)
        data["card"] = {k: data["card"][k] for k in ("id", "idShort", "shortLink")}
        for checklist_id in card["idChecklists"]:
            self.db["checklists"].pop(checklist_id, None)
        for attachment_id in card["idAttachments"]:
            self.db["attachments"].pop(attachment_id, None)
        del self.db["cards"][card["id"]]
        self._record("deleteCard", data)
        return {"limits": {}}

    @route("GET", rf"/1/cards/{ID}/(?P<field>{CARD_FIELDS_RO})")
    def card_field(self, req: Request) -> JSON:
        card = self._card_json(self._card(req.params["id"]))
        return {"_value": card[req.params["field"]]}

    @route("GET", rf"/1/cards/{ID}/board")
    def card_board(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        return self._board_json(
            self.db["boards"][card["idBoard"]], self._params(req).fields("fields")
        )

    @route("GET", rf"/1/cards/{ID}/list")
    def card_list(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        return self._list_json(self.db["lists"][card["idList"]], self._params(req).fields("fields"))

    @route("GET", rf"/1/cards/{ID}/members")
    def card_members(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        fields = self._params(req).fields("fields", "avatarHash,fullName,initials,username")
        return [self._member_json(self.db["members"][m], fields) for m in card["idMembers"]]

    @route("GET", rf"/1/cards/{ID}/(?P<what>pluginData|customFieldItems|stickers)")
    def card_empty_collection(self, req: Request) -> JSON:
        self._card(req.params["id"])
        return []

    # --- card members and labels ----------------------------------------------------------------
    @route("POST", rf"/1/cards/{ID}/(?:idMembers|members)")
    def add_card_member(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        board = self.db["boards"][card["idBoard"]]
        member_id = self._board_member(board, self._params(req).text("value"), "value")
        if member_id in card["idMembers"]:
            raise HttpError(400, "member is already on the card")
        self._add_card_member(card, member_id)
        return self._card_member_list(card)

    @route("DELETE", rf"/1/cards/{ID}/(?:idMembers|members)/(?P<idMember>[^/]+)")
    def remove_card_member(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        member_id = req.params["idMember"]
        if member_id not in card["idMembers"]:
            raise HttpError(400, "member is not on the card")
        self._remove_card_member(card, member_id)
        return self._card_member_list(card)

    def _card_member_list(self, card: Obj) -> list[Obj]:
        fields = [
            "activityBlocked",
            "avatarHash",
            "avatarUrl",
            "fullName",
            "idMemberReferrer",
            "initials",
            "nonPublic",
            "nonPublicAvailable",
            "username",
        ]
        return [self._member_json(self.db["members"][m], fields) for m in card["idMembers"]]

    @route("POST", rf"/1/cards/{ID}/idLabels")
    def add_card_label(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        board = self.db["boards"][card["idBoard"]]
        label_id = self._board_label(board, self._params(req).text("value") or "", "value")
        if label_id in card["idLabels"]:
            raise HttpError(400, "that label is already on the card")
        self._set_card_labels(card, [*card["idLabels"], label_id])
        return list(card["idLabels"])

    @route("POST", rf"/1/cards/{ID}/labels")
    def add_card_new_label(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        label = self._create_label(self.db["boards"][card["idBoard"]], self._params(req))
        self._set_card_labels(card, [*card["idLabels"], label["id"]])
        return list(card["idLabels"])

    @route("DELETE", rf"/1/cards/{ID}/idLabels/(?P<idLabel>[^/]+)")
    def remove_card_label(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        label_id = req.params["idLabel"]
        if label_id not in card["idLabels"]:
            raise HttpError(404, MODEL_NOT_FOUND)
        self._set_card_labels(card, [lb for lb in card["idLabels"] if lb != label_id])
        return list(card["idLabels"])

    # --- checklists and check items -------------------------------------------------------------
    @route("GET", rf"/1/cards/{ID}/checklists")
    def card_checklists(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        out = self._card_checklists(card)
        if (p.text("checkItems") or "all") == "none":
            for checklist in out:
                checklist["checkItems"] = []
        return out

    @route("POST", rf"/1/cards/{ID}/checklists")
    def card_create_checklist(self, req: Request) -> JSON:
        return self._create_checklist(self._card(req.params["id"]), self._params(req))

    @route("POST", r"/1/checklists")
    def create_checklist(self, req: Request) -> JSON:
        p = self._params(req)
        if not p.given("idCard"):
            raise HttpError(400, "invalid value for idCard")
        return self._create_checklist(self._card(p.text("idCard")), p)

    def _create_checklist(self, card: Obj, p: Params) -> JSON:
        name = p.text("name") if p.given("name") else None
        if name is not None and len(name) > TEXT_MAX:
            raise HttpError(400, "invalid value for name")
        if p.given("idChecklistSource"):
            source = self._checklist(p.text("idChecklistSource"))
            checklist = self._copy_checklist(source, card, name, p.raw("pos") or "bottom")
        else:
            checklist = self._make_checklist(card, name or "Checklist", p.raw("pos") or "bottom")
        self._record(
            "addChecklistToCard",
            {
                "checklist": {"id": checklist["id"], "name": checklist["name"]},
                **self._card_data(card),
            },
        )
        return self._checklist_json(checklist)

    @route("GET", rf"/1/checklists/{ID}")
    def get_checklist(self, req: Request) -> JSON:
        p = self._params(req)
        checklist = self._checklist(req.params["id"])
        out = self._checklist_json(checklist, p.fields("fields"))
        if (p.text("checkItems") or "all") == "none":
            out.pop("checkItems", None)
        if (p.text("cards") or "none") != "none":
            out["cards"] = [self._card_json(self.db["cards"][checklist["idCard"]])]
        return out

    @route("PUT", rf"/1/checklists/{ID}")
    def update_checklist(self, req: Request) -> JSON:
        return self._update_checklist(self._checklist(req.params["id"]), self._params(req))

    @route("PUT", rf"/1/checklists/{ID}/(?P<field>name|pos)")
    def update_checklist_field(self, req: Request) -> JSON:
        value = self._params(req).raw("value")
        return self._update_checklist(
            self._checklist(req.params["id"]), Params({req.params["field"]: value})
        )

    def _update_checklist(self, checklist: Obj, p: Params) -> JSON:
        card = self.db["cards"][checklist["idCard"]]
        if p.has("name"):
            name = p.text("name") or ""
            if not name or len(name) > TEXT_MAX:
                raise HttpError(400, "invalid value for name")
            old = checklist["name"]
            checklist["name"] = name
            self._record(
                "updateChecklist",
                {
                    "checklist": {"id": checklist["id"], "name": name},
                    "old": {"name": old},
                    **self._card_data(card),
                },
            )
        if p.has("pos"):
            siblings = [
                self.db["checklists"][c]["pos"]
                for c in card["idChecklists"]
                if c != checklist["id"]
            ]
            checklist["pos"] = self._position(p.raw("pos"), siblings)
        return self._checklist_json(checklist)

    @route("DELETE", rf"/1/checklists/{ID}")
    def delete_checklist(self, req: Request) -> JSON:
        checklist = self._checklist(req.params["id"])
        self._remove_checklist(self.db["cards"][checklist["idCard"]], checklist)
        return {"limits": {}}

    @route("DELETE", rf"/1/cards/{ID}/checklists/(?P<idChecklist>[^/]+)")
    def card_delete_checklist(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        checklist = self._get("checklists", req.params["idChecklist"])
        if checklist["idCard"] != card["id"]:
            raise HttpError(404, MODEL_NOT_FOUND)
        self._remove_checklist(card, checklist)
        return {"limits": {}}

    def _remove_checklist(self, card: Obj, checklist: Obj) -> None:
        card["idChecklists"].remove(checklist["id"])
        del self.db["checklists"][checklist["id"]]
        self._record(
            "removeChecklistFromCard",
            {
                "checklist": {"id": checklist["id"], "name": checklist["name"]},
                **self._card_data(card),
            },
        )

    @route("GET", rf"/1/checklists/{ID}/checkItems")
    def checklist_items(self, req: Request) -> JSON:
        checklist = self._checklist(req.params["id"])
        return [self._check_item_json(i) for i in checklist["checkItems"]]

    @route("POST", rf"/1/checklists/{ID}/checkItems")
    def create_check_item(self, req: Request) -> JSON:
        p = self._params(req)
        checklist = self._checklist(req.params["id"])
        card = self.db["cards"][checklist["idCard"]]
        board = self.db["boards"][card["idBoard"]]
        name = p.text("name") or ""
        if not 1 <= _units(name) <= TEXT_MAX:
            raise HttpError(400, "invalid value for name")
        member = (
            self._board_member(board, p.text("idMember"), "idMember")
            if p.given("idMember")
            else None
        )
        item = self._make_check_item(
            checklist,
            name,
            p.raw("pos") or "bottom",
            "complete" if p.flag("checked") else "incomplete",
            self._date_or_none(p.raw("due"), "due"),
            member,
            p.raw("dueReminder"),
        )
        self._record(
            "createCheckItem",
            {
                "checkItem": self._check_item_ref(item),
                "checklist": {"id": checklist["id"], "name": checklist["name"]},
                **self._card_data(card),
            },
        )
        return self._check_item_json(item)

    @staticmethod
    def _check_item_ref(item: Obj) -> Obj:
        return {
            "id": item["id"],
            "name": item["name"],
            "state": item["state"],
            "textData": {"emoji": {}},
        }

    @route("GET", rf"/1/checklists/{ID}/checkItems/(?P<idCheckItem>[^/]+)")
    def checklist_item(self, req: Request) -> JSON:
        checklist = self._checklist(req.params["id"])
        _, item = self._check_item(self.db["cards"][checklist["idCard"]], req.params["idCheckItem"])
        return self._check_item_json(item)

    @route("DELETE", rf"/1/checklists/{ID}/checkItems/(?P<idCheckItem>[^/]+)")
    def checklist_delete_item(self, req: Request) -> JSON:
        checklist = self._checklist(req.params["id"])
        self._delete_check_item(self.db["cards"][checklist["idCard"]], req.params["idCheckItem"])
        return {"limits": {}}

    @route("GET", rf"/1/cards/{ID}/checkItem/(?P<idCheckItem>[^/]+)")
    def card_check_item(self, req: Request) -> JSON:
        _, item = self._check_item(self._card(req.params["id"]), req.params["idCheckItem"])
        return self._check_item_json(item)

    @route(
        "PUT",
        rf"/1/cards/{ID}/(?:checklist/(?P<idChecklist>[^/]+)/)?checkItem/(?P<idCheckItem>[^/]+)",
    )
    def update_check_item(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        checklist, item = self._check_item(card, req.params["idCheckItem"])
        if p.given("idChecklist"):
            checklist = self._move_check_item(card, checklist, item, p.text("idChecklist") or "")
        old: Obj = {}
        for field in ("name", "state", "due", "idMember", "pos", "dueReminder"):
            if p.has(field):
                new = self._check_item_value(card, checklist, item, field, p)
                if new != item[field]:
                    old[field], item[field] = item[field], new
        checklist["checkItems"].sort(key=lambda i: i["pos"])
        self._record_check_item_change(card, checklist, item, old)
        return self._check_item_json(item)

    def _check_item_value(self, card: Obj, checklist: Obj, item: Obj, field: str, p: Params) -> Any:
        if field == "state":
            state = (p.text("state") or "").lower()
            states = {
                "complete": "complete",
                "true": "complete",
                "incomplete": "incomplete",
                "false": "incomplete",
            }
            if state not in states:
                raise HttpError(400, "invalid value for state")
            return states[state]
        if field == "due":
            return self._date_or_none(p.raw("due"), "due")
        if field == "idMember":
            if not p.given("idMember"):
                return None
            return self._board_member(
                self.db["boards"][card["idBoard"]], p.text("idMember"), "idMember"
            )
        if field == "pos":
            siblings = [i["pos"] for i in checklist["checkItems"] if i is not item]
            return self._position(p.raw("pos"), siblings)
        if field == "dueReminder":
            return p.raw("dueReminder")
        name = p.text("name") or ""
        if not 1 <= _units(name) <= TEXT_MAX:
            raise HttpError(400, "invalid value for name")
        return name

    def _move_check_item(self, card: Obj, checklist: Obj, item: Obj, target_id: str) -> Obj:
        target = self._get("checklists", target_id)
        if target["idCard"] != card["id"]:
            raise HttpError(400, "invalid value for idChecklist")
        if target is not checklist:
            checklist["checkItems"].remove(item)
            item["idChecklist"] = target["id"]
            target["checkItems"].append(item)
        return target

    def _record_check_item_change(self, card: Obj, checklist: Obj, item: Obj, old: Obj) -> None:
        """A state change is ``updateCheckItemStateOnCard``; other edits ``updateCheckItem``."""
        base = {
            "checkItem": self._check_item_ref(item),
            "checklist": {"id": checklist["id"], "name": checklist["name"]},
            **self._card_data(card),
        }
        if "state" in old:
            self._record("updateCheckItemStateOnCard", dict(base))
        rest = {k: v for k, v in old.items() if k not in ("state", "pos")}
        if rest:
            item_data = {**base["checkItem"], **{k: item[k] for k in rest}}
            self._record("updateCheckItem", {**base, "checkItem": item_data, "old": rest})

    @route("DELETE", rf"/1/cards/{ID}/checkItem/(?P<idCheckItem>[^/]+)")
    def delete_check_item(self, req: Request) -> JSON:
        self._delete_check_item(self._card(req.params["id"]), req.params["idCheckItem"])
        return {"limits": {}}

    def _delete_check_item(self, card: Obj, item_id: str) -> None:
        checklist, item = self._check_item(card, item_id)
        checklist["checkItems"].remove(item)
        self._record(
            "deleteCheckItem",
            {
                "checkItem": self._check_item_ref(item),
                "checklist": {"id": checklist["id"], "name": checklist["name"]},
                **self._card_data(card),
            },
        )

    @route("GET", rf"/1/cards/{ID}/checkItemStates")
    def card_check_item_states(self, req: Request) -> JSON:
        return self._check_item_states(self._card(req.params["id"]))

    # --- comments and actions -------------------------------------------------------------------
    @route("POST", rf"/1/cards/{ID}/actions/comments")
    def add_comment(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        text = self._comment_text(self._params(req), "text")
        return self._action_json(self._add_comment(card, text, self._ctx.member))

    def _add_comment(self, card: Obj, text: str, author: str | None) -> Obj:
        card["comments"] += 1
        return self._record("commentCard", {"text": text, **self._card_data(card)}, author)

    @staticmethod
    def _comment_text(p: Params, name: str) -> str:
        text = p.text(name) or ""
        if not 1 <= _units(text) <= TEXT_MAX:
            raise HttpError(400, f"invalid value for {name}")
        return text

    @route("GET", rf"/1/cards/{ID}/actions")
    def card_actions(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        found = self._window(self._card_actions(card, p.text("filter") or CARD_ACTIONS_DEFAULT), p)
        return self._render_actions(self._page(found, p), p.flag("memberCreator", True))

    def _action(self, ref: str) -> Obj:
        action = self._get("actions", ref)
        board_id = (action["data"].get("board") or {}).get("id")
        if board_id in self.db["boards"]:
            self._require_access(self.db["boards"][board_id])
        return action

    @route("GET", rf"/1/actions/{ID}")
    def get_action(self, req: Request) -> JSON:
        p = self._params(req)
        action = self._action(req.params["id"])
        return pick(self._action_json(action, p.flag("memberCreator", True)), p.fields("fields"))

    @route("GET", rf"/1/actions/{ID}/(?P<field>{ACTION_FIELDS})")
    def action_field(self, req: Request) -> JSON:
        action = self._action_json(self._action(req.params["id"]))
        return {"_value": action.get(req.params["field"])}

    @route("GET", rf"/1/actions/{ID}/(?P<model>card|board|list|memberCreator)")
    def action_model(self, req: Request) -> JSON:
        action = self._action(req.params["id"])
        model = req.params["model"]
        if model == "memberCreator":
            return self._member_json(self.db["members"][action["idMemberCreator"]])
        ref = (action["data"].get(model) or {}).get("id")
        table = self.db[f"{model}s"]
        if ref not in table:
            raise HttpError(404, MODEL_NOT_FOUND)
        render: dict[str, Callable[[Obj], Obj]] = {
            "card": self._card_json,
            "list": self._list_json,
            "board": lambda b: self._board_json(b, None),
        }
        return render[model](table[ref])

    @route("PUT", rf"/1/actions/{ID}")
    def update_action(self, req: Request) -> JSON:
        return self._edit_comment(
            self._action(req.params["id"]), self._comment_text(self._params(req), "text")
        )

    @route("PUT", rf"/1/actions/{ID}/text")
    def update_action_text(self, req: Request) -> JSON:
        return self._edit_comment(
            self._action(req.params["id"]), self._comment_text(self._params(req), "value")
        )

    @route("PUT", rf"/1/cards/{ID}/actions/(?P<idAction>[^/]+)/comments")
    def update_card_comment(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        action = self._card_comment(card, req.params["idAction"])
        return self._edit_comment(action, self._comment_text(self._params(req), "text"))

    def _card_comment(self, card: Obj, action_id: str) -> Obj:
        action = self._action(action_id)
        if action["data"].get("card", {}).get("id") != card["id"]:
            raise HttpError(404, MODEL_NOT_FOUND)
        return action

    def _edit_comment(self, action: Obj, text: str) -> JSON:
        """Only comments can be edited, and only by their author."""
        if action["type"] != "commentCard":
            raise HttpError(400, "invalid value for type")
        if action["idMemberCreator"] != self._ctx.member:
            raise HttpError(401, NO_PERMISSION)
        old = action["data"]["text"]
        action["data"]["text"] = text
        action["data"]["dateLastEdited"] = iso(self.now())
        data = {"action": {"id": action["id"], "text": text}, "old": {"text": old}}
        data.update({k: action["data"][k] for k in ("card", "board") if k in action["data"]})
        self._record("updateComment", data)
        return self._action_json(action)

    @route("DELETE", rf"/1/actions/{ID}")
    def delete_action(self, req: Request) -> JSON:
        self._delete_comment(self._action(req.params["id"]))
        return {"_value": None}

    @route("DELETE", rf"/1/cards/{ID}/actions/(?P<idAction>[^/]+)/comments")
    def delete_card_comment(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        self._delete_comment(self._card_comment(card, req.params["idAction"]))
        return {"_value": None}

    def _delete_comment(self, action: Obj) -> None:
        if action["type"] != "commentCard":
            raise HttpError(400, "invalid value for type")
        if action["idMemberCreator"] != self._ctx.member:
            raise HttpError(401, NO_PERMISSION)
        del self.db["actions"][action["id"]]
        card = self.db["cards"].get(action["data"].get("card", {}).get("id", ""))
        if card is not None:
            card["comments"] = max(0, card["comments"] - 1)
            self._record("deleteComment", {"action": {"id": action["id"]}, **self._card_data(card)})

    # --- attachments ----------------------------------------------------------------------------
    @route("GET", rf"/1/cards/{ID}/attachments")
    def card_attachments(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        found = [self.db["attachments"][a] for a in card["idAttachments"]]
        if p.text("filter") == "cover":
            found = [a for a in found if a["id"] == card["idAttachmentCover"]]
        return [
            self._attachment_json(a, p.fields("fields"))
            for a in sorted(found, key=lambda a: a["pos"])
        ]

    @route("POST", rf"/1/cards/{ID}/attachments")
    def add_card_attachment(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        upload = p.raw("file")
        if isinstance(upload, MultipartPart):
            name = p.text("name") or upload.filename or "file"
            attachment = self._add_attachment(
                card, name, None, upload.data, p.text("mimeType") or upload.content_type
            )
        elif p.given("url"):
            url = p.text("url") or ""
            self._check_url(url, "url")
            attachment = self._add_attachment(
                card, p.text("name") or url, url, None, p.text("mimeType")
            )
        else:
            raise HttpError(400, "invalid value for url")
        if p.flag("setCover"):
            card["idAttachmentCover"] = attachment["id"]
        # Trello answers the attachment itself (the reference documents an array).
        return self._attachment_json(attachment)

    @staticmethod
    def _check_url(url: str, name: str) -> None:
        if not re.match(r"https?://[^\s/]+", url):
            raise HttpError(400, f"invalid value for {name}")

    def _add_attachment(
        self,
        card: Obj,
        name: str | None,
        url: str | None,
        data: bytes | None,
        mime_type: str | None,
        record: bool = True,
    ) -> Obj:
        attachment_id = self._new_id()
        file_name = name or "file"
        siblings = [self.db["attachments"][a]["pos"] for a in card["idAttachments"]]
        attachment = {
            "id": attachment_id,
            "bytes": len(data) if data is not None else None,
            "date": iso(self._time()),
            "edgeColor": None,
            "idMember": self._actor_id(),
            "isUpload": data is not None,
            "mimeType": mime_type or "",
            "name": name or url or file_name,
            "previews": [],
            "url": url or "",
            "pos": self._position("bottom", siblings),
            "fileName": file_name if data is not None else None,
            "idCard": card["id"],
            "data": base64.b64encode(data).decode() if data is not None else None,
        }
        self.db["attachments"][attachment_id] = attachment
        card["idAttachments"].append(attachment_id)
        if record:
            shown = self._attachment_json(attachment)
            self._record(
                "addAttachmentToCard",
                {
                    "attachment": {"id": attachment_id, "name": shown["name"], "url": shown["url"]},
                    **self._card_data(card),
                },
            )
        return attachment

    def _card_attachment(self, card: Obj, attachment_id: str) -> Obj:
        if attachment_id not in card["idAttachments"]:
            if not HEX24.fullmatch(attachment_id):
                raise HttpError(400, "invalid id")
            raise HttpError(404, MODEL_NOT_FOUND)
        attachment: Obj = self.db["attachments"][attachment_id]
        return attachment

    @route("GET", rf"/1/cards/{ID}/attachments/(?P<idAttachment>[^/]+)")
    def card_attachment(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        attachment = self._card_attachment(card, req.params["idAttachment"])
        return self._attachment_json(attachment, self._params(req).fields("fields"))

    @route("GET", rf"/1/cards/{ID}/attachments/(?P<idAttachment>[^/]+)/download/(?P<fileName>.+)")
    def download_attachment(self, req: Request) -> Response:
        card = self._card(req.params["id"])
        attachment = self._card_attachment(card, req.params["idAttachment"])
        if attachment.get("data") is None:
            raise HttpError(404, NOT_FOUND)
        return Response(
            200,
            base64.b64decode(attachment["data"]),
            content_type=attachment["mimeType"] or "application/octet-stream",
        )

    @route("DELETE", rf"/1/cards/{ID}/attachments/(?P<idAttachment>[^/]+)")
    def delete_card_attachment(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        attachment = self._card_attachment(card, req.params["idAttachment"])
        card["idAttachments"].remove(attachment["id"])
        if card["idAttachmentCover"] == attachment["id"]:
            card["idAttachmentCover"] = None
        del self.db["attachments"][attachment["id"]]
        self._record(
            "deleteAttachmentFromCard",
            {
                "attachment": {"id": attachment["id"], "name": attachment["name"]},
                **self._card_data(card),
            },
        )
        return {"limits": {}}

    # --- batch ------------------------------------------------------------------------------------
    @route("GET", r"/1/batch")
    def batch(self, req: Request) -> JSON:
        """Up to 10 GET routes answered as ``[{"200": body}, {"404": {...}}, ...]``."""
        urls = [u.strip() for u in (self._params(req).text("urls") or "").split(",") if u.strip()]
        if not urls:
            raise HttpError(400, "invalid value for urls")
        if len(urls) > BATCH_MAX:
            raise HttpError(400, f"Too many routes in the batch; maximum is {BATCH_MAX}")
        return [self._batch_item(req, url) for url in urls]

    def _batch_item(self, parent: Request, url: str) -> Obj:
        split = urlsplit(url)
        path = split.path if split.path.startswith("/1/") else "/1" + split.path
        query = parse_qs(split.query, keep_blank_values=True)
        sub = Request("GET", path.rstrip("/"), query, parent.headers, b"")
        found = self._match("GET", sub.path) if path.startswith("/1/") else None
        if found is None or found[0].handler_name == "batch":
            return {"404": {"message": f"Cannot GET {path}", "error": "NOT_FOUND"}}
        response = self._invoke(found[0], found[1], sub)
        body = response.body
        if response.status >= 400:
            body = {
                "message": body if isinstance(body, str) else json.dumps(body),
                "error": "ERROR",
            }
        return {str(response.status): body}

    # --- webhooks ---------------------------------------------------------------------------------
    @route("POST", r"/1/webhooks")
    def create_webhook(self, req: Request) -> JSON:
        return self._create_webhook(self._params(req), self._ctx.token)

    @route("POST", r"/1/tokens/(?P<token>[^/]+)/webhooks")
    def create_token_webhook(self, req: Request) -> JSON:
        self._token_json(req.params["token"])
        return self._create_webhook(self._params(req), req.params["token"])

    def _create_webhook(self, p: Params, token: str) -> JSON:
        url = p.text("callbackURL") or ""
        if not re.match(r"https?://[^\s/]+", url):
            raise HttpError(400, "invalid value for callbackURL")
        model = p.text("idModel") or ""
        if self._model_json(model) is None:
            raise HttpError(400, "invalid value for idModel")
        for hook in self.db["webhooks"].values():
            if (hook["callbackURL"], hook["idModel"], hook["token"]) == (url, model, token):
                raise HttpError(
                    400, "A webhook with that callback, model, and token already exists"
                )
        if self.options.get("webhook_head_check"):
            self._head_check(url)
        hook_id = self._new_id()
        self.db["webhooks"][hook_id] = {
            "id": hook_id,
            "description": p.text("description") or "",
            "idModel": model,
            "callbackURL": url,
            "active": p.flag("active", True),
            "consecutiveFailures": 0,
            "firstConsecutiveFailDate": None,
            "token": token,
        }
        return self._webhook_json(self.db["webhooks"][hook_id])

    @staticmethod
    def _head_check(url: str) -> None:
        """Trello HEADs the callback once and wants a 200 before it saves the webhook."""
        try:
            status = requests.head(url, timeout=5, allow_redirects=False).status_code
        except requests.RequestException as exc:
            raise HttpError(
                400, f"URL ({url}) did not return 200 status code, got {exc!r}"
            ) from exc
        if status != 200:
            raise HttpError(400, f"URL ({url}) did not return 200 status code, got {status}")

    def _webhook(self, ref: str) -> Obj:
        hook = self._get("webhooks", ref)
        if hook["token"] != self._ctx.token:
            raise HttpError(401, NO_PERMISSION)
        return hook

    @route("GET", r"/1/tokens/(?P<token>[^/]+)/webhooks")
    def token_webhooks(self, req: Request) -> JSON:
        token = req.params["token"]
        self._token_json(token)
        return [self._webhook_json(h) for h in self.db["webhooks"].values() if h["token"] == token]

    @route("GET", r"/1/(?:tokens/(?P<token>[^/]+)/)?webhooks/(?P<id>[^/]+)")
    def get_webhook(self, req: Request) -> JSON:
        return self._webhook_json(self._webhook(req.params["id"]))

    @route("GET", rf"/1/webhooks/{ID}/(?P<field>{WEBHOOK_FIELDS})")
    def webhook_field(self, req: Request) -> JSON:
        return {"_value": self._webhook(req.params["id"])[req.params["field"]]}

    @route("PUT", r"/1/(?:tokens/(?P<token>[^/]+)/)?webhooks/(?P<id>[^/]+)")
    def update_webhook(self, req: Request) -> JSON:
        p = self._params(req)
        hook = self._webhook(req.params["id"])
        if p.has("callbackURL"):
            url = p.text("callbackURL") or ""
            if not re.match(r"https?://[^\s/]+", url):
                raise HttpError(400, "invalid value for callbackURL")
            hook["callbackURL"] = url
        if p.has("idModel"):
            if self._model_json(p.text("idModel") or "") is None:
                raise HttpError(400, "invalid value for idModel")
            hook["idModel"] = p.text("idModel")
        if p.has("description"):
            hook["description"] = p.text("description") or ""
        if p.has("active"):
            hook["active"] = p.flag("active")
        return self._webhook_json(hook)

    @route("DELETE", r"/1/(?:tokens/(?P<token>[^/]+)/)?webhooks/(?P<id>[^/]+)")
    def delete_webhook(self, req: Request) -> JSON:
        hook = self._webhook(req.params["id"])
        del self.db["webhooks"][hook["id"]]
        return {"_value": None}


def _units(text: str) -> int:
    """Text length as Trello counts it: UTF-16 code units, like a JavaScript string."""
    return len(text.encode("utf-16-le")) // 2
