"""What the daemon shows of itself: logs (text or JSON, secrets redacted), Prometheus metrics,
and a small HTTP endpoint serving ``/healthz`` and ``/metrics``.

Redaction happens in a filter on the one root handler, so it covers every logger that
propagates - ours, urllib3's (which logs Trello URLs with ``key`` and ``token`` in the query),
atlassian-python-api's - whatever the message, its arguments, ``extra`` fields or a traceback.

Metrics live in their own ``CollectorRegistry`` (not prometheus-client's global one): a test
builds a fresh :class:`Metrics` and sees only what it caused.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, tzinfo
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, quote_plus, urlsplit
from zoneinfo import ZoneInfo

from planerka_sync.domain.texts import local_time

if TYPE_CHECKING:
    from planerka_sync.config import Config
    from planerka_sync.web.http import Request, Response, Router, WebServer

# prometheus_client, the tracker session and the web server are imported where used: every
# command sets logging up through this module, most never serve metrics (bench/startup.py).

log = logging.getLogger("planerka_sync.observability")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LIBRARIES = ("matplotlib", "PIL")
MASK = "***"
# Shorter "secrets" are not worth garbling every log line that happens to contain them
# (a sandbox key "k"); real tokens are far longer, and the patterns below still apply.
MIN_SECRET_LENGTH = 4

# --- redaction -------------------------------------------------------------------------------


def _masked(value: str) -> str:
    """``***``, inside the quotes the value had."""
    quote_char = value[0]
    return f"{quote_char}{MASK}{quote_char}" if quote_char in "\"'" else MASK


_SECRET_NAME = r"[\w.-]*?(?:key|token|secret|password|passwd|signature|sig)"
_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Authorization: <anything>, also inside a repr'd headers dict or a curl -H argument
    (re.compile(r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n]+"),
     rf"\1{MASK}"),
    # ?key=...&token=..., oauth_token="...", api_key=...
    (re.compile(rf"(?i)\b({_SECRET_NAME})=(\"[^\"]*\"|'[^']*'|[^&\s\"',;)]+)"),
     lambda m: f"{m[1]}={_masked(m[2])}"),
    # {"token": "..."} / {'api_key': '...'}
    (re.compile(rf"(?i)([\"']{_SECRET_NAME}[\"']\s*:\s*[\"'])[^\"']*"), rf"\1{MASK}"),
]


# Basic/Bearer credentials; "basic authentication" (all lower-case letters) is left alone.
_CREDENTIAL = re.compile(r"(?i)\b(basic|bearer)(\s+)([A-Za-z0-9._~+/-]{8,}=*)")


def _credential(match: re.Match[str]) -> str:
    value = match[3]
    if value.isalpha() and value.islower():
        return match[0]
    return f"{match[1]}{match[2]}{MASK}"


class Redactor:
    """Replaces the configured secret values (and their URL/JSON-escaped forms) and anything
    shaped like a credential with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        variants = {v for s in secrets if len(s) >= MIN_SECRET_LENGTH for v in _variants(s)}
        ordered = sorted(variants, key=len, reverse=True)  # a longer secret may contain another
        self._secrets = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return _CREDENTIAL.sub(_credential, text)


def _variants(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}


_PLAIN = logging.Formatter()


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra={...}`` a log call added to its record."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS}


class RedactingFilter(logging.Filter):
    """Rewrites each record in place before any handler formats it: the message (with its
    arguments merged in), ``extra`` fields, exception and stack text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.redact = Redactor(())
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these too from now on: the config, and so most secrets, is read only after
        logging is set up (the CLI's group callback runs before any command)."""
        merged = list(dict.fromkeys([*self.secrets, *(s for s in secrets if s)]))
        if merged != self.secrets:
            self.secrets = merged
            self.redact = Redactor(merged)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: keep what can be shown, safely
            message = f"{record.msg} (log arguments did not fit: {record.args!r})"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in extra_fields(record).items():
            setattr(record, key, self._scrub(value))
        return True

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {str(k): self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._scrub(v) for v in value]
        return self.redact(str(value))


# --- log formats -----------------------------------------------------------------------------


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT with the time in the team's zone and labelled with it, as every time a
    person reads: '2026-11-30 10:00:05 (Moscow, +03:00) INFO ...'. Until a config names the zone
    (:func:`log_times_in`), the machine's own zone, labelled all the same."""

    zone: ClassVar[tzinfo | None] = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        zone = TextFormatter.zone or moment.astimezone().tzinfo or UTC
        return local_time(moment, zone, "en", seconds=True)


def log_times_in(zone: str) -> None:
    """Text log lines from now on show their time in ``zone`` (the config's timezone)."""
    TextFormatter.zone = ZoneInfo(zone)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, extra fields, and
    ``exc`` / ``stack`` when present."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = dict(extra_fields(record))
        entry.update(
            ts=datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
        )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(
    level: int,
    fmt: Literal["text", "json"],
    secrets: Iterable[str],
    *,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Route all logging to one handler on ``stream`` (default: stderr) at ``level``, formatted
    as ``fmt``, with every secret redacted. Replaces the root logger's handlers; returns the new
    one. Call again (``run --log-format json``) to reconfigure: the secrets the old handler
    knew are kept. :func:`redact_also` adds secrets without replacing anything."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT))
    known = [s for f in _root_filters() for s in f.secrets]
    handler.addFilter(RedactingFilter([*known, *secrets]))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in QUIET_LIBRARIES:  # their DEBUG is about fonts and plugins, not our work
        logging.getLogger(chatty).setLevel(max(level, logging.INFO))
    # A thread's uncaught exception would otherwise be printed raw by threading's own hook.
    threading.excepthook = _log_thread_exception
    return handler


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:  # what the default hook ignores too
        return
    name = args.thread.name if args.thread is not None else "?"
    exc_info = (args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    log.error("uncaught exception in thread %s", name, exc_info=exc_info)


def _root_filters() -> list[RedactingFilter]:
    return [f for h in logging.getLogger().handlers for f in h.filters
            if isinstance(f, RedactingFilter)]


def redact_also(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in every log line from now on (the handler :func:`setup_logging`
    installed) and in what :func:`redact` returns."""
    wanted = list(secrets)
    for found in _root_filters():
        found.add(wanted)


def redact(text: str) -> str:
    """``text`` as it may be shown: what the CLI prints outside logging (error messages,
    tracebacks) gets the same treatment as a log line."""
    filters = _root_filters()
    return filters[0].redact(text) if filters else Redactor(secrets_in_environment())(text)


# Environment variables whose name says they hold a credential: masked from the first log line,
# before the config (which says which variables it uses) has been read.
_SECRET_VARIABLE = re.compile(r"(?i)(token|secret|passw(or)?d|api_?key|_key$|credential)")
# ${VAR} / ${VAR:-default}, as config.py interpolates them.
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
# A variable this short is a port, a flag or a name, not a credential; masking it would garble
# every log line ("8080", "true"). Secret fields are covered by secrets_of, whatever their length.
MIN_GUESSED_LENGTH = 8


def secrets_in_environment(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of the variables named like a token, key, secret or password."""
    variables = os.environ if env is None else env
    return [value for name, value in variables.items()
            if len(value) >= MIN_GUESSED_LENGTH and _SECRET_VARIABLE.search(name)]


def referenced_variables(raw: Any, env: Mapping[str, str] | None = None) -> list[str]:
    """Values of the environment variables the raw (not yet interpolated) config refers to as
    ``${VAR}``: a secret may sit anywhere (a KPI source's URL, a header), not only in the
    fields :func:`secrets_of` knows."""
    variables = os.environ if env is None else env
    names = {m[1] for text in _strings(raw) for m in _REFERENCE.finditer(text)}
    return [variables[name] for name in sorted(names)
            if len(variables.get(name, "")) >= MIN_GUESSED_LENGTH]


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def secrets_of(config: Config) -> list[str]:
    """Every secret value in the config, for :func:`setup_logging`."""
    tracker = config.tracker
    token = tracker.token.get_secret_value()
    found = [token]
    if tracker.kind == "trello":
        found.append(tracker.api_key.get_secret_value())
    elif tracker.email:  # Jira Cloud sends email:token as HTTP Basic credentials
        found.append(base64.b64encode(f"{tracker.email}:{token}".encode()).decode())
    for source in config.kpi_sources:
        found += source.secrets()
    serve = config.serve
    for secret in (serve.trello_app_secret, serve.jira_webhook_secret,
                   serve.jira_automation_token):
        found.append(secret.get_secret_value() if secret else "")
    if config.database:
        found.append(urlsplit(config.database).password or "")
    return list(dict.fromkeys(s for s in found if s))


# --- metrics ---------------------------------------------------------------------------------

JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, float("inf"))


class Metrics:
    """The daemon's Prometheus metrics, in a registry of their own."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self._clock = clock
        self.tracker_requests = Counter(
            "tracker_requests_total", "HTTP requests sent to the tracker, by answer status "
            "('error' when none came)", ["tracker", "method", "status"], registry=self.registry)
        self.tracker_throttled = Counter(
            "tracker_throttled_seconds_total", "Seconds spent waiting on the tracker's rate "
            "limit: a 429's Retry-After, or the budget shared with the other replicas",
            ["tracker"], registry=self.registry)
        self.job_duration = Histogram(
            "job_duration_seconds", "Duration of daemon jobs (failed ones included)", ["job"],
            buckets=JOB_BUCKETS, registry=self.registry)
        self.decisions_created = Counter(
            "decisions_created_total", "Tracker tasks created from meeting decisions",
            registry=self.registry)
        self.errors = Counter(
            "errors_total", "Errors met by the daemon, by kind", ["kind"], registry=self.registry)
        self.webhooks = Counter(
            "webhooks_total", "Webhook deliveries received by serve, by source and outcome "
            "(queued, ignored, duplicate, refused, limited)", ["source", "outcome"],
            registry=self.registry)

    def observe_request(self, tracker: str, method: str, status: str) -> None:
        self.tracker_requests.labels(tracker, method, status).inc()

    def observe_throttle(self, tracker: str, seconds: float) -> None:
        self.tracker_throttled.labels(tracker).inc(seconds)

    @contextmanager
    def observe_job(self, job: str) -> Iterator[None]:
        started = self._clock()
        try:
            yield
        finally:
            self.job_duration.labels(job).observe(self._clock() - started)

    def count_decisions(self, n: int = 1) -> None:
        self.decisions_created.inc(n)

    def count_error(self, kind: str | BaseException) -> None:
        """``kind`` is a short word, or an exception (counted by its class name)."""
        self.errors.labels(kind if isinstance(kind, str) else type(kind).__name__).inc()

    def count_webhook(self, source: str, outcome: str) -> None:
        self.webhooks.labels(source, outcome).inc()


_default: Metrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> Metrics:
    """The process's metrics (created on first use, not at import)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Metrics()
        return _default


def observe_job(job: str) -> AbstractContextManager[None]:
    """``with observe_job("prepare"):`` records how long the block took, even if it raised."""
    return default_metrics().observe_job(job)


def count_decisions(n: int = 1) -> None:
    default_metrics().count_decisions(n)


def count_error(kind: str | BaseException) -> None:
    default_metrics().count_error(kind)


def instrument_trackers(metrics: Metrics | None = None) -> Callable[[], None]:
    """Count every tracker request (every attempt, retries included) and every second spent
    throttled in ``metrics``.

    Returns a function that stops the counting again.
    """
    from planerka_sync.trackers.http import TrackerSession

    chosen = metrics or default_metrics()
    observer, throttle = chosen.observe_request, chosen.observe_throttle
    if observer not in TrackerSession.observers:
        TrackerSession.observers.append(observer)
    if throttle not in TrackerSession.throttle_observers:
        TrackerSession.throttle_observers.append(throttle)

    def stop() -> None:
        if observer in TrackerSession.observers:
            TrackerSession.observers.remove(observer)
        if throttle in TrackerSession.throttle_observers:
            TrackerSession.throttle_observers.remove(throttle)

    return stop


# --- /healthz and /metrics -------------------------------------------------------------------

# None when healthy, else the reason it is not (shown in the 503 answer).
HealthCheck = Callable[[], str | None]


def add_health_routes(router: Router, metrics: Metrics | None = None,
                      health: HealthCheck | None = None) -> None:
    """``GET /healthz`` (200, or 503 with the reason) and ``GET /metrics`` (Prometheus)."""
    from prometheus_client.exposition import choose_encoder

    from planerka_sync.web.http import Response

    registry = (metrics or default_metrics()).registry

    def healthz(_: Request) -> Response:
        try:
            reason = health() if health is not None else None
        except Exception as exc:  # a broken check means we cannot vouch for health
            log.exception("health check failed")
            reason = f"health check failed ({type(exc).__name__})"
        if reason is None:
            return Response.json(200, {"status": "ok"})
        return Response.json(503, {"status": "unhealthy", "reason": reason})

    def metrics_page(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.header("Accept") or "")
        return Response(200, encoder(registry), content_type)

    router.add("GET", "/healthz", healthz)
    router.add("GET", "/metrics", metrics_page)


def serve_http(
    address: str, *, metrics: Metrics | None = None, health: HealthCheck | None = None
) -> tuple[WebServer, str]:
    """Serve only ``/healthz`` and ``/metrics`` on ``address`` from a daemon thread; returns the
    server (``.shutdown()`` stops it) and its base URL."""
    from planerka_sync.web.http import Router, start_server

    router = Router()
    add_health_routes(router, metrics, health)
    return start_server(address, router)
