"""Jira issue comments: list (paged), add, get, edit, delete.

Routes (prefix ``/rest/api/{2,3,latest}``): ``GET/POST issue/{idOrKey}/comment``,
``GET/PUT/DELETE issue/{idOrKey}/comment/{id}``.

Limits: a page holds at most ``COMMENT_PAGE_MAX`` (100) comments, a larger ``maxResults`` is
silently clamped (so a client must page); a body is the flavour's rich text (ADF on Cloud v3,
a string elsewhere) of at most 32,767 characters, and a request without one is refused. Every
change bumps the issue's ``updated`` and fires the comment webhooks.
"""

from __future__ import annotations

import copy

from planerka_sync.sandbox.core import Request, Response, route
from planerka_sync.sandbox.jira.common import (
    API,
    ID,
    JSON,
    FieldError,
    Rec,
    bad_request,
    int_arg,
    not_found,
    split_list,
)
from planerka_sync.sandbox.jira.render import RenderMixin

# GET issue/{key}/comment pages 100 at a time on Cloud (default and silent clamp). Data Center
# documents a default of 50 yet has been seen answering everything without maxResults: unsure,
# so both flavours get Cloud's stricter 100 here and a client must page either way.
COMMENT_PAGE_MAX = 100


class CommentsMixin(RenderMixin):
    """Routes: the comments of an issue."""

    @route("GET", API + "/issue/" + ID + "/comment")
    def list_comments(self, req: Request) -> JSON:
        rec = self._issue(req.params["key"])
        comments = [self.db["comments"][c] for c in rec["comments"] if c in self.db["comments"]]
        order = req.arg("orderBy") or "created"
        comments.sort(key=lambda c: (c["created"], int(c["id"])), reverse=order.startswith("-"))
        rendered = "renderedBody" in split_list(req.query.get("expand"))
        start = max(int_arg(req, "startAt", 0), 0)
        limit = min(max(int_arg(req, "maxResults", COMMENT_PAGE_MAX), 0), COMMENT_PAGE_MAX)
        chunk = comments[start : start + limit]
        return {
            "startAt": start,
            "maxResults": limit,
            "total": len(comments),
            "comments": [self.comment_json(c, self.ver(req), rendered) for c in chunk],
        }

    @route("POST", API + "/issue/" + ID + "/comment")
    def add_comment(self, req: Request) -> Response:
        v = self.ver(req)
        rec = self._issue_rec(req.params["key"])
        stored = self.comment_body(req, v)
        before = copy.deepcopy(rec)
        comment = self._new_comment(rec, self.actor(), stored, self.now())
        self.stage_for_search(rec["id"], before)
        self.touch(rec)
        self.webhooks.comment_changed(rec, comment, "created")
        return Response(201, self.comment_json(comment, v))

    def comment_body(self, req: Request, v: str) -> JSON:
        body = req.json()
        if not isinstance(body, dict) or "body" not in body:
            raise bad_request({"comment": "Comment body can not be empty!"})
        try:
            return self.rich_in(body["body"], v, "comment")
        except FieldError as err:
            raise bad_request({"comment": str(err)}) from err

    def _comment(self, req: Request) -> tuple[Rec, Rec]:
        rec = self._issue_rec(req.params["key"])
        comment = self.db["comments"].get(req.params["cid"])
        if comment is None or comment["issue"] != rec["id"]:
            raise not_found(f"Can not find a comment for the id: {req.params['cid']}.")
        return rec, comment

    @route("GET", API + "/issue/" + ID + r"/comment/(?P<cid>[^/]+)")
    def get_comment(self, req: Request) -> JSON:
        _, comment = self._comment(req)
        rendered = "renderedBody" in split_list(req.query.get("expand"))
        return self.comment_json(comment, self.ver(req), rendered)

    @route("PUT", API + "/issue/" + ID + r"/comment/(?P<cid>[^/]+)")
    def edit_comment(self, req: Request) -> JSON:
        v = self.ver(req)
        rec, comment = self._comment(req)
        stored = self.comment_body(req, v)
        before = copy.deepcopy(rec)
        comment.update(body=stored, updated=self.now(), update_author=self.actor())
        self.stage_for_search(rec["id"], before)
        self.touch(rec)
        self.webhooks.comment_changed(rec, comment, "updated")
        return self.comment_json(comment, v)

    @route("DELETE", API + "/issue/" + ID + r"/comment/(?P<cid>[^/]+)")
    def delete_comment(self, req: Request) -> Response:
        rec, comment = self._comment(req)
        before = copy.deepcopy(rec)
        del self.db["comments"][comment["id"]]
        rec["comments"].remove(comment["id"])
        self.stage_for_search(rec["id"], before)
        self.touch(rec)
        self.webhooks.comment_changed(rec, comment, "deleted")
        return Response(204)
