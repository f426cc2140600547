"""The HTTP server itself, on a tiny route table: deadlines, the connection cap, keep-alive and
pipelining. (Everything `serve` routes is tested through it in the other files.)"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import requests

from planerka_sync.web.http import Request, Response, Router, WebServer


@contextmanager
def serving(router: Router, **options: Any) -> Iterator[WebServer]:
    server = WebServer(("127.0.0.1", 0), router, max_body=1024, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5)


def echo_router(gate: threading.Event | None = None,
                waiting: threading.Semaphore | None = None) -> Router:
    router = Router()

    def hello(request: Request) -> Response:
        if gate is not None and request.query.get("wait"):
            if waiting is not None:
                waiting.release()
            gate.wait(5)
        return Response.json(200, {"path": request.path, "body": request.body.decode()})

    router.add("GET", "/hello", hello)
    router.add("POST", "/hello", hello)
    return router


def url(server: WebServer, path: str = "/hello") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def connect(server: WebServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5)


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_request_sent_a_byte_at_a_time_is_cut_at_its_deadline_in_total() -> None:
    """A deadline per read would let a byte every 0.1 s keep the connection for ever."""
    with serving(echo_router(), request_deadline=0.5) as server, closing(connect(server)) as sock:
        started = time.monotonic()
        closed = False
        for byte in b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n" + b"x" * 900:
            try:
                sock.send(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.05)
            if time.monotonic() - started > 3:
                break
        if not closed:
            sock.settimeout(1)
            closed = read_all(sock) == b""
        assert closed
        assert time.monotonic() - started < 2.0  # 0.5 s deadline, swept every 0.25 s
        assert server.open_connections == 0


def test_when_every_connection_is_being_answered_a_new_one_gets_a_quick_503() -> None:
    gate, waiting = threading.Event(), threading.Semaphore(0)
    answers: list[int] = []
    with serving(echo_router(gate, waiting), workers=2, max_connections=2) as server:
        busy = [threading.Thread(target=lambda: answers.append(
            requests.get(url(server, "/hello?wait=1"), timeout=10).status_code))
            for _ in range(2)]
        for thread in busy:
            thread.start()
        # Both requests must be in a worker's hands, not merely accepted: a connection whose
        # request has not been read yet is "still sending" and may rightly be evicted.
        assert waiting.acquire(timeout=5) and waiting.acquire(timeout=5)
        started = time.monotonic()
        refused = requests.get(url(server), timeout=5)
        assert time.monotonic() - started < 0.5
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert server.refused_full == 1
        gate.set()
        for thread in busy:
            thread.join(5)
    assert answers == [200, 200]


def test_idle_connections_make_room_for_a_new_caller() -> None:
    with serving(echo_router(), max_connections=3) as server:
        idle = [connect(server) for _ in range(3)]
        try:
            time.sleep(0.1)
            assert requests.get(url(server), timeout=5).status_code == 200
            assert server.evicted == 1
            assert server.open_connections <= 3
        finally:
            for sock in idle:
                sock.close()


def test_keep_alive_and_pipelined_requests_are_answered_in_order() -> None:
    with serving(echo_router()) as server, closing(connect(server)) as sock:
        sock.sendall(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
                     b"GET /hello?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_all(sock)
    first, second = data.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK") and b'"body": "one"' in first
    assert second.startswith(b"200 OK") and b"Connection: close" in second
    with serving(echo_router()) as server, requests.Session() as http:
        for _ in range(3):
            assert http.get(url(server), timeout=5).status_code == 200
        assert server.open_connections == 1  # one connection, kept


def test_broken_requests_get_an_answer_not_a_hang() -> None:
    with serving(echo_router()) as server:
        for raw, status in [(b"nonsense\r\n\r\n", b"400"),
                            (b"POST /hello HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", b"413"),
                            (b"POST /hello HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                             b"411"),
                            (b"GET /hello HTTP/1.1\r\nX: " + b"y" * 40_000, b"431")]:
            with closing(connect(server)) as sock:
                sock.sendall(raw)
                assert read_all(sock).split(b" ")[1] == status, raw[:30]
        assert requests.head(url(server), timeout=5).text == ""
