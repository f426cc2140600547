"""Search (``GET /1/search``): cards, boards, members and Workspaces by the words they contain.

Trello's search is a full-text index; the sandbox matches words instead: every term of the query
(a "quoted phrase" is one term) must occur as a whole word, or as a word's start with
partial=true, in a card's or board's name or description, or a member's or workspace's names.
Search operators (board:, is:, @me ...) are not emulated: they match as plain words. Only boards
the caller is a member of are searched; archived cards and boards are left out.

Limits: an empty ``query`` is a 400, ``modelTypes`` must be known ones, and each
``*_limit`` is 1 to 1,000 (default 10; 8 for members). Actions are never found.
"""

from __future__ import annotations

import re

from planerka_sync.sandbox.core import JSON, HttpError, Request, route

from .base import TrelloBase
from .common import CardView, Obj, Params, pick


class SearchApi(TrelloBase):
    """GET /1/search."""

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
        out: JSON = {
            "options": {
                "terms": [{"text": t} for t in terms],
                "modifiers": [],
                "modelTypes": models,
                "partial": partial,
            }
        }
        if "cards" in models:
            cards = [
                c
                for b in boards
                for c in self._cards_of(b["id"])
                if not c["closed"] and hit(c["name"], c["desc"])
            ]
            view = CardView.of(p, "card_")
            out["cards"] = [
                self._card_json(c, view) for c in cards[: self._search_limit(p, "cards_limit", 10)]
            ]
        if "boards" in models:
            found = [b for b in boards if hit(b["name"], b.get("desc") or "")]
            fields = p.fields("board_fields", "name,idOrganization")
            out["boards"] = [
                self._board_json(b, fields)
                for b in found[: self._search_limit(p, "boards_limit", 10)]
            ]
        if "members" in models:
            members = [
                m
                for m in self.db["members"].values()
                if hit(m.get("fullName") or "", m.get("username") or "")
            ]
            fields = p.fields("member_fields", "avatarHash,fullName,initials,username,confirmed")
            out["members"] = [
                self._member_json(m, fields)
                for m in members[: self._search_limit(p, "members_limit", 8)]
            ]
        if "organizations" in models:
            orgs = [
                o
                for o in self.db["organizations"].values()
                if self._ctx.member in o["idMembers"] and hit(o["name"], o["displayName"])
            ]
            fields = p.fields("organization_fields", "name,displayName")
            out["organizations"] = [
                pick(
                    {
                        "id": o["id"],
                        "name": o["name"],
                        "displayName": o["displayName"],
                        "desc": o["desc"],
                        "url": f"{self._web()}/w/{o['name']}",
                    },
                    fields,
                )
                for o in orgs[: self._search_limit(p, "organizations_limit", 10)]
            ]
        if "actions" in models:
            out["actions"] = []  # comments and other actions are not indexed by the sandbox
        return out

    @staticmethod
    def _multi(req: Request, name: str) -> list[str]:
        """A list parameter sent either repeated (py-trello, requests) or comma-separated."""
        return [
            item.strip()
            for value in req.query.get(name) or []
            for item in value.split(",")
            if item.strip()
        ]

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
        boards = [
            b for b in self.db["boards"].values() if actor in b["idMembers"] and not b["closed"]
        ]
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
