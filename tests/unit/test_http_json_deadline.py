"""An http-json KPI source that trickles its answer is abandoned at its total deadline: the
time-out is for the whole answer, not for each read."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from planerka_sync.kpi_sources.http_json import fetch

BODY = b'{"data": {"sessions": 12345}}'


class Trickle(BaseHTTPRequestHandler):
    """Promises the whole body, then sends one byte every 0.3 s (each read is quick)."""

    stop: threading.Event

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        for byte in BODY:
            if self.stop.wait(0.3):
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the client gave up
                return

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def trickling() -> Iterator[str]:
    stop = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (Trickle,), {"stop": stop}))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def test_a_trickling_source_is_abandoned_at_its_total_deadline(trickling: str) -> None:
    started = time.monotonic()
    values, error = fetch(f"{trickling}/metrics", {"sessions": "/data/sessions"}, timeout=1.0)
    took = time.monotonic() - started
    assert values == {"sessions": None} and error == "no answer within 1 s"
    # The whole body takes 0.3 s x 29 bytes = 8.7 s; a per-read time-out of 1 s never fires.
    assert took < 2.0


def test_a_slow_but_complete_answer_within_the_deadline_is_read(trickling: str) -> None:
    values, error = fetch(f"{trickling}/metrics", {"sessions": "/data/sessions"}, timeout=15)
    assert values == {"sessions": 12345.0} and error is None
