"""Cards: ``/1/cards`` - create (also as a copy of a template card), read, update, delete,
and a card's members and labels.

A card's name and description are at most 16,384 UTF-16 code units (TEXT_MAX), on create as on
update, and a name set by an update must not be empty. Members must be members of the board and
labels labels of the board; the cover must be one of the card's attachments; ``idList`` must be a
list of the same board (moving a card to another board is not emulated: a 400).
``idCardSource`` copies a card: ``keepFromSource`` (default ``all``) says what comes along,
explicit parameters win, and ``isTemplate`` is never copied. Changes record Trello's actions
(updateCard with ``data.old``, addMemberToCard, addLabelToCard ...); ``subscribed`` records none.
"""

from __future__ import annotations

import base64
from typing import Any

from planerka_sync.sandbox.core import JSON, HttpError, MultipartPart, Request, route

from .base import TrelloBase
from .boards import BOARD_DEFAULT_FIELDS
from .common import ID, MODEL_NOT_FOUND, TEXT_MAX, CardView, Obj, Params, _units

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
CARD_FIELDS_RW = (
    "name|desc|closed|idList|idBoard|due|start|dueComplete|pos|subscribed|idAttachmentCover"
)
CARD_FIELDS_RO = (
    CARD_FIELDS_RW + "|badges|dateLastActivity|idShort|idMembers|idLabels|idChecklists|labels|"
    "shortLink|shortUrl|url|descData"
)


class CardsApi(TrelloBase):
    """/1/cards and a card's fields, members and labels."""

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
