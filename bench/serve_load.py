"""`serve` under load: requests/s and latency at 50 concurrent clients, next to the standard
library's plain ThreadingHTTPServer serving the very same routes (the baseline) in the same run.

    python bench/serve_load.py [--requests 3000] [--clients 50] [--seconds 20]

For each server: ``GET /healthz`` on keep-alive connections, ``GET /healthz`` on a new connection
per request (what the listen backlog and the accept path cost), and a signed Trello delivery
(``POST /webhooks/trello``, verified and acknowledged; about no meeting, so no tracker work).
The clients run in a subprocess (a second interpreter, so they do not share the server's GIL),
on loopback only; each scenario stops after ``--requests`` requests or ``--seconds``.

Prints one JSON line: {"clients", "requests", "results": [{"server", "scenario", "requests",
"errors", "rps", "p50_ms", "p99_ms"}, ...]}.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from planerka_sync.demo import DEMO_TRELLO_SECRET, demo_config
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.sandbox.trello import sign_webhook
from planerka_sync.service import App
from planerka_sync.store import open_store
from planerka_sync.trackers import make_tracker
from planerka_sync.web.app import Running, WebApp, start_web
from planerka_sync.web.http import HttpProblem, Request, Response, Router

EVENT = json.dumps({"action": {"type": "commentCard",
                               "data": {"card": {"id": "0" * 24}}}}).encode()


# --- the load: a client process --------------------------------------------------------------


def client_main(spec: dict[str, Any]) -> None:
    """Run in the subprocess: ``clients`` threads share ``requests``; print the latencies."""
    host, port = spec["host"], spec["port"]
    left = [spec["requests"]]
    lock = threading.Lock()
    times: list[float] = []
    errors: dict[str, int] = {}  # what went wrong: a status, or the exception's class
    stop_at = time.monotonic() + spec["seconds"]

    def take() -> bool:
        with lock:
            if left[0] <= 0 or time.monotonic() > stop_at:
                return False
            left[0] -= 1
            return True

    def one_client() -> None:
        connection: http.client.HTTPConnection | None = None
        while take():
            if connection is None or spec["new_connection"]:
                if connection is not None:
                    connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=10)
            started = time.perf_counter()
            try:
                connection.request(spec["method"], spec["path"], body=spec["body"].encode(),
                                   headers=spec["headers"])
                answer = connection.getresponse()
                answer.read()
                error = None if answer.status == 200 else str(answer.status)
            except (OSError, http.client.HTTPException) as exc:
                error, connection = type(exc).__name__, None
            with lock:
                times.append(time.perf_counter() - started)
                if error is not None:
                    errors[error] = errors.get(error, 0) + 1
        if connection is not None:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=one_client) for _ in range(spec["clients"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"times": times, "errors": errors,
                      "elapsed": time.perf_counter() - started}))


def load(url: str, scenario: str, signed_for: str, args: argparse.Namespace) -> dict[str, Any]:
    parts = urlsplit(url)
    spec: dict[str, Any] = {"host": parts.hostname, "port": parts.port, "clients": args.clients,
                            "requests": args.requests, "seconds": args.seconds,
                            "method": "GET", "path": "/healthz", "body": "", "headers": {},
                            "new_connection": scenario == "healthz, new connection each"}
    if scenario == "signed webhook":
        spec |= {"method": "POST", "path": "/webhooks/trello", "body": EVENT.decode(),
                 "headers": {"Content-Type": "application/json",
                             "X-Trello-Webhook": sign_webhook(DEMO_TRELLO_SECRET, EVENT,
                                                              signed_for)}}
    out = subprocess.run([sys.executable, __file__, "--client", json.dumps(spec)],
                         capture_output=True, text=True, check=True,
                         timeout=args.seconds + 30).stdout
    data = json.loads(out)
    times = sorted(t * 1000 for t in data["times"])
    return {"scenario": scenario, "requests": len(times), "errors": data["errors"],
            "rps": round(len(times) / data["elapsed"]),
            "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)], 2)}


# --- the baseline: the same routes on a plain ThreadingHTTPServer ----------------------------


def baseline_server(web: WebApp, router: Router) -> ThreadingHTTPServer:
    """What `serve` ran on before: a thread per connection, backlog 5."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self.serve()

        def do_POST(self) -> None:
            self.serve()

        def serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Request(self.command, parts.path, dict(parse_qsl(parts.query)),
                              self.headers, body, self.client_address[0])
            try:
                response = web.middleware(request, router.resolve(request))
            except HttpProblem as problem:
                response = problem.response()
            self.send(response)

        def send(self, response: Response) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(json.loads(args.client))
        return
    sandbox = SandboxServer(make_emulator("trello")).start()
    try:
        with tempfile.TemporaryDirectory(prefix="planerka-bench-") as tmp:
            print(json.dumps({"clients": args.clients, "requests": args.requests,
                              "results": run(sandbox.url, Path(tmp), args)}))
    finally:
        sandbox.stop()


def run(sandbox_url: str, tmp: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    config = demo_config("trello", sandbox_url)
    # The bench measures the server, not the per-source budget of deliveries.
    config = config.model_copy(update={"serve": config.serve.model_copy(
        update={"events_per_minute": 10**7})})
    db = f"sqlite:///{tmp / 'planerka.db'}"

    def make_app() -> App:
        return App(config, open_store(db), lambda: make_tracker(config))

    running: Running = start_web(config, make_app, "127.0.0.1:0")
    baseline = baseline_server(running.web, running.web.router())
    signed_for = f"{running.url}/webhooks/trello"  # the URL serve checks signatures against
    servers = {"planerka serve": running.url,
               "stdlib ThreadingHTTPServer": f"http://127.0.0.1:{baseline.server_address[1]}"}
    results = []
    try:
        for scenario in ("healthz, keep-alive", "healthz, new connection each",
                         "signed webhook"):
            for name, url in servers.items():
                results.append({"server": name, **load(url, scenario, signed_for, args)})
    finally:
        baseline.shutdown()
        baseline.server_close()
        running.stop()
    return results


if __name__ == "__main__":
    main()
