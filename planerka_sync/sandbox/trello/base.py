"""What every Trello API area builds on: request parameters and Trello's JSON shapes.

``TrelloBase`` adds to the storage (state.py) how a request's parameters are read (the query
string merged with a urlencoded, JSON or multipart body; a body that is not JSON is a 400
"Invalid JSON") and how objects are answered: the ``fields`` asked for (``id`` always), a card's
nested resources, the member summary, the ``limits`` Trello attaches to comments, and the web
URLs (host from the ``web_url`` option, default https://trello.com).

It also declares, for the type checker only, the helpers one area borrows from another; at run
time ``TrelloEmulator`` (emulator.py) is composed of all the areas, so each is found there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from planerka_sync.sandbox.core import JSON, HttpError, Request

from .common import ALL_COLORS, CardView, Obj, Params, pick, slug
from .state import TrelloState

WEB_URL = "https://trello.com"
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


class TrelloBase(TrelloState):
    """The base of every area mixin: storage, parameters, rendering."""

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

    # --- helpers one area borrows from another --------------------------------------------------
    # Declared for the type checker only; at run time TrelloEmulator finds them on the area
    # mixins named in the comments (a signature that drifts from its area's is a mypy error).
    if TYPE_CHECKING:
        # boards.py: board card listings and labels
        def _cards_of(self, board_id: str) -> list[Obj]: ...
        def _filter_cards(self, cards: list[Obj], card_filter: str) -> list[Obj]: ...
        def _card_window(self, cards: list[Obj], p: Params) -> list[Obj]: ...
        def _create_label(self, board: Obj, p: Params) -> JSON: ...

        # lists.py
        def _lists_of(
            self, board_id: str, list_filter: str, fields: list[str] | None
        ) -> list[Obj]: ...
        def _create_list(self, board: Obj, p: Params) -> JSON: ...

        # cards.py
        def _apply_card_change(self, card: Obj, field: str, value: Any) -> None: ...

        # checklists.py
        def _copy_checklist(
            self, source: Obj, card: Obj, name: str | None = None, pos: Any = "bottom"
        ) -> Obj: ...

        # actions.py: action queries and cursors, comments
        @staticmethod
        def _action_filter(spec: str) -> Callable[[Obj], bool]: ...
        def _window(self, objs: list[Obj], p: Params) -> list[Obj]: ...
        def _limit(self, p: Params, default: int = 50) -> int: ...
        def _page(self, objs: list[Obj], p: Params) -> list[Obj]: ...
        def _card_actions(self, card: Obj, spec: str) -> list[Obj]: ...
        def _add_comment(self, card: Obj, text: str, author: str | None) -> Obj: ...

        # attachments.py
        @staticmethod
        def _check_url(url: str, name: str) -> None: ...
        def _add_attachment(
            self,
            card: Obj,
            name: str | None,
            url: str | None,
            data: bytes | None,
            mime_type: str | None,
            record: bool = True,
        ) -> Obj: ...

        # members.py
        def _token_json(self, token: str) -> Obj: ...

        # webhooks.py
        def _models_of(self, action: Obj) -> set[str]: ...
