"""Lists: ``/1/lists`` - a list, its cards and actions, moving or archiving all its cards.

A new list's name is 1 to 16,384 characters, a renamed one must not be empty; a list filter is
``all``, ``open``, ``closed`` or ``none`` (else a 400). A list's cards are listed with the same
1,000-card cap and cursors as a board's (boards.py). Archiving or moving all of a list's cards
records one card change (updateCard) each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from planerka_sync.sandbox.core import JSON, HttpError, Request, route

from .base import TrelloBase
from .common import ID, TEXT_MAX, CardView, Obj, Params

LIST_FIELDS = "name|closed|pos|idBoard|subscribed"


class ListsApi(TrelloBase):
    """/1/lists."""

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
