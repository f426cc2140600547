"""Boards and their labels: ``/1/boards`` with its nested resources, and ``/1/labels``.

A new board's name is 1 to 16,384 characters; it gets Trello's six blank labels and the lists
To Do, Doing and Done unless ``defaultLabels``/``defaultLists`` are false. Board card listings
answer at most 1,000 cards (CARDS_MAX, below); GET /1/boards/{id} nests at most
``actions_limit`` actions (default 50, at most 1,000). A label's colour is one of Trello's ten or
none; anything else is a 400.
"""

from __future__ import annotations

from collections.abc import Callable

from planerka_sync.sandbox.core import JSON, HttpError, Request, route

from .base import TrelloBase
from .common import (
    ALL_COLORS,
    HEX24,
    ID,
    LABEL_COLORS,
    NOT_FOUND,
    TEXT_MAX,
    CardView,
    Obj,
    Params,
    _nested_actions_limit,
)

# Board card listings answer at most 1,000 cards (``limit`` at most 1000; page with ``before``,
# card ids being time-ordered). A nested ``cards=`` cannot be paged, so more than that is refused
# as Trello refuses it; a plain listing without ``limit`` is capped at the newest 1,000 (what
# Trello answers there is not documented: a cap loses cards just as visibly to a client that
# does not page).
CARDS_MAX = 1000
TOO_MANY_CARDS = {"error": "API_TOO_MANY_CARDS_REQUESTED", "message": "Requested too many cards"}
BOARD_DEFAULT_FIELDS = (
    "name,desc,descData,closed,idOrganization,pinned,url,shortUrl,prefs,labelNames"
)
BOARD_FIELDS = (
    "name|desc|descData|closed|url|shortUrl|shortLink|dateLastActivity|idOrganization|labelNames|"
    "prefs|pinned"
)


class BoardsApi(TrelloBase):
    """/1/boards (and the card listing rules boards, lists and members share), /1/labels."""

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
            found = self._window(
                found,
                Params({"since": p.text("actions_since"), "before": p.text("actions_before")}),
            )
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
