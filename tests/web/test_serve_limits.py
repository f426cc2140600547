"""What `serve` spends on callers it does not know: an unsigned flood, random Power-Up tokens and
slow connections must not cost the team's real deliveries, Trello's rate budget or the process's
threads. Each test runs its own world, bounded in requests and seconds, on loopback only."""

from __future__ import annotations

import http.client
import json
import os
import resource
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace

import requests

from planerka_sync.sandbox.trello import sign_webhook
from planerka_sync.web.auth import LOOKUPS_PER_CLIENT, LOOKUPS_PER_MINUTE
from tests.web.world import APP_SECRET, WebWorld, wait_until, web_world

FLOOD = 5000
FLOOD_CONNECTIONS = 8
PIPELINE = 50  # requests written at once on a flooding connection: a cheap attacker


def port_of(world: WebWorld) -> int:
    return int(world.url.rsplit(":", 1)[1])


def flood_connection(port: int, count: int, statuses: Counter[int], lock: threading.Lock) -> None:
    """``count`` unsigned deliveries on one keep-alive connection, ``PIPELINE`` at a time."""
    request = (b"POST /webhooks/trello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2\r\n\r\n{}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        buffer = b""
        while count:
            batch = min(PIPELINE, count)
            sock.sendall(request * batch)
            count -= batch
            while batch:
                head_end = buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    chunk = sock.recv(65536)
                    assert chunk, "serve closed a flooding connection"
                    buffer += chunk
                    continue
                head = buffer[:head_end].decode("latin-1")
                length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
                if len(buffer) < head_end + 4 + length:
                    buffer += sock.recv(65536)
                    continue
                buffer = buffer[head_end + 4 + length:]
                with lock:
                    statuses[int(head.split(" ")[1])] += 1
                batch -= 1


def refused_total(world: WebWorld) -> float:
    text = requests.get(f"{world.url}/metrics", timeout=5).text
    line = 'webhooks_total{outcome="refused",source="trello"} '
    return next((float(x.removeprefix(line)) for x in text.splitlines() if x.startswith(line)),
                0.0)


def test_an_unsigned_flood_does_not_delay_or_refuse_a_signed_delivery() -> None:
    with web_world(register_webhook=False) as world:
        refused_before = refused_total(world)  # the metrics are the process's, shared
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        per_connection = FLOOD // FLOOD_CONNECTIONS
        flooders = [threading.Thread(target=flood_connection,
                                     args=(port_of(world), per_connection, statuses, lock))
                    for _ in range(FLOOD_CONNECTIONS)]
        for thread in flooders:
            thread.start()
        try:
            wait_until(lambda: sum(statuses.values()) >= FLOOD // 4, timeout=20, every=0.01)
            event = {"type": "commentCard", "data": {"card": {"id": world.meeting_card_id}}}
            body = json.dumps({"action": event}).encode()
            url = f"{world.url}/webhooks/trello"
            started = time.monotonic()
            answer = requests.post(url, data=body, timeout=10, headers={
                "X-Trello-Webhook": sign_webhook(APP_SECRET, body, url)})
            took = time.monotonic() - started
            still_flooding = sum(statuses.values()) < FLOOD
        finally:
            for thread in flooders:
                thread.join(30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"ok": True, "queued": True}
        assert took < 1.0
        assert still_flooding  # the delivery really went in during the flood
        # Every unsigned request was refused; the address's own budget (events_per_minute) ran
        # out and the rest got 429, without touching the budget of Trello's real deliveries.
        budget = world.config.serve.events_per_minute
        assert statuses == {401: budget, 429: FLOOD - budget}
        assert refused_total(world) - refused_before == FLOOD
        wait_until(lambda: world.running.web.worker.idle, timeout=10)


def member_lookups(world: WebWorld) -> int:
    return sum(1 for e in world.log() if e["path"] == "/1/members/me")


def api_from(world: WebWorld, address: str, token: str) -> http.client.HTTPResponse:
    """A Power-Up API call from a loopback address of our choosing (all of 127/8 is ours)."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(world), timeout=10,
                                            source_address=(address, 0))
    connection.request("GET", f"/api/boards/{world.board_id}/cards/{world.task_card_id}"
                              "/planerka", headers={"Authorization": f"Bearer {token}"})
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer


def test_random_bearer_tokens_cost_a_bounded_number_of_trello_lookups() -> None:
    with web_world(register_webhook=False) as world:
        assert api_from(world, "127.0.0.1", world.token).status == 200  # Ivan, known since
        world.clear_log()
        one_address = Counter(api_from(world, "127.0.0.1", uuid.uuid4().hex).status
                              for _ in range(40))
        per_client = int(LOOKUPS_PER_CLIENT.rate) - 1  # Ivan's check came from there too
        assert one_address == {401: per_client, 429: 40 - per_client}
        assert member_lookups(world) == per_client
        # Many addresses: the global budget holds them all.
        many = Counter(api_from(world, f"127.0.0.{n}", uuid.uuid4().hex).status
                       for n in range(2, 10) for _ in range(8))
        assert member_lookups(world) == LOOKUPS_PER_MINUTE.rate - 1  # Ivan's was the first
        assert many[401] == LOOKUPS_PER_MINUTE.rate - 1 - per_client
        limited = api_from(world, "127.0.0.20", uuid.uuid4().hex)
        assert limited.status == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # A member already known is checked again when their minute is over, budgets spent or not.
        members = world.running.web.members
        assert members is not None
        members._cache = {k: replace(e, expires=0.0) for k, e in members._cache.items()}
        assert api_from(world, "127.0.0.1", world.token).status == 200
        assert member_lookups(world) == LOOKUPS_PER_MINUTE.rate


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def test_slow_connections_hold_neither_threads_nor_the_health_check() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))
    slow: list[socket.socket] = []
    with web_world(register_webhook=False) as world:
        try:
            partial = b"POST /webhooks/trello HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            deadline = time.monotonic() + 20
            while len(slow) < 2000 and time.monotonic() < deadline:
                try:
                    sock = socket.create_connection(("127.0.0.1", port_of(world)), timeout=2)
                    slow.append(sock)
                    sock.sendall(partial)
                except OSError:
                    pass  # a refused or timed-out connect is the server's right; counted below
            assert len(slow) >= 1900
            time.sleep(0.3)
            started = time.monotonic()
            health = requests.get(f"{world.url}/healthz", timeout=5)
            took = time.monotonic() - started
            assert health.status_code == 200
            assert took < 0.2
            assert thread_count() < 100
        finally:
            for sock in slow:
                sock.close()
        server = world.running.server
        wait_until(lambda: server.open_connections < 10, timeout=5)
        assert server.evicted >= 2000 - server.max_connections
