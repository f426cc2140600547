"""`serve` under load: requests/s and latency at 50 concurrent clients, next to the standard
library's ThreadingHTTPServer in the same run.

    python bench/serve_load.py [--requests 5000] [--clients 50] [--seconds 20] [--rounds 3]

Three servers, each on loopback:

- ``planerka serve``: ours (``start_web``: the whole app, its state DB and its worker);
- ``stdlib bare`` (the baseline the goals are measured against): a plain ThreadingHTTPServer
  on HTTP/1.1 whose handler does the least a receiver can - ``/healthz`` answers ``ok``, a
  Trello delivery has its signature checked and is acknowledged; no routing, no DB, no work;
- ``stdlib + planerka routes``: ThreadingHTTPServer running our router and handlers (what
  ``serve`` ran on before it had a server of its own).

For each: ``GET /healthz`` on keep-alive connections, ``GET /healthz`` on a new connection per
request (what the listen backlog and the accept path cost), and a signed Trello delivery
(``POST /webhooks/trello`` on keep-alive connections, verified and acknowledged; about a card
that is no meeting, so no tracker work). The clients run in a subprocess (a second interpreter,
so they do not share the server's GIL); each measurement stops after ``--requests`` requests or
``--seconds``. Servers take turns within each of ``--rounds`` rounds and the median round counts,
so a noisy moment on the machine does not pick the winner.

Prints one JSON line: {"clients", "requests", "rounds", "results": [{"server", "scenario",
"requests", "errors", "rps", "p50_ms", "p99_ms"}, ...], "ratios": {scenario: ours' rps / the
bare stdlib's}, "goals": {"signed webhook >= 0.6": bool, "healthz, keep-alive >= 0.9": bool}}.
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
from planerka_sync.webhooks import trello_valid

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


# --- the baselines on a plain ThreadingHTTPServer ---------------------------------------------


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a broken pipe) is counted by the client, not printed


def _start(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def bare_server(secret: str, signed_for: str) -> ThreadingHTTPServer:
    """The least a webhook receiver can do on the standard library: a thread per connection,
    HTTP/1.1 keep-alive, the signature checked, a fixed answer."""
    healthy = json.dumps({"status": "ok"}).encode()
    acknowledged = json.dumps({"ok": True, "queued": False}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self.answer(200, healthy)
            else:
                self.answer(404, b"{}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path != "/webhooks/trello":
                self.answer(404, b"{}")
            elif trello_valid(secret, body, signed_for, self.headers.get("X-Trello-Webhook")):
                self.answer(200, acknowledged)
            else:
                self.answer(401, b"{}")

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _start(QuietServer(("127.0.0.1", 0), Handler))


def baseline_server(web: WebApp, router: Router) -> ThreadingHTTPServer:
    """What `serve` ran on before: a thread per connection, backlog 5, our routes."""

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

    return _start(QuietServer(("127.0.0.1", 0), Handler))


# --- the run -----------------------------------------------------------------------------------


OURS, BARE, ROUTES = "planerka serve", "stdlib bare", "stdlib + planerka routes"
SCENARIOS = ("healthz, keep-alive", "healthz, new connection each", "signed webhook")
GOALS = {"signed webhook": 0.6, "healthz, keep-alive": 0.9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(json.loads(args.client))
        return
    sandbox = SandboxServer(make_emulator("trello")).start()
    try:
        with tempfile.TemporaryDirectory(prefix="planerka-bench-") as tmp:
            results = run(sandbox.url, Path(tmp), args)
    finally:
        sandbox.stop()
    rps = {(r["server"], r["scenario"]): r["rps"] for r in results}
    ratios = {scenario: round(rps[OURS, scenario] / max(rps[BARE, scenario], 1), 2)
              for scenario in SCENARIOS}
    print(json.dumps({"clients": args.clients, "requests": args.requests,
                      "rounds": args.rounds, "results": results, "ratios": ratios,
                      "goals": {f"{scenario} >= {goal}": ratios[scenario] >= goal
                                for scenario, goal in GOALS.items()}}))


def run(sandbox_url: str, tmp: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    config = demo_config("trello", sandbox_url)
    # The bench measures the server, not the per-source budget of deliveries.
    config = config.model_copy(update={"serve": config.serve.model_copy(
        update={"events_per_minute": 10**7})})
    db = f"sqlite:///{tmp / 'planerka.db'}"

    def make_app() -> App:
        return App(config, open_store(db), lambda: make_tracker(config))

    running: Running = start_web(config, make_app, "127.0.0.1:0")
    signed_for = f"{running.url}/webhooks/trello"  # the URL serve checks signatures against
    bare = bare_server(DEMO_TRELLO_SECRET, signed_for)
    routes = baseline_server(running.web, running.web.router())
    servers = {OURS: running.url,
               BARE: f"http://127.0.0.1:{bare.server_address[1]}",
               ROUTES: f"http://127.0.0.1:{routes.server_address[1]}"}
    rounds: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        for n in range(args.rounds):
            for scenario in SCENARIOS:
                order = list(servers.items())
                for name, url in order[n % len(order):] + order[:n % len(order)]:
                    rounds.setdefault((name, scenario), []).append(
                        load(url, scenario, signed_for, args))
    finally:
        for server in (bare, routes):
            server.shutdown()
            server.server_close()
        running.stop()
    results = []
    for scenario in SCENARIOS:
        for name in servers:
            taken = sorted(rounds[name, scenario], key=lambda r: r["rps"])
            results.append({"server": name, **taken[len(taken) // 2]})
    return results


if __name__ == "__main__":
    main()
