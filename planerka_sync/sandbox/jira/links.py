"""Jira issue links and their types.

Routes (prefix ``/rest/api/{2,3,latest}``): ``issueLinkType``, ``POST issueLink``,
``GET/DELETE issueLink/{id}``.

Rules: the link types are Jira's defaults (Blocks, Cloners, Duplicate, Relates; an unknown one
answers 404); both issues must exist and be visible (404 otherwise); linking the same pair with
the same type again changes nothing, as Jira does not duplicate links; an optional ``comment``
goes to the inward issue. Both ends record the link in their changelog.
"""

from __future__ import annotations

import copy
from typing import Any

from planerka_sync.sandbox.core import HttpError, Request, Response, route
from planerka_sync.sandbox.jira.common import API, JSON, FieldError, Rec, bad_request, not_found
from planerka_sync.sandbox.jira.render import RenderMixin


class LinksMixin(RenderMixin):
    """Routes: issue link types and issue links."""

    @route("GET", API + "/issueLinkType")
    def get_link_types(self, req: Request) -> JSON:
        return {
            "issueLinkTypes": [self.link_type_json(t, self.ver(req)) for t in self.db["link_types"]]
        }

    def _link_type(self, ref: Any) -> str:
        if isinstance(ref, dict):
            for tid, ltype in self.db["link_types"].items():
                if str(ref.get("id")) == tid or ref.get("name") == ltype["name"]:
                    return str(tid)
            shown = ref.get("name", ref.get("id"))
            raise not_found(f"No issue link type with name '{shown}' found.")
        raise bad_request(messages=["Issue link type must be specified."])

    def _linked_issue(self, ref: Any) -> Rec:
        if not isinstance(ref, dict) or not (ref.get("key") or ref.get("id")):
            raise bad_request(messages=["Issue must be specified by 'id' or 'key'."])
        try:
            return self._issue_rec(str(ref.get("key") or ref.get("id")))
        except HttpError as exc:
            raise not_found(
                f"Issue '{ref.get('key') or ref.get('id')}' does not exist or you do not have "
                "permission to see it."
            ) from exc

    @route("POST", API + "/issueLink")
    def link_issues(self, req: Request) -> Response:
        v = self.ver(req)
        body = req.json()
        if not isinstance(body, dict):
            raise bad_request(messages=["Can not deserialize the request: expected an object."])
        tid = self._link_type(body.get("type"))
        inward = self._linked_issue(body.get("inwardIssue"))
        outward = self._linked_issue(body.get("outwardIssue"))
        if self.find_link(tid, inward["id"], outward["id"]) is not None:
            return Response(201)  # Jira does not duplicate an existing link
        comment = body.get("comment")
        stored_comment = None
        if isinstance(comment, dict) and "body" in comment:
            try:
                stored_comment = self.rich_in(comment["body"], v, "comment")
            except FieldError as err:
                raise bad_request({"comment": str(err)}) from err
        self.store_link(tid, inward, outward)
        if stored_comment is not None:
            self._new_comment(inward, self.actor(), stored_comment, self.now())
        return Response(201)

    def find_link(self, tid: str, inward: str, outward: str) -> Rec | None:
        return next((link for link in self.db["links"].values()
                     if (link["type"], link["inward"], link["outward"]) == (tid, inward, outward)),
                    None)

    def store_link(self, tid: str, inward: Rec, outward: Rec) -> None:
        """A new link; both ends record it (changelog, ``updated``, search staging)."""
        lid = self.next_id("link")
        self.db["links"][lid] = {"id": lid, "type": tid, "inward": inward["id"],
                                 "outward": outward["id"]}
        ltype = self.db["link_types"][tid]
        for rec, other, verb in (
            (inward, outward, ltype["outward"]),
            (outward, inward, ltype["inward"]),
        ):
            before = copy.deepcopy(rec)
            rec["links"].append(lid)
            self.stage_for_search(rec["id"], before)
            self.touch(
                rec,
                [
                    self.change_item(
                        "Link", None, other["key"], None, f"This issue {verb} {other['key']}"
                    )
                ],
            )

    def create_links(self, rec: Rec, ops: Any) -> None:
        """``update.issuelinks`` of a create: ``[{"add": {"type": ..., "outwardIssue" |
        "inwardIssue": ...}}]``, the other end named from the new issue's side (its
        ``outwardIssue`` makes the new issue the link's inward end, as GET issue shows it).
        Checked by :meth:`check_create_links` before the issue was made."""
        for op in ops:
            spec = op["add"]
            tid = self._link_type(spec.get("type"))
            if "outwardIssue" in spec:
                self.store_link(tid, rec, self._linked_issue(spec["outwardIssue"]))
            else:
                self.store_link(tid, self._linked_issue(spec["inwardIssue"]), rec)

    def check_create_links(self, ops: Any) -> None:
        """400 with ``errors.issuelinks`` for what Jira refuses in a create's ``issuelinks``:
        the field off the create screen (option ``create_screen_links`` false), anything but
        ``add`` of one other issue, an unknown link type or issue."""
        if self.options.get("create_screen_links") is False:
            raise bad_request({"issuelinks": "Field 'issuelinks' cannot be set. It is not on "
                                             "the appropriate screen, or unknown."})
        problem = None
        if not isinstance(ops, list) or not ops:
            problem = "Operation value must be an array of operations."
        for op in ops if problem is None else []:
            spec = op.get("add") if isinstance(op, dict) and len(op) == 1 else None
            if not isinstance(spec, dict):
                problem = "The operation is not supported by the field 'issuelinks'."
                break
            ends = [e for e in ("outwardIssue", "inwardIssue") if e in spec]
            if len(ends) != 1:
                problem = "An issue link needs exactly one of 'outwardIssue' or 'inwardIssue'."
                break
            try:
                self._link_type(spec.get("type"))
                self._linked_issue(spec[ends[0]])
            except HttpError as err:
                body = err.response.body if isinstance(err.response.body, dict) else {}
                problem = "; ".join(body.get("errorMessages") or []) or "Invalid issue link."
                break
        if problem is not None:
            raise bad_request({"issuelinks": problem})

    @route("GET", API + r"/issueLink/(?P<lid>[^/]+)")
    def get_issue_link(self, req: Request) -> JSON:
        link = self.db["links"].get(req.params["lid"])
        if link is None:
            raise not_found(f"No issue link with id '{req.params['lid']}' exists.")
        self._issue(link["inward"])
        return self.issue_link_json(link, None, self.ver(req))

    @route("DELETE", API + r"/issueLink/(?P<lid>[^/]+)")
    def delete_issue_link(self, req: Request) -> Response:
        link = self.db["links"].get(req.params["lid"])
        if link is None:
            raise not_found(f"No issue link with id '{req.params['lid']}' exists.")
        for iid in (link["inward"], link["outward"]):
            rec = self._issue_rec(iid)
            before = copy.deepcopy(rec)
            rec["links"].remove(link["id"])
            self.stage_for_search(iid, before)
            self.touch(rec)
        del self.db["links"][link["id"]]
        return Response(204)
