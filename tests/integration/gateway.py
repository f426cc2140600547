"""A reverse proxy on loopback standing where nginx or a cloud load balancer stands in front of
a real tracker: it forwards every request to the sandbox and, for the writes it is told to,
throws the tracker's answer away and says ``502 Bad Gateway`` in HTML, as gateways do. The write
has been applied all the same; only the client does not know it."""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

BAD_GATEWAY = (b"<html><head><title>502 Bad Gateway</title></head><body>"
               b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
               b"</body></html>")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    count: int


class Gateway:
    """``Gateway(upstream).start()``; ``.url`` is what clients use instead of the upstream's."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.rules: list[Rule] = []
        self.swallowed = 0  # answers replaced by a 502
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Gateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bad_gateway_after(self, method: str, path: str, count: int) -> None:
        """The next ``count`` matching requests are forwarded, then answered 502."""
        with self.lock:
            self.rules.append(Rule(method, re.compile(path), count))

    def _swallows(self, method: str, path: str) -> bool:
        with self.lock:
            for rule in self.rules:
                if rule.count > 0 and rule.method == method and rule.path.search(path):
                    rule.count -= 1
                    self.swallowed += 1
                    return True
        return False

    def _forward(self, method: str, target: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1",
                                              self.upstream.port, timeout=30)
        try:
            upstream.request(method, target, body=body or None, headers=headers)
            answer = upstream.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            upstream.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                status, answer_headers, answer = gateway._forward(
                    self.command, self.path, headers, body)
                if gateway._swallows(self.command, urlsplit(self.path).path):
                    status, answer_headers, answer = 502, [("Content-Type", "text/html")], (
                        BAD_GATEWAY)
                self.send_response(status)
                for name, value in answer_headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = _relay

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
