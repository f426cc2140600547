"""Webhooks: ``/1/webhooks`` (and per token), and delivering actions to their callbacks.

A webhook watches one model (a board, card, list or member that exists, else a 400) for one
token, and only that token sees or changes it (401). Its ``callbackURL`` must be an http(s) URL;
the same callback, model and token twice is a 400. With the option ``webhook_head_check``
Trello's HEAD to the callback must answer 200 before the webhook is saved.

With the option ``deliver_webhooks`` every action (never while seeding) is POSTed to each active
webhook watching one of its models, from a background thread, outside the emulator lock, as
``{"action", "model"}`` signed with ``app_secret`` in X-Trello-Webhook (``sign_webhook``). Each
attempt is listed by ``GET /_sandbox/deliveries``; a failure counts in the webhook's
``consecutiveFailures`` and ``firstConsecutiveFailDate``, a success resets them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading

import requests

from planerka_sync.sandbox.core import JSON, HttpError, Request, courier_loop, route

from .base import TrelloBase
from .common import ID, NO_PERMISSION, Delivery, Obj, Params, iso

WEBHOOK_FIELDS = (
    "active|callbackURL|description|idModel|consecutiveFailures|firstConsecutiveFailDate"
)


def sign_webhook(secret: str, body: bytes, callback_url: str) -> str:
    """X-Trello-Webhook: base64(HMAC-SHA1(app secret, body + callbackURL))."""
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class WebhooksApi(TrelloBase):
    """/1/webhooks and /1/tokens/{token}/webhooks, and the delivery courier."""

    # --- webhook deliveries ---------------------------------------------------------------------
    def _models_of(self, action: Obj) -> set[str]:
        data = action["data"]
        ids = {action["idMemberCreator"]}
        for key in ("board", "card", "list", "listBefore", "listAfter", "checklist"):
            if isinstance(data.get(key), dict):
                ids.add(data[key].get("id"))
        return {i for i in ids if i}

    def _notify(self, action: Obj) -> None:
        """Queue the action for every active webhook watching one of its models."""
        if self._seeding or not self.options.get("deliver_webhooks"):
            return
        models = self._models_of(action)
        secret = str(self.options.get("app_secret", "sandbox-secret"))
        for hook in self.db["webhooks"].values():
            if not hook["active"] or hook["idModel"] not in models:
                continue
            payload = {
                "action": self._action_json(action),
                "model": self._model_json(hook["idModel"]),
            }
            body = json.dumps(payload, ensure_ascii=False).encode()
            signature = sign_webhook(secret, body, hook["callbackURL"])
            self._outbox.put(Delivery(hook["id"], hook["callbackURL"], body, signature))
        self._start_courier()

    def _model_json(self, model_id: str) -> Obj | None:
        if model_id in self.db["boards"]:
            return self._board_json(self.db["boards"][model_id], None)
        if model_id in self.db["cards"]:
            return self._card_json(self.db["cards"][model_id])
        if model_id in self.db["lists"]:
            return self._list_json(self.db["lists"][model_id])
        if model_id in self.db["members"]:
            return self._member_json(self.db["members"][model_id])
        return None

    def _start_courier(self) -> None:
        if self._courier is None or not self._courier.is_alive():
            self._courier = threading.Thread(
                target=self._courier_loop, name="trello-webhooks", daemon=True
            )
            self._courier.start()

    def _courier_loop(self) -> None:
        courier_loop(self._outbox, self.shutting_down, self._deliver)

    def _deliver(self, delivery: Delivery) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Trello-Webhook": delivery.signature,
            "User-Agent": "Trello",
        }
        try:
            status = requests.post(
                delivery.url, data=delivery.body, headers=headers, timeout=5
            ).status_code
        except requests.RequestException as exc:
            status = 0
            error = repr(exc)
        else:
            error = ""
        with self.lock:
            self.deliveries.append(
                {
                    "webhook": delivery.webhook_id,
                    "url": delivery.url,
                    "status": status,
                    "error": error,
                }
            )
            hook = self.db["webhooks"].get(delivery.webhook_id)
            if hook is not None:
                failed = not 200 <= status < 300
                hook["consecutiveFailures"] = hook["consecutiveFailures"] + 1 if failed else 0
                if failed and hook["firstConsecutiveFailDate"] is None:
                    hook["firstConsecutiveFailDate"] = iso(self.now())
                if not failed:
                    hook["firstConsecutiveFailDate"] = None

    # --- webhooks ---------------------------------------------------------------------------------
    @route("POST", r"/1/webhooks")
    def create_webhook(self, req: Request) -> JSON:
        return self._create_webhook(self._params(req), self._ctx.token)

    @route("POST", r"/1/tokens/(?P<token>[^/]+)/webhooks")
    def create_token_webhook(self, req: Request) -> JSON:
        self._token_json(req.params["token"])
        return self._create_webhook(self._params(req), req.params["token"])

    def _create_webhook(self, p: Params, token: str) -> JSON:
        url = p.text("callbackURL") or ""
        if not re.match(r"https?://[^\s/]+", url):
            raise HttpError(400, "invalid value for callbackURL")
        model = p.text("idModel") or ""
        if self._model_json(model) is None:
            raise HttpError(400, "invalid value for idModel")
        for hook in self.db["webhooks"].values():
            if (hook["callbackURL"], hook["idModel"], hook["token"]) == (url, model, token):
                raise HttpError(
                    400, "A webhook with that callback, model, and token already exists"
                )
        if self.options.get("webhook_head_check"):
            self._head_check(url)
        hook_id = self._new_id()
        self.db["webhooks"][hook_id] = {
            "id": hook_id,
            "description": p.text("description") or "",
            "idModel": model,
            "callbackURL": url,
            "active": p.flag("active", True),
            "consecutiveFailures": 0,
            "firstConsecutiveFailDate": None,
            "token": token,
        }
        return self._webhook_json(self.db["webhooks"][hook_id])

    @staticmethod
    def _head_check(url: str) -> None:
        """Trello HEADs the callback once and wants a 200 before it saves the webhook."""
        try:
            status = requests.head(url, timeout=5, allow_redirects=False).status_code
        except requests.RequestException as exc:
            raise HttpError(
                400, f"URL ({url}) did not return 200 status code, got {exc!r}"
            ) from exc
        if status != 200:
            raise HttpError(400, f"URL ({url}) did not return 200 status code, got {status}")

    def _webhook(self, ref: str) -> Obj:
        hook = self._get("webhooks", ref)
        if hook["token"] != self._ctx.token:
            raise HttpError(401, NO_PERMISSION)
        return hook

    def _webhook_json(self, webhook: Obj) -> Obj:
        return {k: v for k, v in webhook.items() if k != "token"}

    @route("GET", r"/1/tokens/(?P<token>[^/]+)/webhooks")
    def token_webhooks(self, req: Request) -> JSON:
        token = req.params["token"]
        self._token_json(token)
        return [self._webhook_json(h) for h in self.db["webhooks"].values() if h["token"] == token]

    @route("GET", r"/1/(?:tokens/(?P<token>[^/]+)/)?webhooks/(?P<id>[^/]+)")
    def get_webhook(self, req: Request) -> JSON:
        return self._webhook_json(self._webhook(req.params["id"]))

    @route("GET", rf"/1/webhooks/{ID}/(?P<field>{WEBHOOK_FIELDS})")
    def webhook_field(self, req: Request) -> JSON:
        return {"_value": self._webhook(req.params["id"])[req.params["field"]]}

    @route("PUT", r"/1/(?:tokens/(?P<token>[^/]+)/)?webhooks/(?P<id>[^/]+)")
    def update_webhook(self, req: Request) -> JSON:
        p = self._params(req)
        hook = self._webhook(req.params["id"])
        if p.has("callbackURL"):
            url = p.text("callbackURL") or ""
            if not re.match(r"https?://[^\s/]+", url):
                raise HttpError(400, "invalid value for callbackURL")
            hook["callbackURL"] = url
        if p.has("idModel"):
            if self._model_json(p.text("idModel") or "") is None:
                raise HttpError(400, "invalid value for idModel")
            hook["idModel"] = p.text("idModel")
        if p.has("description"):
            hook["description"] = p.text("description") or ""
        if p.has("active"):
            hook["active"] = p.flag("active")
        return self._webhook_json(hook)

    @route("DELETE", r"/1/(?:tokens/(?P<token>[^/]+)/)?webhooks/(?P<id>[^/]+)")
    def delete_webhook(self, req: Request) -> JSON:
        hook = self._webhook(req.params["id"])
        del self.db["webhooks"][hook["id"]]
        return {"_value": None}
