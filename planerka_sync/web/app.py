"""`planerka-sync serve`: tracker webhooks, the Trello Power-Up and its API, health and metrics.

Routes:
- ``HEAD|POST /webhooks/trello``: Trello's signed deliveries (HEAD is Trello's registration check)
- ``POST /webhooks/jira``: Jira admin webhooks, signed with a secret, de-duplicated by delivery id
- ``POST /webhooks/jira-automation``: a Jira Automation rule's web request, with a shared token
- ``GET /api/boards/{board}/cards/{card}/planerka``, ``POST .../convert``,
  ``GET /api/boards/{board}/kpi``: the Power-Up's API, for members of the board only
- ``GET /powerup/...``: the Power-Up's static files (the connector Trello loads)
- ``GET /healthz``, ``GET /metrics``

A webhook is verified before anything else is looked at, answered at once, and its work done by
the background worker (see worker.py). The answer never waits on the state DB: what the event is
about comes from the payload, and whether that item is a meeting or a task from this process's
directory (directory.py); an item it does not know is looked up by the worker. ``"queued":
true`` says the item was known and its work is queued. ``/healthz`` is answered from memory (the
worker's and the daemon's last known state) on the server's loop thread, so it answers even
while every HTTP worker waits on something. Only a verified delivery spends its source's rate budget
(``serve.events_per_minute``): unsigned requests are refused with 401 before any budget is
touched, and counted per client address (429 beyond the same number a minute), so a flood of
them cannot make Trello's or Jira's real deliveries wait or fail.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from hmac import compare_digest
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from planerka_sync.config import Config
from planerka_sync.domain.texts import Locale
from planerka_sync.errors import PlanerkaError
from planerka_sync.observability import HealthCheck, Metrics, add_health_routes, default_metrics
from planerka_sync.ratelimit import Limit, TokenBucket
from planerka_sync.service.app import App
from planerka_sync.service.cards import card_state, kpi_view
from planerka_sync.service.events import meeting_for_item
from planerka_sync.service.webhook_setup import JIRA_PATH, TRELLO_PATH, callback_url
from planerka_sync.web.auth import ClientLimits, TrelloMembers, too_many
from planerka_sync.web.directory import (
    Directory,
    Mention,
    automation_mention,
    jira_mention,
    trello_mention,
)
from planerka_sync.web.http import HttpProblem, Request, Response, Router, WebServer, start_server
from planerka_sync.web.worker import Worker
from planerka_sync.webhooks import SeenDeliveries, jira_valid, trello_valid

log = logging.getLogger("planerka_sync.web")

CONVERT_WAIT = 25.0  # seconds the button waits for the meeting to be read
AUTOMATION_PATH = "/webhooks/jira-automation"


def powerup_dir() -> Path:
    """The Power-Up's static files, shipped in the package (a link to plugins/trello-powerup)."""
    return Path(str(resources.files("planerka_sync") / "powerup"))


def public_base(config: Config, listen_url: str) -> str:
    return (config.serve.public_url or listen_url).rstrip("/")


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


@dataclass
class WebApp:
    config: Config
    reader: App  # the state DB for lookups and reads; never used for tracker writes
    worker: Worker
    listen_url: str = ""
    members: TrelloMembers | None = None
    metrics: Metrics | None = None
    health: HealthCheck | None = None
    seen: SeenDeliveries = field(default_factory=SeenDeliveries)
    _limits: dict[str, TokenBucket] = field(default_factory=dict)  # verified, per source
    _refusals: ClientLimits | None = None  # unverified, per source and client address
    _board_ids: set[str] = field(default_factory=set)
    _board_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.metrics = self.metrics or default_metrics()
        per_minute = self.config.serve.events_per_minute
        self._limits = {source: TokenBucket(per_minute, 60.0)
                        for source in ("trello", "jira", "automation")}
        self._refusals = ClientLimits(Limit(per_minute, 60.0))
        tracker = self.config.tracker
        if self.members is None and tracker.kind == "trello":
            key = self.config.serve.powerup_api_key or tracker.api_key.get_secret_value()
            self.members = TrelloMembers(tracker.url, key)

    # --- wiring -------------------------------------------------------------------------------
    def router(self) -> Router:
        router = Router()
        add_health_routes(router, self.metrics, self.health)
        router.answer_inline("GET", "/healthz")  # in memory only: see the module's docstring
        router.add("HEAD", TRELLO_PATH, lambda _: Response(200))
        router.add("POST", TRELLO_PATH, self.trello_webhook)
        router.add("POST", JIRA_PATH, self.jira_webhook)
        router.add("POST", AUTOMATION_PATH, self.automation_webhook)
        router.add("GET", "/api/boards/{board}/cards/{card}/planerka", self.card)
        router.add("POST", "/api/boards/{board}/cards/{card}/convert", self.convert)
        router.add("GET", "/api/boards/{board}/kpi", self.kpi)
        router.add("OPTIONS", "/api/{path*}", self.preflight)
        router.add("GET", "/powerup/{path*}", self.static)
        router.add("HEAD", "/powerup/{path*}", self.static)
        router.add("GET", "/", lambda _: Response.json(200, {
            "service": "planerka-sync", "powerup": "/powerup/index.html",
            "webhooks": [TRELLO_PATH, JIRA_PATH, AUTOMATION_PATH]}))
        return router

    def middleware(self, request: Request, handler: Callable[[Request], Response]) -> Response:
        """CORS for the Power-Up API: only the allowed origins may read its answers (refusals
        included, so the Power-Up can tell "authorise again" from a network failure)."""
        try:
            response = handler(request)
        except HttpProblem as problem:
            response = problem.response()
        origin = request.header("Origin")
        if request.path.startswith("/api/") and origin and self.origin_allowed(origin):
            response.headers |= {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return response

    def origin_allowed(self, origin: str) -> bool:
        allowed = {o.rstrip("/") for o in self.config.serve.allowed_origins}
        allowed.add(_origin(public_base(self.config, self.listen_url)))
        return origin.rstrip("/") in allowed

    def warn_about_secrets(self) -> None:
        serve = self.config.serve
        if self.config.tracker.kind == "trello" and not _secret(serve.trello_app_secret):
            log.warning("Trello webhooks are refused: serve.trello_app_secret is not set "
                        "(the Secret at https://trello.com/app-key, e.g. ${TRELLO_APP_SECRET})")
        if self.config.tracker.kind == "jira" and not (_secret(serve.jira_webhook_secret)
                                                       or _secret(serve.jira_automation_token)):
            log.warning("Jira webhooks are refused: set serve.jira_webhook_secret (the admin "
                        "webhook's secret) or serve.jira_automation_token")

    # --- webhooks -----------------------------------------------------------------------------
    # Each receiver checks the signature first: only a verified delivery spends a budget.
    def trello_webhook(self, request: Request) -> Response:
        secret = _secret(self.config.serve.trello_app_secret)
        url = callback_url(self.config, public_base(self.config, self.listen_url))
        if not trello_valid(secret, request.body, url, request.header("X-Trello-Webhook")):
            return self._refused("trello", request,
                                 "the X-Trello-Webhook signature does not match")
        self._rate_limit("trello")
        return self._accept(trello_mention(request.json()))

    def jira_webhook(self, request: Request) -> Response:
        secret = _secret(self.config.serve.jira_webhook_secret)
        if not jira_valid(secret, request.body, request.header("X-Hub-Signature")):
            return self._refused("jira", request, "the X-Hub-Signature does not match")
        self._rate_limit("jira")
        delivery = request.header("X-Atlassian-Webhook-Identifier")
        if delivery and not self.seen.first_time(f"jira:{delivery}"):
            self._count("jira", "duplicate")
            return Response.json(200, {"ok": True, "duplicate": True})
        return self._accept(jira_mention(request.json()))

    def automation_webhook(self, request: Request) -> Response:
        expected = _secret(self.config.serve.jira_automation_token).encode()
        given = (request.header("X-Planerka-Token") or "").encode("utf-8", "surrogatepass")
        if not expected or not compare_digest(expected, given):
            return self._refused("automation", request, "the X-Planerka-Token does not match")
        self._rate_limit("automation")
        return self._accept(automation_mention(request.json()))

    def _accept(self, mention: Mention) -> Response:
        """Queue what the event asks for, without asking the DB (see the module's docstring)."""
        work = self.worker.directory.known_work(mention) if mention else None
        if work is not None:
            self.worker.submit(work)
            self._count(mention.source, "queued")
        elif mention:
            self.worker.look_up(mention)  # counted once the worker knows
        else:
            self._count(mention.source, "ignored")
        return Response.json(200, {"ok": True, "queued": work is not None})

    def _refused(self, source: str, request: Request, why: str) -> Response:
        """401, at no cost to the source's budget; past the address's own budget a 429 and no
        log line (a flood must not flood the log)."""
        self._count(source, "refused")
        assert self._refusals is not None
        wait = self._refusals.check(f"{source}:{request.client}")
        if wait is not None:
            raise too_many(f"too many unsigned {source} requests from your address; {why}", wait)
        log.warning("webhook from %s refused (%s): %s", source, request.client, why)
        return Response.json(401, {"error": f"{why}; nothing was done"})

    def _count(self, source: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.count_webhook(source, outcome)

    def _rate_limit(self, source: str) -> None:
        wait = self._limits[source].try_acquire()
        if wait is not None:
            self._count(source, "limited")
            raise too_many(f"too many {source} deliveries; slow down", wait)

    # --- the Power-Up's API -------------------------------------------------------------------
    def card(self, request: Request) -> Response:
        self._authorise(request)
        return Response.json(200, card_state(self.reader, request.params["card"]))

    def convert(self, request: Request) -> Response:
        self._authorise(request)
        card = request.params["card"]
        meeting_id = meeting_for_item(self.reader, card)
        if meeting_id is None:
            raise HttpProblem(404, "this card is not a planerka meeting")
        future = self.worker.ingest_now(meeting_id)
        try:
            outcome = future.result(timeout=CONVERT_WAIT)
        except FutureTimeout:
            raise HttpProblem(409, "the meeting is still being read; look again in a minute") \
                from None
        state = card_state(self.reader, card)
        counts = state["meeting"]["counts"] if state["meeting"] else {}
        created_now = len(outcome.report.created) if outcome.report else 0
        locale = _locale(request, self.config.locale)
        return Response.json(200, {
            **{k: counts.get(k, 0) for k in ("captured", "created", "errors")},
            "created_now": created_now,
            "message": outcome.error or convert_message(locale, created_now, counts),
        })

    def kpi(self, request: Request) -> Response:
        self._authorise(request)
        locale = _locale(request, self.config.locale)
        return Response.json(200, kpi_view(self.reader, None, locale))

    def preflight(self, request: Request) -> Response:
        origin = request.header("Origin") or ""
        if not self.origin_allowed(origin):
            raise HttpProblem(403, f"origin {origin or '(none)'} may not call this API")
        return Response(204, headers={
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        })

    def _authorise(self, request: Request) -> None:
        """The board in the URL must be ours, and the caller's token a member of it."""
        if self.members is None:
            raise HttpProblem(404, "the Power-Up API serves Trello boards; this service syncs "
                                   "Jira")
        ours = self.board_ids()
        if request.params["board"] not in ours:
            raise HttpProblem(404, "this service does not sync that board")
        self.members.member_of(request, ours)

    def board_ids(self) -> set[str]:
        """The synced board's id (asked of Trello once, with the service's own token)."""
        with self._board_lock:
            if not self._board_ids:
                try:
                    layout = self.reader.tracker.layout()  # type: ignore[attr-defined]
                except PlanerkaError as exc:
                    raise HttpProblem(503, f"cannot reach Trello: {exc.message}") from None
                self._board_ids = {layout.board_id, self.config.tracker.board}  # type: ignore[union-attr]
            return set(self._board_ids)

    # --- static files -------------------------------------------------------------------------
    def static(self, request: Request) -> Response:
        root = powerup_dir().resolve()
        relative = request.params.get("path") or "index.html"
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise HttpProblem(404, f"no such file: /powerup/{relative}")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
            kind += "; charset=utf-8"
        return Response(200, target.read_bytes(), kind, {"Cache-Control": "no-cache"})


WORDS: dict[Locale, str] = {
    "ru": "Создано задач: {now}. Всего решений: {captured}, с задачами: {created}, "
          "ошибок: {errors}.",
    "en": "{now} task(s) created now. Decisions: {captured}, with tasks: {created}, "
          "errors: {errors}.",
}


def convert_message(locale: Locale, created_now: int, counts: dict[str, int]) -> str:
    return WORDS[locale].format(now=created_now, captured=counts.get("captured", 0),
                                created=counts.get("created", 0), errors=counts.get("errors", 0))


def _locale(request: Request, default: Locale) -> Locale:
    asked = (request.query.get("locale") or "").lower()
    return "ru" if asked.startswith("ru") else "en" if asked else default


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- running it ------------------------------------------------------------------------------


@dataclass
class Running:
    server: WebServer
    url: str
    web: WebApp

    def stop(self) -> None:
        self.server.shutdown()
        self.web.worker.stop()
        self.web.reader.store.close()


def start_web(config: Config, make_app: Callable[[], App], address: str, *,
              health: HealthCheck | None = None, metrics: Metrics | None = None,
              flag: str = "--http", **options: Any) -> Running:
    """Serve everything on ``address`` from daemon threads, with its own worker."""
    directory = Directory()
    counts = metrics or default_metrics()
    worker = Worker(make_app, directory=directory, count=counts.count_webhook).start()

    def healthy() -> str | None:
        return worker.health() or (health() if health is not None else None)

    web = WebApp(config, make_app(), worker, metrics=counts, health=healthy, **options)
    try:  # once, before the first delivery; what is missing the worker looks up
        directory.load(web.reader)
    except Exception as exc:
        log.warning("serve: cannot read the known meetings and tasks (%s); deliveries are "
                    "looked up as they come", type(exc).__name__)
    router = web.router()
    try:
        server, url = start_server(address, router,
                                   max_body=config.serve.max_body_kb * 1024,
                                   middleware=web.middleware, flag=flag)
    except Exception:
        worker.stop()
        web.reader.store.close()
        raise
    web.listen_url = url
    web.warn_about_secrets()
    return Running(server, url, web)
