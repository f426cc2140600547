"""Checklists and check items: ``/1/checklists`` and a card's checklists and checkItems.

Check items carry Trello's native member (``idMember``, a member of the board) and due date. A
checklist's name is at most 16,384 characters and a renamed one must not be empty; a check item's
name is 1 to 16,384 UTF-16 code units; ``state`` is ``complete``/``incomplete`` (or
``true``/``false``), anything else a 400. A state change records updateCheckItemStateOnCard,
other edits but ``pos`` updateCheckItem. A checklist copied with ``idChecklistSource`` (or with a
card) gets new ids and drops members who are not on the target board.
"""

from __future__ import annotations

from typing import Any

from planerka_sync.sandbox.core import JSON, HttpError, Request, route

from .base import TrelloBase
from .common import ID, MODEL_NOT_FOUND, TEXT_MAX, Obj, Params, _units


class ChecklistsApi(TrelloBase):
    """/1/checklists and /1/cards/{id}/checklists, checkItem, checkItemStates."""

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
