"""Admin webhooks of the Jira emulators: registration, matching, signed delivery with retries.

This module holds both the REST routes (:class:`WebhookRoutesMixin`) and the engine behind them
(:class:`JiraWebhooks`: registry, event matching, the courier thread). Rules it enforces: only
admins may manage webhooks (others get 403); a webhook needs a name, an absolute http(s) URL, a
list of events and a valid JQL filter (400 otherwise); a delivery is retried with doubling
backoff on a connection failure or a 408, 409, 425, 429 or 5xx answer, never on other answers.

Jira calls a webhook made by an administrator an *admin webhook*: a name, a callback URL, the
events it wants, a JQL filter ("issue-related-events-section"), whether to leave the body out,
and (Jira 10 / Cloud) a secret. Both flavours register them over REST, admins only (others get
403)::

    GET/POST /rest/webhooks/1.0/webhook       GET/PUT/DELETE /rest/webhooks/1.0/webhook/{id}
    {"name": "planerka", "url": "https://planerka.example.org/webhooks/jira",
     "events": ["comment_created", "comment_updated", "jira:issue_updated", ...],
     "filters": {"issue-related-events-section": "labels = planerka"},   # or "jqlFilter"
     "excludeBody": false, "enabled": true, "secret": "..."}

and answer ``{"self", "name", "url", "events", "filters", "excludeBody", "enabled",
"lastUpdated" (ms), "lastUpdatedUser", "lastUpdatedDisplayName"}`` (never the secret). On Cloud
admins usually make them in the admin UI; ``/_sandbox/webhooks`` stands in for that page.

Seed keys (next to the ones in the package docstring, ``jira/__init__.py``): ``"admins":
["anna"]`` (person ids allowed to manage webhooks; default: the seed's ``actor``) and
``"webhooks": [<the JSON above>, ...]``.

Control endpoints (no auth, on both flavours): ``POST /_sandbox/webhooks`` (register, as the
admin UI would; 201 + the webhook with its ``id``), ``GET /_sandbox/webhooks``,
``DELETE /_sandbox/webhooks`` (all) and ``DELETE /_sandbox/webhooks/{id}``; every attempt is
listed by ``GET /_sandbox/deliveries`` (see ``core.py``) as ``{"webhook", "url", "event",
"identifier", "attempt", "status", "error", "at"}`` (status 0 = no answer).

What fires (only from API requests, never while seeding), each delivered for every enabled webhook
whose ``events`` name it and whose JQL matches the issue as it is after the change (as it was,
for a deletion):

===========================  ==================================================================
issue created                ``jira:issue_created`` (issue_event_type_name ``issue_created``)
fields edited / assigned     ``jira:issue_updated`` (``issue_updated`` / ``issue_assigned``)
transition                   ``jira:issue_updated`` (``issue_generic``: every transition of the
                             emulated workflow is global, which fires Jira's Generic Event)
issue deleted                ``jira:issue_deleted`` (``issue_deleted``), subtasks included
comment added/edited/deleted ``comment_created|updated|deleted`` and ``jira:issue_updated``
                             (``issue_commented|issue_comment_edited|issue_comment_deleted``)
===========================  ==================================================================

Payloads use the REST v2 representations (wiki strings, also on Cloud, as Jira's webhooks do):
``jira:issue_*`` carry ``timestamp`` (ms), ``webhookEvent``, ``issue_event_type_name``, ``user``,
``issue`` (``id``, ``self``, ``key``, ``fields`` with every navigable field), plus ``changelog``
(``{"id", "items": [{"field", "fieldtype", "from", "fromString", "to", "toString"}]}``) for
field changes and ``comment`` for comment events; ``comment_*`` carry ``timestamp``,
``webhookEvent``, ``comment`` and a short ``issue`` (summary, status, labels, assignee, duedate,
issuetype, project, priority). ``excludeBody`` sends an empty body.

Each delivery is a POST from a courier thread, outside the emulator lock, with ``Content-Type:
application/json``, ``User-Agent: Atlassian Webhook HTTP Client``,
``X-Atlassian-Webhook-Identifier`` (the same on every retry and duplicate of one delivery),
``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` when the webhook has a secret, and
``X-Atlassian-Webhook-Retry: <n>`` on retries. Like Jira Cloud, it retries a connection failure
or a 408, 409, 425, 429 or 5xx answer; other answers are final.

Options: ``webhook_retries`` (int, 2): retries after the first attempt;
``webhook_backoff_seconds`` (float, 0.05): wait before the first retry, doubled for each next;
``webhook_duplicates`` (int, 0): send every delivery that many extra times with the same
identifier (for de-duplication tests); ``deliver_webhooks`` (default true): registering a webhook
is intent enough to deliver, so this option only serves to mute them (``false``).
``reset``/``seed`` restore the seeded webhooks and drop whatever is still queued.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from planerka_sync.sandbox import jql
from planerka_sync.sandbox.core import HttpError, Request, Response, courier_loop, route
from planerka_sync.sandbox.jira.base import JiraCore

if TYPE_CHECKING:
    from planerka_sync.sandbox.jira.emulator import JiraEmulatorBase

JSON = Any
Rec = dict[str, Any]

WEBHOOK_PATH = "/rest/webhooks/1.0/webhook"
WEBHOOK_ROUTE = r"/rest/webhooks/1\.0/webhook"
WEBHOOK_ID_ROUTE = WEBHOOK_ROUTE + r"/(?P<hid>[^/]+)"
FILTER_KEY = "issue-related-events-section"
USER_AGENT = "Atlassian Webhook HTTP Client"
RETRY_STATUSES = frozenset({0, 408, 409, 425, 429})  # and every 5xx; 0 = no answer
URL_RE = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
NOT_ADMIN = "You must be a Jira administrator to manage webhooks."
# The issue fields a comment_* payload carries (Jira sends a short issue there).
SHORT_FIELDS = (
    "summary",
    "status",
    "labels",
    "assignee",
    "duedate",
    "issuetype",
    "project",
    "priority",
)
COMMENT_TYPE_NAMES = {
    "created": "issue_commented",
    "updated": "issue_comment_edited",
    "deleted": "issue_comment_deleted",
}


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature`` of a Jira admin webhook with a secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def should_retry(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


def bad_webhook(field: str, message: str) -> HttpError:
    return HttpError(400, {"errorMessages": [], "errors": {field: message}})


@dataclass(frozen=True)
class Delivery:
    """One webhook POST waiting for the courier; duplicates and retries share ``identifier``."""

    webhook_id: str
    url: str
    event: str
    identifier: str
    body: bytes
    signature: str | None
    generation: int


class JiraWebhooks:
    """The admin webhooks of one Jira emulator; it keeps them in ``emulator.db["webhooks"]``.

    ``context`` builds the emulator's own JQL view (``search._Search``) for the filters.
    """

    def __init__(self, emulator: JiraEmulatorBase, context: Callable[[], jql.JqlContext]) -> None:
        self.emulator = emulator
        self.context = context
        self.generation = 0  # bumped by load(): deliveries queued before a reset are dropped
        self._outbox: queue.Queue[Delivery] = queue.Queue()
        self._courier: threading.Thread | None = None

    @property
    def hooks(self) -> dict[str, Rec]:
        hooks: dict[str, Rec] = self.emulator.db["webhooks"]
        return hooks

    # --- seed ----------------------------------------------------------------------------------
    def load(self, seed: Rec) -> None:
        """Admins and seeded webhooks; called by ``load_seed`` after the people exist."""
        db = self.emulator.db
        db["admins"] = list(seed["admins"] if "admins" in seed else [db["actor"]])
        db["webhooks"] = {}
        self.generation += 1
        for spec in seed.get("webhooks") or []:
            self.register(spec, db["actor"])

    # --- registry ------------------------------------------------------------------------------
    def register(self, body: JSON, pid: str | None) -> Rec:
        hid = str(max((int(h) for h in self.hooks), default=0) + 1)
        hook = {"id": hid, **self._parse(body, None), **self._stamp(pid)}
        self.hooks[hid] = hook
        return hook

    def update(self, hid: str, body: JSON, pid: str | None) -> Rec:
        hook = self._hook(hid)
        hook.update(self._parse(body, hook), **self._stamp(pid))
        return hook

    def _hook(self, hid: str) -> Rec:
        hook = self.hooks.get(hid)
        if hook is None:
            raise HttpError(404, {"errorMessages": [f"No webhook with id '{hid}'."], "errors": {}})
        return hook

    def _stamp(self, pid: str | None) -> Rec:
        return {"lastUpdated": int(self.emulator.now() * 1000), "lastUpdatedBy": pid}

    def _parse(self, body: JSON, current: Rec | None) -> Rec:
        """Stored form of a registration body; a PUT keeps what it leaves out."""
        if not isinstance(body, dict):
            raise HttpError(400, {"errorMessages": ["Expected a JSON object."], "errors": {}})
        old = current or {}
        name = body.get("name", old.get("name"))
        if not isinstance(name, str) or not name.strip():
            raise bad_webhook("name", "The webhook needs a name.")
        url = body.get("url", old.get("url"))
        if not isinstance(url, str) or not URL_RE.match(url):
            raise bad_webhook("url", "The URL must be an absolute http(s) URL.")
        events = body.get("events", old.get("events"))
        if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
            raise bad_webhook("events", "Events must be a list of event names.")
        return {
            "name": name,
            "url": url,
            "events": list(dict.fromkeys(events)),
            "jql": self._parse_filter(body, old.get("jql", "")),
            "excludeBody": self._flag(body, "excludeBody", old.get("excludeBody", False)),
            "enabled": self._flag(body, "enabled", old.get("enabled", True)),
            "secret": self._parse_secret(body, old.get("secret")),
        }

    def _parse_filter(self, body: Rec, default: str) -> str:
        filters = body.get("filters")
        if filters is not None and not isinstance(filters, dict):
            raise bad_webhook("filters", "Filters must be an object.")
        text = (filters or {}).get(FILTER_KEY, body.get("jqlFilter", default))
        if not isinstance(text, str):
            raise bad_webhook("filters", "The JQL filter must be a string.")
        try:
            jql.matcher(jql.parse(text), self.context())
        except jql.JqlError as exc:
            raise bad_webhook("filters", f"Invalid JQL: {exc}") from exc
        return text

    @staticmethod
    def _flag(body: Rec, name: str, default: bool) -> bool:
        value = body.get(name, default)
        if not isinstance(value, bool):
            raise bad_webhook(name, f"'{name}' must be true or false.")
        return value

    @staticmethod
    def _parse_secret(body: Rec, default: str | None) -> str | None:
        secret = body.get("secret", default)
        if secret is not None and not isinstance(secret, str):
            raise bad_webhook("secret", "The secret must be a string.")
        return secret or None

    def webhook_json(self, hook: Rec, with_id: bool = False) -> JSON:
        emulator = self.emulator
        person = emulator.person(hook["lastUpdatedBy"])
        ids = emulator.user_ids(hook["lastUpdatedBy"])
        body: JSON = {
            "self": emulator.url(f"{WEBHOOK_PATH}/{hook['id']}"),
            "name": hook["name"],
            "url": hook["url"],
            "events": list(hook["events"]),
            "filters": {FILTER_KEY: hook["jql"]},
            "excludeBody": hook["excludeBody"],
            "enabled": hook["enabled"],
            "lastUpdated": hook["lastUpdated"],
            "lastUpdatedUser": ids[-1] if ids else None,
            "lastUpdatedDisplayName": person["name"] if person else None,
        }
        if with_id:
            body["id"] = hook["id"]
        return body

    # --- REST (/rest/webhooks/1.0/webhook), called by the emulator's routes ---------------------
    def require_admin(self) -> str:
        pid = self.emulator.actor()
        if pid not in self.emulator.db["admins"]:
            raise HttpError(403, {"errorMessages": [NOT_ADMIN], "errors": {}})
        return pid

    def rest_list(self, req: Request) -> JSON:
        self.require_admin()
        return [self.webhook_json(h) for h in self.hooks.values()]

    def rest_create(self, req: Request) -> Response:
        pid = self.require_admin()
        return Response(201, self.webhook_json(self.register(req.json(), pid)))

    def rest_get(self, req: Request) -> JSON:
        self.require_admin()
        return self.webhook_json(self._hook(req.params["hid"]))

    def rest_update(self, req: Request) -> JSON:
        pid = self.require_admin()
        return self.webhook_json(self.update(req.params["hid"], req.json(), pid))

    def rest_delete(self, req: Request) -> Response:
        self.require_admin()
        del self.hooks[self._hook(req.params["hid"])["id"]]
        return Response(204)

    # --- /_sandbox/webhooks: the admin UI --------------------------------------------------------
    def control(self, method: str, what: str, req: Request) -> Response | None:
        if what != "webhooks" and not what.startswith("webhooks/"):
            return None
        hid = what.removeprefix("webhooks").strip("/")
        with self.emulator.lock:
            match (method, hid):
                case ("POST", ""):
                    hook = self.register(req.json(), self.emulator.db["actor"])
                    return Response(201, self.webhook_json(hook, with_id=True))
                case ("GET", ""):
                    return Response(200, [self.webhook_json(h, True) for h in self.hooks.values()])
                case ("DELETE", ""):
                    self.hooks.clear()
                    return Response(204)
                case ("GET", _):
                    return Response(200, self.webhook_json(self._hook(hid), with_id=True))
                case ("DELETE", _):
                    del self.hooks[self._hook(hid)["id"]]
                    return Response(204)
        return None

    # --- events (called by the emulator's handlers, under its lock) -----------------------------
    def issue_created(self, rec: Rec) -> None:
        self._notify(
            "jira:issue_created",
            rec,
            lambda: self._issue_event("jira:issue_created", rec, "issue_created"),
        )

    def issue_updated(
        self, rec: Rec, histories: Iterable[Rec | None], type_name: str | None = None
    ) -> None:
        """Field changes (one or more changelog histories, sent as one); no-op without items."""
        found = [h for h in histories if h]
        items = [item for h in found for item in h["items"]]
        if not items:
            return
        assigned = all(i["field"] == "assignee" for i in items)
        kind = type_name or ("issue_assigned" if assigned else "issue_updated")
        changelog = {"id": found[0]["id"], "items": items}
        self._notify(
            "jira:issue_updated",
            rec,
            lambda: self._issue_event("jira:issue_updated", rec, kind, changelog=changelog),
        )

    def issue_deleted(self, rec: Rec) -> None:
        """Call before the issue is removed: the payload and the filter need it."""
        self._notify(
            "jira:issue_deleted",
            rec,
            lambda: self._issue_event("jira:issue_deleted", rec, "issue_deleted"),
        )

    def comment_changed(self, rec: Rec, comment: Rec, change: str) -> None:
        """``change`` is created, updated or deleted: Jira fires comment_* and issue_updated."""
        emulator = self.emulator
        event = f"comment_{change}"
        self._notify(
            event,
            rec,
            lambda: {
                "timestamp": self._timestamp(),
                "webhookEvent": event,
                "comment": emulator.comment_json(comment, "2"),
                "issue": self._issue_json(rec, list(SHORT_FIELDS)),
            },
        )
        self._notify(
            "jira:issue_updated",
            rec,
            lambda: self._issue_event(
                "jira:issue_updated", rec, COMMENT_TYPE_NAMES[change], comment=comment
            ),
        )

    def _issue_event(
        self,
        event: str,
        rec: Rec,
        type_name: str,
        *,
        changelog: Rec | None = None,
        comment: Rec | None = None,
    ) -> JSON:
        emulator = self.emulator
        payload: JSON = {
            "timestamp": self._timestamp(),
            "webhookEvent": event,
            "issue_event_type_name": type_name,
            "user": emulator.user_json(emulator.actor(), "2"),
            "issue": self._issue_json(rec, emulator.select_fields(["*navigable"], []) or []),
        }
        if changelog is not None:
            payload["changelog"] = changelog
        if comment is not None:
            payload["comment"] = emulator.comment_json(comment, "2")
        return payload

    def _issue_json(self, rec: Rec, fields: list[str]) -> JSON:
        issue = self.emulator.issue_json(rec, "2", fields, set())
        issue.pop("expand", None)
        return issue

    def _timestamp(self) -> int:
        return int(self.emulator.now() * 1000)

    def _matches(self, hook: Rec, rec: Rec) -> bool:
        try:
            return jql.matcher(jql.parse(hook["jql"]), self.context())(rec)
        except jql.JqlError:
            return False  # e.g. a filter naming a project deleted since; Jira skips it too

    def _notify(self, event: str, rec: Rec, payload: Callable[[], JSON]) -> None:
        options = self.emulator.options
        if options.get("deliver_webhooks") is False:
            return
        hooks = [
            h
            for h in self.hooks.values()
            if h["enabled"] and event in h["events"] and self._matches(h, rec)
        ]
        if not hooks:
            return
        body = json.dumps(payload(), ensure_ascii=False).encode("utf-8")
        copies = 1 + max(int(options.get("webhook_duplicates") or 0), 0)
        for hook in hooks:
            sent = b"" if hook["excludeBody"] else body
            delivery = Delivery(
                webhook_id=hook["id"],
                url=hook["url"],
                event=event,
                identifier=str(uuid.uuid4()),
                body=sent,
                signature=sign(hook["secret"], sent) if hook["secret"] else None,
                generation=self.generation,
            )
            for _ in range(copies):
                self._outbox.put(delivery)
        self._start_courier()

    # --- the courier -----------------------------------------------------------------------------
    def _start_courier(self) -> None:
        if self._courier is None or not self._courier.is_alive():
            self._courier = threading.Thread(
                target=self._courier_loop, name=f"{self.emulator.flavour}-webhooks", daemon=True
            )
            self._courier.start()

    def _courier_loop(self) -> None:
        courier_loop(self._outbox, self.emulator.shutting_down, self._deliver)

    def _deliver(self, delivery: Delivery) -> None:
        options = self.emulator.options
        retries = max(int(options.get("webhook_retries", 2)), 0)
        backoff = float(options.get("webhook_backoff_seconds", 0.05))
        for attempt in range(retries + 1):
            if attempt and self.emulator.shutting_down.wait(backoff * 2 ** (attempt - 1)):
                return
            if not self._still_wanted(delivery):
                return
            status, error = self._post(delivery, attempt)
            self._record(delivery, attempt, status, error)
            if not should_retry(status):
                return

    def _still_wanted(self, delivery: Delivery) -> bool:
        """Not after a reset, nor once its webhook is deleted or disabled."""
        with self.emulator.lock:
            hook = self.hooks.get(delivery.webhook_id)
            return delivery.generation == self.generation and bool(hook and hook["enabled"])

    def _post(self, delivery: Delivery, attempt: int) -> tuple[int, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Atlassian-Webhook-Identifier": delivery.identifier,
        }
        if delivery.signature:
            headers["X-Hub-Signature"] = delivery.signature
        if attempt:
            headers["X-Atlassian-Webhook-Retry"] = str(attempt)
        try:
            answer = requests.post(delivery.url, data=delivery.body, headers=headers, timeout=5)
        except requests.RequestException as exc:
            return 0, repr(exc)
        return answer.status_code, ""

    def _record(self, delivery: Delivery, attempt: int, status: int, error: str) -> None:
        with self.emulator.lock:
            if delivery.generation != self.generation:
                return
            self.emulator.deliveries.append(
                {
                    "webhook": delivery.webhook_id,
                    "url": delivery.url,
                    "event": delivery.event,
                    "identifier": delivery.identifier,
                    "attempt": attempt,
                    "status": status,
                    "error": error,
                    "at": time.time(),
                }
            )


class WebhookRoutesMixin(JiraCore):
    """Routes: admin webhooks over REST; :class:`JiraWebhooks` does the work."""

    @route("GET", WEBHOOK_ROUTE)
    def list_webhooks(self, req: Request) -> JSON:
        return self.webhooks.rest_list(req)

    @route("POST", WEBHOOK_ROUTE)
    def create_webhook(self, req: Request) -> Response:
        return self.webhooks.rest_create(req)

    @route("GET", WEBHOOK_ID_ROUTE)
    def get_webhook(self, req: Request) -> JSON:
        return self.webhooks.rest_get(req)

    @route("PUT", WEBHOOK_ID_ROUTE)
    def update_webhook(self, req: Request) -> JSON:
        return self.webhooks.rest_update(req)

    @route("DELETE", WEBHOOK_ID_ROUTE)
    def delete_webhook(self, req: Request) -> Response:
        return self.webhooks.rest_delete(req)
