"""The Trello emulator's storage: ids, the clock, the action log, making and finding objects.

``TrelloState`` holds what every API area works on: ``self.db`` (Trello-shaped dicts, kept
JSON-serialisable), ids made like Mongo ObjectIds (creation time, then a counter, so they sort by
creation; seeded objects carry SEED_EPOCH), and the action log every change is recorded in (which
also touches ``dateLastActivity`` and hands the action to the webhooks). The rules kept here are
the ones every area applies the same way: ``pos`` is ``top``, ``bottom`` or a non-negative number
(a new object goes POS_STEP below the last), a malformed id is a 400 "invalid id" and an unknown
one a 404, and a private board and everything on it is visible to its members only (401).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from planerka_sync.sandbox import seed as demo
from planerka_sync.sandbox.core import JSON, Emulator, HttpError

from .common import (
    HEX24,
    MODEL_NOT_FOUND,
    NO_PERMISSION,
    NOT_FOUND,
    SEED_EPOCH,
    SHORT_LINK,
    Delivery,
    Obj,
    iso,
    parse_when,
    short_link,
)

POS_STEP = 16384.0


class TrelloState(Emulator):
    """Storage and the helpers every area uses; the area mixins add the routes."""

    def __init__(self, seed: JSON | None = None, options: dict[str, Any] | None = None) -> None:
        self._ctx = threading.local()
        self._seeding = False
        self._windows: dict[str, deque[float]] = {}
        self._outbox: queue.Queue[Delivery] = queue.Queue()
        self._courier: threading.Thread | None = None
        self.deliveries: list[dict[str, Any]] = []
        super().__init__(seed, options)

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

    def _member_ref(self, ref: str) -> Obj:
        """A member by id or username (seeds and credentials use either)."""
        if ref in self.db["members"]:
            found: Obj = self.db["members"][ref]
            return found
        for member in self.db["members"].values():
            if member["username"] == ref:
                return member
        raise ValueError(f"no member {ref!r}")

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

    # --- implemented by an area (declared for the type checker; see base.py) --------------------
    if TYPE_CHECKING:
        # webhooks.py: queue the action for the webhooks watching one of its models.
        def _notify(self, action: Obj) -> None: ...
