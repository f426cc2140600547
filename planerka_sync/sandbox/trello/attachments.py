"""Attachments: ``/1/cards/{id}/attachments`` - uploaded files and links.

An upload (a multipart ``file``) keeps its bytes (base64 in ``self.db``) and is served back from
the attachment's ``url``; a link must be an http(s) URL (else a 400), and so must a new card's
``urlSource``. ``setCover`` makes the attachment the card's cover; deleting the cover clears it.
POST answers the attachment itself, as Trello does (the reference documents an array).
"""

from __future__ import annotations

import base64
import re

from planerka_sync.sandbox.core import JSON, HttpError, MultipartPart, Request, Response, route

from .base import TrelloBase
from .common import HEX24, ID, MODEL_NOT_FOUND, NOT_FOUND, Obj, iso


class AttachmentsApi(TrelloBase):
    """A card's attachments."""

    @route("GET", rf"/1/cards/{ID}/attachments")
    def card_attachments(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        found = [self.db["attachments"][a] for a in card["idAttachments"]]
        if p.text("filter") == "cover":
            found = [a for a in found if a["id"] == card["idAttachmentCover"]]
        return [
            self._attachment_json(a, p.fields("fields"))
            for a in sorted(found, key=lambda a: a["pos"])
        ]

    @route("POST", rf"/1/cards/{ID}/attachments")
    def add_card_attachment(self, req: Request) -> JSON:
        p = self._params(req)
        card = self._card(req.params["id"])
        upload = p.raw("file")
        if isinstance(upload, MultipartPart):
            name = p.text("name") or upload.filename or "file"
            attachment = self._add_attachment(
                card, name, None, upload.data, p.text("mimeType") or upload.content_type
            )
        elif p.given("url"):
            url = p.text("url") or ""
            self._check_url(url, "url")
            attachment = self._add_attachment(
                card, p.text("name") or url, url, None, p.text("mimeType")
            )
        else:
            raise HttpError(400, "invalid value for url")
        if p.flag("setCover"):
            card["idAttachmentCover"] = attachment["id"]
        # Trello answers the attachment itself (the reference documents an array).
        return self._attachment_json(attachment)

    @staticmethod
    def _check_url(url: str, name: str) -> None:
        if not re.match(r"https?://[^\s/]+", url):
            raise HttpError(400, f"invalid value for {name}")

    def _add_attachment(
        self,
        card: Obj,
        name: str | None,
        url: str | None,
        data: bytes | None,
        mime_type: str | None,
        record: bool = True,
    ) -> Obj:
        attachment_id = self._new_id()
        file_name = name or "file"
        siblings = [self.db["attachments"][a]["pos"] for a in card["idAttachments"]]
        attachment = {
            "id": attachment_id,
            "bytes": len(data) if data is not None else None,
            "date": iso(self._time()),
            "edgeColor": None,
            "idMember": self._actor_id(),
            "isUpload": data is not None,
            "mimeType": mime_type or "",
            "name": name or url or file_name,
            "previews": [],
            "url": url or "",
            "pos": self._position("bottom", siblings),
            "fileName": file_name if data is not None else None,
            "idCard": card["id"],
            "data": base64.b64encode(data).decode() if data is not None else None,
        }
        self.db["attachments"][attachment_id] = attachment
        card["idAttachments"].append(attachment_id)
        if record:
            shown = self._attachment_json(attachment)
            self._record(
                "addAttachmentToCard",
                {
                    "attachment": {"id": attachment_id, "name": shown["name"], "url": shown["url"]},
                    **self._card_data(card),
                },
            )
        return attachment

    def _card_attachment(self, card: Obj, attachment_id: str) -> Obj:
        if attachment_id not in card["idAttachments"]:
            if not HEX24.fullmatch(attachment_id):
                raise HttpError(400, "invalid id")
            raise HttpError(404, MODEL_NOT_FOUND)
        attachment: Obj = self.db["attachments"][attachment_id]
        return attachment

    @route("GET", rf"/1/cards/{ID}/attachments/(?P<idAttachment>[^/]+)")
    def card_attachment(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        attachment = self._card_attachment(card, req.params["idAttachment"])
        return self._attachment_json(attachment, self._params(req).fields("fields"))

    @route("GET", rf"/1/cards/{ID}/attachments/(?P<idAttachment>[^/]+)/download/(?P<fileName>.+)")
    def download_attachment(self, req: Request) -> Response:
        card = self._card(req.params["id"])
        attachment = self._card_attachment(card, req.params["idAttachment"])
        if attachment.get("data") is None:
            raise HttpError(404, NOT_FOUND)
        return Response(
            200,
            base64.b64decode(attachment["data"]),
            content_type=attachment["mimeType"] or "application/octet-stream",
        )

    @route("DELETE", rf"/1/cards/{ID}/attachments/(?P<idAttachment>[^/]+)")
    def delete_card_attachment(self, req: Request) -> JSON:
        card = self._card(req.params["id"])
        attachment = self._card_attachment(card, req.params["idAttachment"])
        card["idAttachments"].remove(attachment["id"])
        if card["idAttachmentCover"] == attachment["id"]:
            card["idAttachmentCover"] = None
        del self.db["attachments"][attachment["id"]]
        self._record(
            "deleteAttachmentFromCard",
            {
                "attachment": {"id": attachment["id"], "name": attachment["name"]},
                **self._card_data(card),
            },
        )
        return {"limits": {}}
