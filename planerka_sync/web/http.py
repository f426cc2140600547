"""The one small HTTP stack planerka-sync serves with: a bounded server of its own on the
standard library, a route table and plain request/response values.

Why no framework: four JSON endpoints, two webhook receivers and a folder of static files do not
need one, and the stdlib needs no extra dependency in the daemon's image. Why not the stdlib's
``ThreadingHTTPServer``: it starts one thread per connection with no cap and listens with a
backlog of 5, so a few thousand slow or idle sockets make thousands of threads and new callers
queue for seconds. Here instead:

- one loop thread (``selectors``) accepts connections and reads requests without blocking; a
  request goes to a worker only when its headers and body are complete, so a client that stalls
  mid-request holds a few bytes of buffer, never a thread;
- a fixed pool of workers runs the handlers and writes the answers; a route marked
  ``answer_inline`` (``/healthz``: memory only, microseconds) is answered by the loop thread
  itself, so it answers even while every worker waits (on the DB, on the Power-Up's 25 s
  convert) - a liveness probe must not time out behind them;
- connections are persistent (HTTP/1.1 keep-alive, and HTTP/1.0's ``Connection: keep-alive``),
  pipelined requests are answered in order;
- at most ``max_connections`` connections are open: when full, the oldest connection that is not
  being answered (idle, or still sending) is closed for the new one, and if every one is being
  answered the new one gets a quick 503;
- each request must arrive whole (headers and body) within ``request_deadline`` seconds of its
  first byte - in total, not per read, so a byte every few seconds does not keep it alive;
- the listen backlog is 1024 (the kernel caps it at ``net.core.somaxconn``), so a burst of new
  connections waits in the kernel's queue, not in one-second SYN retries.

What a framework would give is here in a few lines: bounded bodies (413 before reading), errors as
JSON without a traceback, and handlers that never take the server down.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import queue
import re
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from planerka_sync.errors import ConfigError

log = logging.getLogger("planerka_sync.web")

DEFAULT_HOST = "127.0.0.1"
WORKERS = 32  # handlers running at once; the Power-Up's convert button may hold one for 25 s
MAX_CONNECTIONS = 1024  # open sockets, well under a default 1024+ fd limit with the DB's
REQUEST_DEADLINE = 10.0  # s from a request's first byte to its last, headers and body together
IDLE_TIMEOUT = 15.0  # s a keep-alive connection may wait for its next request
WRITE_TIMEOUT = 10.0  # s an answer may take to leave (a client that does not read)
BACKLOG = 1024  # at 128, 2,000 connects in a burst still saw 1 s SYN retries
_ACCEPT_BURST = 128  # accepts per wake-up, so reads are not starved by a connect flood
MAX_HEAD = 32 * 1024  # request line and headers
_SWEEP_EVERY = 0.25  # s between looks for connections past their deadline
_FULL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
         b"Content-Length: 45\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
         b'{"error": "too many connections; try again"}\n')


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    client: str
    params: dict[str, str] = field(default_factory=dict)  # from the route's named groups

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise HttpProblem(400, "the body is not valid JSON") from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json; charset=utf-8", dict(headers or {}))


class HttpProblem(Exception):
    """An answer other than success, with a message for whoever sent the request."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}

    def response(self) -> Response:
        return Response.json(self.status, {"error": self.message}, self.headers)


Handler = Callable[[Request], Response]


class Router:
    """Routes by method and a path pattern with ``{name}`` segments."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._inline: dict[tuple[str, str], Handler] = {}  # (method, exact path): see inline()

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.replace("{path*}", "(?P<path>.*)"))
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

    def answer_inline(self, method: str, path: str) -> None:
        """Let the server's loop thread answer ``method path`` itself, never queued behind the
        workers. Only for a handler that is instant and never blocks (no DB, no network, no
        lock held for long): while it runs, no other connection is read."""
        request = Request(method, path, {}, Message(), b"", "")
        self._inline[method, path] = self.resolve(request)

    def inline(self, request: Request) -> Handler | None:
        return self._inline.get((request.method, request.path))

    def resolve(self, request: Request) -> Handler:
        allowed = []
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            if method == request.method:
                request.params = match.groupdict()
                return handler
            allowed.append(method)
        if allowed:
            raise HttpProblem(405, f"{request.method} is not allowed here",
                              {"Allow": ", ".join(sorted(set(allowed)))})
        raise HttpProblem(404, f"no such endpoint: {request.path}")


Middleware = Callable[[Request, Handler], Response]


class _Conn:
    """One client connection, owned by the loop thread except while a worker answers on it."""

    __slots__ = ("buffer", "busy", "client", "continued", "deadline", "head", "in_request", "sock")

    def __init__(self, sock: socket.socket, client: str, deadline: float) -> None:
        self.sock, self.client, self.deadline = sock, client, deadline
        self.buffer = bytearray()
        self.busy = False  # a worker has it: not read, not swept, not evicted
        self.in_request = True  # a request has started (a new connection must send one)
        self.head: _Head | None = None  # the current request's parsed head, once complete
        self.continued = False  # "100 Continue" sent for the current request


@dataclass
class _Head:
    method: str
    target: str
    headers: Message
    body_at: int  # offset of the body in the buffer
    length: int
    keep_alive: bool
    version: str = "HTTP/1.1"


@dataclass
class _Job:
    conn: _Conn
    request: Request | None  # None: answer ``response`` as it is (a refusal) and close
    response: Response | None = None
    keep_alive: bool = False
    version: str = "HTTP/1.1"
    unsent: bytes | None = None  # the rest of an answer the loop thread began to send


class WebServer:
    """Serves ``router``; see the module's docstring for the limits it keeps."""

    def __init__(self, address: tuple[str, int], router: Router, *, max_body: int,
                 middleware: Middleware | None = None, workers: int = WORKERS,
                 max_connections: int = MAX_CONNECTIONS,
                 request_deadline: float = REQUEST_DEADLINE,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.router, self.max_body, self.middleware = router, max_body, middleware
        self.workers, self.max_connections = workers, max_connections
        self.request_deadline, self.idle_timeout = request_deadline, idle_timeout
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.create_server(address, family=family, backlog=BACKLOG)
        self.socket.setblocking(False)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self.refused_full = 0  # connections answered 503 because all were busy (tests read it)
        self.evicted = 0  # idle or stalled connections closed to make room
        self._selector = selectors.DefaultSelector()
        self._conns: dict[int, _Conn] = {}  # by fd, oldest first
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._returned: deque[tuple[_Conn, bool]] = deque()  # (conn, keep it) from workers
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._started = False
        self._threads: list[threading.Thread] = []

    # --- the application ------------------------------------------------------------------------
    def handle(self, request: Request, handler: Handler | None = None) -> Response:
        try:
            handler = handler or self.router.resolve(request)
            if self.middleware is not None:
                return self.middleware(request, handler)
            return handler(request)
        except HttpProblem as problem:
            return problem.response()
        except Exception:  # one broken request must not look like a broken server
            log.exception("%s %s failed", request.method, request.path)
            return Response.json(500, {"error": "internal error; see the service log"})

    # --- running and stopping -------------------------------------------------------------------
    def serve_forever(self) -> None:
        self._started = True
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"planerka-http-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._selector.register(self.socket, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            self._loop()
        finally:
            for conn in list(self._conns.values()):
                self._close(conn)
            self._selector.close()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serving, close every connection and release the port."""
        self._stopping.set()
        self._wake()
        if self._started:
            self._stopped.wait(5)
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=WRITE_TIMEOUT)
        self.server_close()

    def server_close(self) -> None:
        for sock in (self.socket, self._wake_r, self._wake_w):
            sock.close()

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # --- the loop thread: accept, read, hand complete requests to the workers ------------------
    def _loop(self) -> None:
        next_sweep = time.monotonic() + _SWEEP_EVERY
        while not self._stopping.is_set():
            for key, _ in self._selector.select(timeout=_SWEEP_EVERY):
                try:
                    self._event(key.data)
                except Exception:  # one odd socket must not stop the server for everyone
                    log.exception("the HTTP loop failed on a connection")
                    if isinstance(key.data, _Conn):
                        self._close(key.data)
            now = time.monotonic()
            if now >= next_sweep:
                self._sweep(now)
                next_sweep = now + _SWEEP_EVERY

    def _event(self, data: _Conn | str | None) -> None:
        if data is None:
            self._accept()
        elif data == "wake":
            self._take_back()
        elif isinstance(data, _Conn):
            self._read(data)

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BURST):
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of file descriptors: the backlog keeps the rest
                log.warning("cannot accept a connection: %s", exc)
                return
            if len(self._conns) >= self.max_connections and not self._evict():
                self._refuse_full(sock)
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(sock, str(address[0]), time.monotonic() + self.request_deadline)
            self._conns[sock.fileno()] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _evict(self) -> bool:
        """Close the oldest connection no worker is answering: idle keep-alives and stalled
        requests make room for a new caller instead of keeping it out."""
        victim = next((c for c in self._conns.values() if not c.busy), None)
        if victim is None:
            return False
        self.evicted += 1
        self._close(victim)
        return True

    def _refuse_full(self, sock: socket.socket) -> None:
        self.refused_full += 1
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            sock.send(_FULL)
        sock.close()

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        if not conn.in_request:  # the first byte of the next request starts its deadline
            conn.in_request = True
            conn.deadline = time.monotonic() + self.request_deadline
        conn.buffer += data
        self._advance(conn)

    def _advance(self, conn: _Conn) -> None:
        """Hand each whole request on (or answer it here, if its route is inline)."""
        while self._advance_one(conn):
            pass

    def _advance_one(self, conn: _Conn) -> bool:
        """Hand the request on once it is whole; refuse it as soon as it cannot be served.
        True if it was answered here and the connection may be read on at once."""
        try:
            head = conn.head or self._parse_head(conn)
        except HttpProblem as problem:
            self._dispatch(_Job(conn, None, problem.response()))
            return False
        if head is None:
            return False
        conn.head = head
        end = head.body_at + head.length
        if len(conn.buffer) < end:
            self._maybe_continue(conn)
            return False
        body = bytes(conn.buffer[head.body_at:end])
        del conn.buffer[:end]
        parts = urlsplit(head.target)
        request = Request(head.method, parts.path, dict(parse_qsl(parts.query)), head.headers,
                          body, conn.client)
        handler = self.router.inline(request)
        if handler is not None and not self._stopping.is_set():
            return self._answer_here(conn, request, handler, head)
        self._dispatch(_Job(conn, request, keep_alive=head.keep_alive, version=head.version))
        return False

    def _answer_here(self, conn: _Conn, request: Request, handler: Handler, head: _Head) -> bool:
        """An inline route, answered on the loop thread: nothing queued, no thread switch. An
        answer the socket does not take at once goes to a worker to finish sending."""
        conn.head, conn.continued = None, False
        data = _serialise(self.handle(request, handler), head=request.method == "HEAD",
                          keep_alive=head.keep_alive, version=head.version)
        try:
            sent = conn.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(conn)
            return False
        if sent < len(data):
            conn.busy = True
            self._selector.unregister(conn.sock)
            self._jobs.put(_Job(conn, None, keep_alive=head.keep_alive, unsent=data[sent:]))
            return False
        if not head.keep_alive:
            self._close(conn)
            return False
        conn.in_request = bool(conn.buffer)
        wait = self.request_deadline if conn.buffer else self.idle_timeout
        conn.deadline = time.monotonic() + wait
        return bool(conn.buffer)

    def _parse_head(self, conn: _Conn) -> _Head | None:
        end = conn.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(conn.buffer) > MAX_HEAD:
                raise HttpProblem(431, f"the request head is larger than {MAX_HEAD} bytes")
            return None
        if end > MAX_HEAD:
            raise HttpProblem(431, f"the request head is larger than {MAX_HEAD} bytes")
        line, _, rest = bytes(conn.buffer[:end + 4]).partition(b"\r\n")
        words = line.decode("latin-1").split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            raise HttpProblem(400, "not an HTTP/1.x request line")
        method, target, version = words
        try:
            headers = http.client.parse_headers(io.BytesIO(rest))
        except http.client.HTTPException:
            raise HttpProblem(431, "too many request headers") from None
        length = self._body_length(headers)
        connection = (headers.get("Connection") or "").lower()
        keep_alive = ("close" not in connection if version == "HTTP/1.1"
                      else "keep-alive" in connection)
        return _Head(method, target, headers, end + 4, length, keep_alive, version)

    def _body_length(self, headers: Message) -> int:
        if (headers.get("Transfer-Encoding") or "").lower() == "chunked":
            raise HttpProblem(411, "send the body with a Content-Length")
        try:
            length = int(headers.get("Content-Length") or 0)
        except ValueError:
            raise HttpProblem(400, "Content-Length is not a number") from None
        if length < 0:
            raise HttpProblem(400, "Content-Length is negative")
        if length > self.max_body:
            raise HttpProblem(413, f"the body is larger than {self.max_body} bytes")
        return length

    def _maybe_continue(self, conn: _Conn) -> None:
        """curl and some proxies wait (a second) for "100 Continue" before sending a body."""
        assert conn.head is not None
        expect = (conn.head.headers.get("Expect") or "").lower()
        if expect == "100-continue" and not conn.continued:
            conn.continued = True
            with contextlib.suppress(OSError):
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _dispatch(self, job: _Job) -> None:
        conn = job.conn
        conn.busy, conn.head, conn.continued = True, None, False
        self._selector.unregister(conn.sock)
        self._jobs.put(job)

    def _take_back(self) -> None:
        """Connections the workers have answered: read on (keep-alive) or close."""
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        while self._returned:
            conn, keep = self._returned.popleft()
            if not keep or self._stopping.is_set() or not self._owns(conn):
                self._close(conn)
                continue
            conn.busy, conn.in_request = False, bool(conn.buffer)
            wait = self.request_deadline if conn.buffer else self.idle_timeout
            conn.deadline = time.monotonic() + wait
            conn.sock.setblocking(False)
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
            if conn.buffer:  # a pipelined request already here
                self._advance(conn)

    def _owns(self, conn: _Conn) -> bool:
        return self._conns.get(conn.sock.fileno()) is conn

    def _sweep(self, now: float) -> None:
        for conn in [c for c in self._conns.values() if not c.busy and c.deadline <= now]:
            self._close(conn)

    def _close(self, conn: _Conn) -> None:
        if self._owns(conn):
            del self._conns[conn.sock.fileno()]
            if not conn.busy:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(conn.sock)
        with contextlib.suppress(OSError):
            conn.sock.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full: the loop is already due to wake
            self._wake_w.send(b"x")

    # --- the workers ----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            keep = self._answer(job)
            self._returned.append((job.conn, keep))
            self._wake()

    def _answer(self, job: _Job) -> bool:
        """Run the handler and write its answer; whether the connection may be read on."""
        if job.unsent is not None:
            data = job.unsent
        elif job.request is None:
            assert job.response is not None
            data = _serialise(job.response, head=False, keep_alive=False)
        else:
            response = self.handle(job.request)
            log.debug("http %s %s %s -> %d", job.conn.client, job.request.method,
                      job.request.path, response.status)  # the path only: queries carry tokens
            data = _serialise(response, head=job.request.method == "HEAD",
                              keep_alive=job.keep_alive, version=job.version)
        try:
            job.conn.sock.settimeout(WRITE_TIMEOUT)
            job.conn.sock.sendall(data)
        except OSError:
            return False
        return job.keep_alive


def _serialise(response: Response, *, head: bool, keep_alive: bool,
               version: str = "HTTP/1.1") -> bytes:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {response.status} {reason}",
             f"Content-Type: {response.content_type}",
             f"Content-Length: {len(response.body)}",
             f"Date: {formatdate(usegmt=True)}",
             *(f"{name}: {value}" for name, value in response.headers.items())]
    if not keep_alive:
        lines.append("Connection: close")
    elif version != "HTTP/1.1":  # HTTP/1.0 closes unless told the connection stays
        lines.append("Connection: keep-alive")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return data if head else data + response.body


def start_server(address: str, router: Router, *, max_body: int = 512 * 1024,
                 middleware: Middleware | None = None, flag: str = "--http"
                 ) -> tuple[WebServer, str]:
    """Serve ``router`` on ``address`` ("host:port", ":port" or "port"; host defaults to
    127.0.0.1, port 0 picks a free one) from a daemon thread.

    Returns the server (``.shutdown()`` stops it) and its base URL.
    """
    host, port = parse_address(address, flag)
    try:
        server = WebServer((host, port), router, max_body=max_body, middleware=middleware)
    except OSError as exc:
        raise ConfigError([f"{flag}: cannot listen on {address}: {exc.strerror or exc}"]) from exc
    thread = threading.Thread(target=server.serve_forever, name="planerka-http", daemon=True)
    thread.start()
    bound_port = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    return server, f"http://{shown}:{bound_port}"


def parse_address(address: str, flag: str = "--http") -> tuple[str, int]:
    host, sep, port = address.strip().rpartition(":")
    if not sep:
        host, port = "", address.strip()
    host = host.strip("[]") or DEFAULT_HOST
    if not port.isdigit() or int(port) > 65535:
        raise ConfigError([f"{flag}: expected HOST:PORT such as 127.0.0.1:9108, not {address!r}"])
    return host, int(port)
