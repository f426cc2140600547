"""The one small HTTP stack planerka-sync serves with: the standard library's threaded server,
a route table and plain request/response values (the sandbox runs on the same server class).

Why no framework: four JSON endpoints, two webhook receivers and a folder of static files do not
need one, and the stdlib server needs no extra dependency in the daemon's image. What a
framework would give is here in a few lines: bounded bodies (413 before reading), errors as
JSON without a traceback, and request threads that never take the server down.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from planerka_sync.errors import ConfigError

log = logging.getLogger("planerka_sync.web")

DEFAULT_HOST = "127.0.0.1"


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

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.replace("{path*}", "(?P<path>.*)"))
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

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


class WebServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], router: Router, *, max_body: int,
                 middleware: Middleware | None = None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.router, self.max_body, self.middleware = router, max_body, middleware

    def shutdown(self) -> None:
        """Stop serving and release the port."""
        super().shutdown()
        self.server_close()

    def handle(self, request: Request) -> Response:
        try:
            handler = self.router.resolve(request)
            if self.middleware is not None:
                return self.middleware(request, handler)
            return handler(request)
        except HttpProblem as problem:
            return problem.response()
        except Exception:  # one broken request must not look like a broken server
            log.exception("%s %s failed", request.method, request.path)
            return Response.json(500, {"error": "internal error; see the service log"})


class _Handler(BaseHTTPRequestHandler):
    server: WebServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, a keep-alive client waits ~40 ms
    # for the delayed ACK before the body follows.
    disable_nagle_algorithm = True
    # A client that stops sending mid-request (or idles on keep-alive) frees its thread.
    timeout = 30

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            request = self._request()
        except HttpProblem as problem:
            # The body was not read: the connection cannot be reused.
            self.close_connection = True
            self._send(problem.response(), head=False)
            return
        self._send(self.server.handle(request), head=request.method == "HEAD")

    def _request(self) -> Request:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise HttpProblem(411, "send the body with a Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise HttpProblem(400, "Content-Length is not a number") from None
        if length < 0:
            raise HttpProblem(400, "Content-Length is negative")
        if length > self.server.max_body:
            raise HttpProblem(413, f"the body is larger than {self.server.max_body} bytes")
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        return Request(self.command, parts.path, dict(parse_qsl(parts.query)), self.headers,
                       body, self.client_address[0])

    def _send(self, response: Response, *, head: bool) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line can carry query parameters; it goes to debug only.
        log.debug("http %s - " + format, self.address_string(), *args)


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
