"""Seeding the Trello emulator: the demo team's board by default, or a seed given as JSON.

The seed format is described in the package docstring (``__init__.py``). A seed that does not
fit it is a 400 ("a Trello seed is a JSON object", "bad Trello seed: ..."). Every board belongs to
the one Workspace; a board without ``labels`` gets Trello's six blank ones, and ``generate`` makes
bulk cards. While seeding, objects carry the time SEED_EPOCH and their actions reach no webhook.
"""

from __future__ import annotations

from planerka_sync.sandbox import seed as demo
from planerka_sync.sandbox.core import JSON, HttpError

from .base import TrelloBase
from .common import LABEL_COLORS, Obj, initials, iso, parse_when, slug


class SeedingApi(TrelloBase):
    """``default_seed`` and ``load_seed`` (core.Emulator's hooks) for Trello's objects."""

    def default_seed(self) -> JSON:
        members = [
            {
                "id": p["trello_id"],
                "username": p["trello_username"],
                "fullName": p["name"],
                "email": p["email"],
            }
            for p in demo.DEFAULT_PEOPLE
        ]
        board = {"name": demo.TRELLO_BOARD_NAME, "lists": list(demo.TRELLO_LISTS)}
        return {"members": members, "boards": [board]}

    def load_seed(self, seed: JSON) -> None:
        if not isinstance(seed, dict):
            raise HttpError(400, {"error": "a Trello seed is a JSON object"})
        self.db = {
            "seq": 0,
            "members": {},
            "boards": {},
            "lists": {},
            "cards": {},
            "checklists": {},
            "labels": {},
            "actions": {},
            "attachments": {},
            "webhooks": {},
            "organizations": {},
            "credentials": list(seed.get("credentials") or []),
        }
        self._ctx.member = None  # a control request's thread may still carry an old actor
        self._seeding = True
        try:
            for member in seed.get("members", []):
                self._seed_member(member)
            self._seed_organization(seed.get("organization") or {})
            boards = [self._seed_board(b) for b in seed.get("boards", [])]
            if seed.get("generate"):
                spec = seed["generate"]
                board = self._seed_ref_board(spec.get("board"), boards)
                self._generate(board, spec)
        except (KeyError, TypeError, ValueError) as exc:
            raise HttpError(400, {"error": f"bad Trello seed: {exc!r}"}) from exc
        finally:
            self._seeding = False

    def _seed_organization(self, spec: Obj) -> Obj:
        """The Workspace every board belongs to (Trello no longer has boards outside one)."""
        org_id = spec.get("id") or self._new_id()
        display = spec.get("displayName") or demo.TRELLO_BOARD_NAME
        org = {
            "id": org_id,
            "name": spec.get("name") or slug(display).lower() + "-workspace",
            "displayName": display,
            "desc": spec.get("desc", ""),
            "idMembers": list(self.db["members"]),
        }
        self.db["organizations"][org_id] = org
        return org

    def _seed_member(self, spec: Obj) -> Obj:
        member_id = spec.get("id") or self._new_id()
        full_name = spec.get("fullName") or spec["username"]
        member = {
            "id": member_id,
            "username": spec["username"],
            "fullName": full_name,
            "initials": spec.get("initials") or initials(full_name),
            "email": spec.get("email"),
        }
        self.db["members"][member_id] = member
        return member

    def _seed_board(self, spec: Obj) -> Obj:
        refs = spec.get("members")
        members = (
            [self._member_ref(r) for r in refs]
            if refs is not None
            else list(self.db["members"].values())
        )
        creator = members[0]["id"] if members else None
        board = self._make_board(
            spec["name"], spec.get("desc", ""), [m["id"] for m in members], creator, spec.get("id")
        )
        board["closed"] = bool(spec.get("closed", False))
        for label in spec.get("labels") or [{"name": "", "color": c} for c in LABEL_COLORS]:
            self._make_label(board, label.get("name", ""), label.get("color"), label.get("id"))
        for item in spec.get("lists", []):
            item = {"name": item} if isinstance(item, str) else item
            lst = self._make_list(board, item["name"], "bottom", item.get("id"))
            lst["closed"] = bool(item.get("closed", False))
        for card in spec.get("cards", []):
            self._seed_card(board, card)
        if spec.get("generate"):
            self._generate(board, spec["generate"])
        return board

    def _seed_ref_board(self, ref: str | None, boards: list[Obj]) -> Obj:
        for board in boards:
            if ref in (None, board["id"], board["name"]):
                return board
        raise ValueError(f"generate: no board {ref!r}")

    def _seed_list(self, board: Obj, ref: str | None) -> Obj:
        lists = self._board_lists(board["id"])
        for lst in lists:
            if ref in (None, lst["id"], lst["name"]):
                return lst
        raise ValueError(f"no list {ref!r} on board {board['name']!r}")

    def _seed_card(self, board: Obj, spec: Obj) -> Obj:
        lst = self._seed_list(board, spec.get("list"))
        labels = [self._seed_label(board, ref)["id"] for ref in spec.get("labels", [])]
        card = self._make_card(
            lst, spec.get("name", ""), spec.get("desc", ""), "bottom", spec.get("id")
        )
        card.update(
            due=self._date_or_none(spec.get("due"), "due"),
            start=self._date_or_none(spec.get("start"), "start"),
            dueComplete=bool(spec.get("dueComplete", False)),
            closed=bool(spec.get("closed", False)),
            isTemplate=bool(spec.get("isTemplate", False)),
            idMembers=[self._member_ref(r)["id"] for r in spec.get("members", [])],
            idLabels=labels,
        )
        self._record("createCard", self._card_data(card), self._actor_id())
        for checklist in spec.get("checklists", []):
            self._seed_checklist(card, checklist)
        for comment in spec.get("comments", []):
            self._seed_comment(card, comment)
        for attachment in spec.get("attachments", []):
            content = attachment.get("content")
            data = content.encode() if isinstance(content, str) else None
            self._add_attachment(
                card,
                attachment.get("name"),
                attachment.get("url"),
                data,
                attachment.get("mimeType"),
            )
        return card

    def _seed_label(self, board: Obj, ref: str) -> Obj:
        for label in self._board_labels(board["id"]):
            if ref in (label["id"], label["name"]) or (not label["name"] and ref == label["color"]):
                return label
        return self._make_label(board, ref, None)

    def _seed_checklist(self, card: Obj, spec: Obj) -> None:
        checklist = self._make_checklist(card, spec.get("name", "Checklist"), "bottom")
        for item in spec.get("items", []):
            item = {"name": item} if isinstance(item, str) else item
            state = item.get("state") or ("complete" if item.get("checked") else "incomplete")
            member = self._member_ref(item["member"])["id"] if item.get("member") else None
            self._make_check_item(
                checklist,
                item["name"],
                "bottom",
                state,
                self._date_or_none(item.get("due"), "due"),
                member,
            )

    def _seed_comment(self, card: Obj, spec: Obj) -> None:
        author = self._member_ref(spec["member"])["id"] if spec.get("member") else self._actor_id()
        action = self._add_comment(card, spec["text"], author)
        if spec.get("date"):
            action["date"] = iso(parse_when(spec["date"], "date"))

    def _generate(self, board: Obj, spec: Obj) -> None:
        """Bulk cards: ``{"cards": N, "list": name, "checklists": k, "items": m}``."""
        lst = self._seed_list(board, spec.get("list"))
        for n in range(int(spec.get("cards", 0))):
            card = self._make_card(
                lst, f"{spec.get('prefix', 'Generated card')} {n + 1}", "", "bottom"
            )
            for c in range(int(spec.get("checklists", 0))):
                checklist = self._make_checklist(card, f"Checklist {c + 1}", "bottom")
                for i in range(int(spec.get("items", 0))):
                    self._make_check_item(
                        checklist, f"Item {i + 1}", "bottom", "incomplete", None, None
                    )
