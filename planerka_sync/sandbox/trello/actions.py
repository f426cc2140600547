"""Actions and comments: ``/1/actions``, a card's comments, and the paging of action lists.

Every change is an action (state.py records them); comments are ``commentCard`` actions. A
comment is 1 to 16,384 UTF-16 code units; only comments can be edited or deleted (else a 400),
and only by their author (else a 401). Action lists filter by ``type`` or ``type:field``
(a card's default: commentCard,updateCard:idList), come newest first, ``limit`` at most 1,000
(default 50) with ``page``, and page with ``since``/``before``: an action id or a date, both
exclusive. Board card listings page with the same cursors (boards.py).
"""

from __future__ import annotations

from collections.abc import Callable

from planerka_sync.sandbox.core import JSON, HttpError, Request, route

from .base import TrelloBase
from .common import (
    ACTIONS_MAX,
    HEX24,
    ID,
    MODEL_NOT_FOUND,
    NO_PERMISSION,
    TEXT_MAX,
    Obj,
    Params,
    _units,
    id_time,
    iso,
    parse_when,
    pick,
)

CARD_ACTIONS_DEFAULT = "commentCard,updateCard:idList"  # the reference's default filter
ACTION_FIELDS = "data|date|type|idMemberCreator|display"


class ActionsApi(TrelloBase):
    """/1/actions, a card's comments and actions, and the action cursors every area pages with."""

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
