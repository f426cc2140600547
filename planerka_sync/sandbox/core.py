"""The machinery every sandbox emulator shares: requests, routing, faults, the request log.

An emulator (Jira Cloud, Jira DC, Trello) is a subclass of :class:`Emulator` that declares its
routes with :func:`route` and keeps its objects in plain dicts under ``self.db``. The HTTP server
(``server.py``) hands each request to :meth:`Emulator.handle`, which applies run-time faults,
authenticates, dispatches and logs.

The server is built on the standard library on purpose: the fault switches need to drop a
connection after the change was applied, or hang, which a framework would hide from us.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

JSON = Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter (Trello also accepts them in a form or JSON body)."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        value = self.headers.get(name)
        return value if value is not None else default

    def json(self) -> JSON:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(400, {"errorMessages": [f"Invalid JSON: {exc}"]}) from exc

    def form(self) -> dict[str, str]:
        """A urlencoded body as a flat dict (last value wins)."""
        ctype = self.header("Content-Type", "") or ""
        if "application/x-www-form-urlencoded" not in ctype:
            return {}
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    def multipart(self) -> list[MultipartPart]:
        """Parts of a multipart/form-data body (attachments)."""
        ctype = self.header("Content-Type", "") or ""
        if not ctype.startswith("multipart/form-data"):
            return []
        raw = b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self.body
        message = BytesParser(policy=HTTP).parsebytes(raw)
        parts = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            parts.append(
                MultipartPart(
                    name=name if isinstance(name, str) else "",
                    filename=part.get_filename(),
                    content_type=part.get_content_type(),
                    data=payload if isinstance(payload, bytes) else b"",
                )
            )
        return parts


@dataclass
class MultipartPart:
    name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Response:
    status: int = 200
    body: JSON | bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encode(self) -> tuple[bytes, str]:
        """Body bytes and content type."""
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/plain; charset=utf-8"
        if self.body is None and self.status in (204, 304):
            return b"", self.content_type or "text/plain"
        data = json.dumps(self.body, ensure_ascii=False).encode("utf-8")
        return data, self.content_type or "application/json;charset=UTF-8"


class HttpError(Exception):
    """Raised inside a handler to answer with an error status and body."""

    def __init__(
        self, status: int, body: JSON | str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.response = Response(status=status, body=body, headers=headers or {})


Handler = Callable[..., "Response | JSON"]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler_name: str
    auth: bool


def route(method: str, path: str, *, auth: bool = True) -> Callable[[Handler], Handler]:
    """Declare a handler for METHOD PATH; PATH is a regex with named groups, anchored both ends."""

    def decorate(fn: Handler) -> Handler:
        routes = fn.__dict__.setdefault("_sandbox_routes", [])
        routes.append((method.upper(), path, auth))
        return fn

    return decorate


@dataclass
class Fault:
    """A run-time fault: for the next ``count`` requests matching method + path regex, answer
    ``status`` (with ``headers``/``body``), or add ``latency`` seconds, or apply the request and
    then ``drop`` the connection without an answer, or ``hang`` for that many seconds.

    What a real tracker behind a gateway does to a write, besides: ``apply: true`` with a
    ``status`` applies the request and then answers that status (a 502 after the issue was
    created); ``apply_after: S`` answers ``status`` (or drops) now and applies the request once
    the sandbox clock has moved S seconds on (a create that lands after the client gave up).
    """

    path: str
    method: str | None = None
    count: int = 1
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: JSON | str | None = None
    latency: float = 0.0
    drop: bool = False
    hang: float = 0.0
    apply: bool = False
    apply_after: float | None = None

    @classmethod
    def from_json(cls, data: JSON) -> Fault:
        if not isinstance(data, dict) or "path" not in data:
            raise HttpError(400, {"error": "a fault needs at least 'path' (a regex)"})
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise HttpError(400, {"error": f"unknown fault fields: {sorted(unknown)}"})
        try:
            re.compile(data["path"])
        except re.error as exc:
            raise HttpError(400, {"error": f"bad path regex: {exc}"}) from exc
        return cls(**data)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return re.search(self.path, path) is not None


@dataclass
class LogEntry:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    duration_ms: float
    at: float


class Dropped(Exception):
    """The handler ran; the server must close the connection without answering."""


class Emulator:
    """Base of the three emulators. Subclasses define ``flavour``, ``default_seed()``,
    ``load_seed(seed)``, ``authenticate(req)`` and route handlers."""

    flavour = "base"

    def __init__(self, seed: JSON | None = None, options: dict[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self.log: list[LogEntry] = []
        self.faults: list[Fault] = []
        # Webhook delivery attempts of emulators that send webhooks (GET /_sandbox/deliveries).
        self.deliveries: list[dict[str, Any]] = []
        self.options: dict[str, Any] = dict(options or {})
        self.base_url = ""
        self.shutting_down = threading.Event()
        self.db: dict[str, Any] = {}
        # Seconds added to the wall clock (POST /_sandbox/clock): tests step over search lag
        # and late writes without waiting for them.
        self.clock_offset = 0.0
        self.deferred: list[tuple[float, Request]] = []  # (apply at, request) of apply_after
        self._seed = seed if seed is not None else self.default_seed()
        self.load_seed(self._seed)
        self._routes = list(self._collect_routes())

    # --- to override -------------------------------------------------------------------------
    def default_seed(self) -> JSON:
        return {}

    def load_seed(self, seed: JSON) -> None:
        """Replace every object with the ones described by ``seed``."""
        self.db = {}

    def authenticate(self, req: Request) -> Response | None:
        """None when the request carries valid credentials, else the 401 the service answers."""
        return None

    def not_found(self, req: Request) -> Response:
        return Response(404, {"errorMessages": [f"No route for {req.method} {req.path}"]})

    def extra_control(self, method: str, what: str, req: Request) -> Response | None:
        """An emulator's own ``/_sandbox/<what>`` controls; None when ``what`` is not one."""
        return None

    # --- machinery ---------------------------------------------------------------------------
    def _collect_routes(self) -> Iterator[Route]:
        for cls in type(self).__mro__:
            for name, fn in vars(cls).items():
                for method, path, auth in getattr(fn, "_sandbox_routes", []):
                    yield Route(method, re.compile(f"^{path}$"), name, auth)

    def reset(self) -> None:
        with self.lock:
            self.load_seed(self._seed)
            self.log.clear()
            self.faults.clear()
            self.deliveries.clear()
            self.deferred.clear()
            self.clock_offset = 0.0

    def seed(self, seed: JSON) -> None:
        with self.lock:
            self._seed = seed
            self.load_seed(seed)

    def snapshot(self) -> JSON:
        with self.lock:
            return json.loads(json.dumps(self.db, default=str))

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += seconds
        self.apply_deferred()

    def apply_deferred(self) -> None:
        """Apply the late writes whose time has come, in the order they were sent."""
        with self.lock:
            now = self.now()
            due = [d for d in self.deferred if d[0] <= now]
            self.deferred = [d for d in self.deferred if d[0] > now]
        for _, req in due:
            self._dispatch(req)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def handle(self, req: Request) -> Response:
        """Answer one request: control routes, faults, auth, dispatch. Raises Dropped."""
        started = time.monotonic()
        status = 0
        try:
            response = self._answer(req)
            status = response.status
            return response
        except Dropped:
            status = 0
            raise
        finally:
            if not req.path.startswith("/_sandbox/"):
                entry = LogEntry(
                    req.method,
                    req.path,
                    req.query,
                    status,
                    round((time.monotonic() - started) * 1000, 3),
                    time.time(),
                )
                with self.lock:
                    self.log.append(entry)

    def _answer(self, req: Request) -> Response:
        if req.path.startswith("/_sandbox/"):
            return self._control(req)
        if self.deferred:
            self.apply_deferred()
        fault = self.take_fault(req.method, req.path)
        if fault is None:
            return self._dispatch(req)
        if fault.hang:
            self.shutting_down.wait(fault.hang)
        if fault.latency:
            time.sleep(fault.latency)
        response = Response(504, {"errorMessages": ["Gateway Timeout"]})
        if fault.apply_after is not None:
            with self.lock:
                self.deferred.append((self.now() + fault.apply_after, req))
        elif fault.status is None or fault.apply:
            response = self._dispatch(req)
        if fault.drop:
            raise Dropped()
        if fault.status is not None:
            return Response(fault.status, fault.body, dict(fault.headers))
        return response

    def _dispatch(self, req: Request) -> Response:
        allowed = False
        for r in self._routes:
            match = r.pattern.match(req.path)
            if not match:
                continue
            if r.method != req.method:
                allowed = True
                continue
            if r.auth:
                denied = self.authenticate(req)
                if denied is not None:
                    return denied
            req.params = match.groupdict()
            try:
                with self.lock:
                    result = getattr(self, r.handler_name)(req)
            except HttpError as err:
                return err.response
            return result if isinstance(result, Response) else Response(200, result)
        if allowed:
            return Response(405, {"errorMessages": [f"Method {req.method} not allowed"]})
        return self.not_found(req)

    # --- /_sandbox/ control (no auth) ----------------------------------------------------------
    def _control(self, req: Request) -> Response:
        action = (req.method, req.path.removeprefix("/_sandbox/").rstrip("/"))
        try:
            match action:
                case ("GET", "requests"):
                    with self.lock:
                        return Response(200, [vars(e) for e in self.log])
                case ("DELETE", "requests"):
                    with self.lock:
                        self.log.clear()
                    return Response(204)
                case ("POST", "faults"):
                    body = req.json()
                    specs = body if isinstance(body, list) else [body]
                    new = [Fault.from_json(s) for s in specs]
                    with self.lock:
                        self.faults.extend(new)
                    return Response(201, {"faults": len(self.faults)})
                case ("GET", "faults"):
                    with self.lock:
                        return Response(200, [vars(f) for f in self.faults])
                case ("DELETE", "faults"):
                    with self.lock:
                        self.faults.clear()
                    return Response(204)
                case ("GET", "state"):
                    return Response(200, self.snapshot())
                case ("POST", "reset"):
                    self.reset()
                    return Response(204)
                case ("POST", "seed"):
                    self.seed(req.json() or self.default_seed())
                    return Response(204)
                case ("GET", "options"):
                    return Response(200, self.options)
                case ("POST", "options"):
                    body = req.json() or {}
                    with self.lock:
                        self.options.update(body)
                    return Response(200, self.options)
                case ("POST", "clock"):
                    body = req.json() or {}
                    self.advance_clock(float(body.get("advance", 0)))
                    return Response(200, {"now": self.now(), "offset": self.clock_offset})
                case ("GET", "clock"):
                    return Response(200, {"now": self.now(), "offset": self.clock_offset})
                case ("GET", "deliveries"):
                    with self.lock:
                        return Response(200, [dict(d) for d in self.deliveries])
                case ("DELETE", "deliveries"):
                    with self.lock:
                        self.deliveries.clear()
                    return Response(204)
                case (method, what):
                    extra = self.extra_control(method, what, req)
                    if extra is not None:
                        return extra
        except HttpError as err:
            return err.response
        return Response(404, {"error": f"unknown sandbox control {req.method} {req.path}"})


def courier_loop(outbox: queue.Queue[Any], stop: threading.Event,
                 deliver: Callable[[Any], None]) -> None:
    """Deliver queued webhook calls in order, outside the emulator lock, until ``stop``."""
    while not stop.is_set():
        try:
            item = outbox.get(timeout=0.2)
        except queue.Empty:
            continue
        deliver(item)
