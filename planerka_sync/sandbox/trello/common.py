"""What every area of the Trello emulator shares: limits, error texts, formats, parameters.

Only what more than one area needs lives here; each area module keeps its own limits. Shared:
the text limit (TEXT_MAX, 16,384, counted as Trello counts it in UTF-16 code units by
``_units``), the limit on actions (ACTIONS_MAX, 1,000; a nested ``actions=`` answers the newest
50 unless ``actions_limit`` says otherwise), the error texts Trello answers with, its timestamp
format (``iso``) and ids (24 hex digits, the first 8 the creation time; seeded objects carry
SEED_EPOCH). ``Params`` reads a request's parameters as Trello does, and a value it cannot read
is a 400 "invalid value for <name>".
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from planerka_sync.sandbox.core import HttpError, MultipartPart

Obj = dict[str, Any]

SEED_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z: the creation time of seeded objects
ACTIONS_MAX = 1000
# A nested ``actions=`` returns the newest 50 unless ``actions_limit`` (at most 1000) says
# otherwise: older comments need GET /1/cards/{id}/actions?before=... to be seen at all.
NESTED_ACTIONS_DEFAULT = 50
TEXT_MAX = 16384
NOT_FOUND = "The requested resource was not found."
MODEL_NOT_FOUND = "model not found"
NO_PERMISSION = "unauthorized permission requested"
HEX24 = re.compile(r"[0-9a-fA-F]{24}")
SHORT_LINK = re.compile(r"[0-9A-Za-z]{8}")
LABEL_COLORS = ("green", "yellow", "orange", "red", "purple", "blue")
ALL_COLORS = (*LABEL_COLORS, "black", "sky", "pink", "lime")

# The object a route's path names (an id, a shortLink, a username or ``me``).
ID = r"(?P<id>[^/]+)"


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


def _units(text: str) -> int:
    """Text length as Trello counts it: UTF-16 code units, like a JavaScript string."""
    return len(text.encode("utf-16-le")) // 2


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


# Here rather than in webhooks.py because the storage (state.py) owns the outbox.
@dataclass
class Delivery:
    """One webhook POST waiting for the courier thread."""

    webhook_id: str
    url: str
    body: bytes
    signature: str
