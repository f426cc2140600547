"""Jira attachments: upload, metadata, download, delete.

Routes: ``POST /rest/api/{v}/issue/{idOrKey}/attachments`` (multipart, field ``file``),
``GET/DELETE /rest/api/{v}/attachment/{id}``, and the downloads
``/rest/api/{v}/attachment/content/{id}`` and ``/secure/attachment/{id}/{filename}``.

Rules: an upload without ``X-Atlassian-Token: no-check`` is refused with 403 "XSRF check failed"
before anything else, as Jira's XSRF filter does; with the ``attachment_max_bytes`` option a
larger file answers 413; an attachment of an issue one may not see answers 403.
"""

from __future__ import annotations

import base64
import copy
from urllib.parse import quote

from planerka_sync.sandbox.core import HttpError, Request, Response, route
from planerka_sync.sandbox.jira.common import API, ID, JSON, Rec, bad_request, not_found
from planerka_sync.sandbox.jira.render import RenderMixin


class AttachmentsMixin(RenderMixin):
    """Routes: issue attachments."""

    @route("POST", API + "/issue/" + ID + "/attachments")
    def add_attachments(self, req: Request) -> Response:
        token = (req.header("X-Atlassian-Token") or "").lower()
        if token not in ("no-check", "nocheck"):
            # Jira's XSRF filter answers before looking at the issue or the body.
            return Response(403, "XSRF check failed", content_type="text/plain;charset=UTF-8")
        v = self.ver(req)
        rec = self._issue_rec(req.params["key"])
        parts = [p for p in req.multipart() if p.name == "file" and p.filename is not None]
        if not parts:
            raise bad_request(messages=["No file was attached: use the multipart field 'file'."])
        limit = self.options.get("attachment_max_bytes")
        if limit is not None and any(len(p.data) > int(limit) for p in parts):
            message = f"The file is too large: the attachment size limit is {limit} bytes."
            raise HttpError(413, {"errorMessages": [message], "errors": {}})
        before = copy.deepcopy(rec)
        created = []
        for part in parts:
            aid = self.next_id("attachment")
            att = {
                "id": aid,
                "issue": rec["id"],
                "filename": part.filename or "file",
                "mimeType": part.content_type or "application/octet-stream",
                "size": len(part.data),
                "created": self.now(),
                "author": self.actor(),
                "data": base64.b64encode(part.data).decode("ascii"),
            }
            self.db["attachments"][aid] = att
            rec["attachments"].append(aid)
            created.append(att)
        self.stage_for_search(rec["id"], before)
        self.touch(
            rec,
            [self.change_item("Attachment", None, a["id"], None, a["filename"]) for a in created],
        )
        return Response(200, [self.attachment_json(a, v) for a in created])

    def _attachment(self, aid: str) -> Rec:
        att = self.db["attachments"].get(aid)
        if att is None:
            raise not_found(f"The attachment with id '{aid}' does not exist")
        try:
            self._issue(att["issue"])
        except HttpError as exc:
            raise HttpError(
                403,
                {
                    "errorMessages": [
                        "You do not have permission to view attachment with id: " + aid
                    ],
                    "errors": {},
                },
            ) from exc
        return dict(att)

    @route("GET", API + r"/attachment/(?P<aid>\d+)")
    def get_attachment(self, req: Request) -> JSON:
        v = self.ver(req)
        att = self._attachment(req.params["aid"])
        body = self.attachment_json(att, v)
        body["id"] = int(att["id"])  # AttachmentMetadata has a numeric id, unlike Attachment
        body["properties"] = {}
        return body

    @route("DELETE", API + r"/attachment/(?P<aid>\d+)")
    def delete_attachment(self, req: Request) -> Response:
        att = self._attachment(req.params["aid"])
        rec = self.db["issues"][att["issue"]]
        before = copy.deepcopy(rec)
        rec["attachments"].remove(att["id"])
        del self.db["attachments"][att["id"]]
        self.stage_for_search(rec["id"], before)
        self.touch(rec, [self.change_item("Attachment", att["id"], None, att["filename"], None)])
        return Response(204)

    def attachment_content(self, aid: str) -> Response:
        att = self._attachment(aid)
        disposition = f"attachment; filename*=UTF-8''{quote(att['filename'])}"
        return Response(
            200,
            base64.b64decode(att["data"]),
            {"Content-Disposition": disposition},
            content_type=att["mimeType"],
        )

    @route("GET", API + r"/attachment/content/(?P<aid>\d+)")
    def get_attachment_content(self, req: Request) -> Response:
        return self.attachment_content(req.params["aid"])

    @route("GET", r"/secure/attachment/(?P<aid>\d+)/(?P<name>[^/]*)")
    def download_attachment(self, req: Request) -> Response:
        return self.attachment_content(req.params["aid"])
