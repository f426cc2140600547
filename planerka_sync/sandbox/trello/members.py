"""Members, Workspaces (organizations) and tokens: who the caller is and what they may see.

``/1/members/{id|username|me}`` with the member's boards and cards (``email`` is answered to the
member themselves only), ``/1/organizations/{id}`` (the Workspace every board belongs to,
visible to its members only: 401 otherwise) and ``/1/tokens/{token}`` (the caller's own token or
one the seed's ``credentials`` name; any other is a 401 "invalid token").
"""

from __future__ import annotations

import hashlib

from planerka_sync.sandbox import seed as demo
from planerka_sync.sandbox.core import JSON, HttpError, Request, route

from .base import TrelloBase
from .common import ID, NO_PERMISSION, SEED_EPOCH, CardView, Obj, iso, pick

MEMBER_FIELDS = "username|fullName|initials|email|idBoards|url|bio|avatarUrl|confirmed|status"


class MembersApi(TrelloBase):
    """/1/members, /1/organizations and /1/tokens."""

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
