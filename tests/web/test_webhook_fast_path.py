"""The webhook fast path (issue 17, item 6): a verified delivery is answered without the state
DB, items the process does not know are looked up by the worker (by index), and /healthz is
answered even while every HTTP worker waits."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import requests
from sqlalchemy import inspect, text

from planerka_sync.observability import add_health_routes
from planerka_sync.sandbox.trello import sign_webhook
from planerka_sync.store import open_store
from planerka_sync.store.engine import make_engine, normalise_url
from planerka_sync.web.http import Request, Response, Router, WebServer
from planerka_sync.web.worker import Outcome
from tests.store.pg import pg_server, pg_url
from tests.store.schema_checks import left_at
from tests.web.world import (
    APP_SECRET,
    KEY,
    SERVICE_TOKEN,
    TOKEN,
    WebWorld,
    wait_until,
    web_world,
)

__all__ = ["pg_server", "pg_url"]  # the PostgreSQL fixtures, for the tests below

DECISION = "Решение: обновить лендинг @maria до 25.12.2026"
UNKNOWN_CARD = "0" * 24


def served_on(db: str) -> AbstractContextManager[WebWorld]:
    """tests/web/world.py's world on the state DB ``db``, with no webhook registered: the
    sandbox does not deliver, the tests do."""
    return web_world(register_webhook=False, db=db)


def comment(sandbox_url: str, card: str, text: str) -> None:
    requests.post(f"{sandbox_url}/1/cards/{card}/actions/comments",
                  params={"key": KEY, "token": TOKEN, "text": text}, timeout=10
                  ).raise_for_status()


def event(card: str, kind: str = "commentCard") -> bytes:
    return json.dumps({"action": {"type": kind, "data": {"card": {"id": card}}}}).encode()


def deliver(world: WebWorld, body: bytes) -> requests.Response:
    signature = sign_webhook(APP_SECRET, body, f"{world.url}/webhooks/trello")
    return requests.post(f"{world.url}/webhooks/trello", data=body, timeout=30,
                         headers={"Content-Type": "application/json",
                                  "X-Trello-Webhook": signature})


def task_titles(world: WebWorld) -> list[str]:
    cards = requests.get(f"{world.sandbox_url}/1/boards/{world.board_id}/cards/all",
                         params={"key": KEY, "token": SERVICE_TOKEN, "fields": "name"},
                         timeout=10).json()
    return [c["name"] for c in cards]


def webhook_count(world: WebWorld, outcome: str) -> float:
    line = f'webhooks_total{{outcome="{outcome}",source="trello"}} '
    page = requests.get(f"{world.url}/metrics", timeout=5).text
    return next((float(x.removeprefix(line)) for x in page.splitlines() if x.startswith(line)),
                0.0)


# --- locking the state DB from another connection -------------------------------------------


@contextmanager
def sqlite_locked(world: WebWorld, path: Path) -> Iterator[None]:
    """Another connection holds the SQLite file exclusively (readers too: in WAL mode only an
    exclusive locking mode keeps them out, and only if no other connection has it open)."""
    world.running.web.reader.store.engine.dispose()
    lock = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        lock.execute("PRAGMA locking_mode = EXCLUSIVE")
        lock.execute("BEGIN EXCLUSIVE")
        lock.execute("UPDATE meetings SET error = error")
        probe = sqlite3.connect(path, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("SELECT count(*) FROM meetings").fetchall()
        probe.close()
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


@contextmanager
def postgres_locked(url: str) -> Iterator[None]:
    """Another transaction holds the tables the lookups read in ACCESS EXCLUSIVE mode: a
    SELECT on them waits for as long as it lasts."""
    engine = make_engine(normalise_url(url))
    with engine.connect() as connection:
        connection.execute(text("LOCK TABLE meetings, decisions IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            connection.rollback()
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def locked_world(request: pytest.FixtureRequest
                 ) -> Iterator[tuple[WebWorld, Callable[[], Any]]]:
    with TemporaryDirectory(prefix="planerka-web-") as tmp:
        if request.param == "sqlite":
            path = Path(tmp) / "planerka.db"
            with served_on(f"sqlite:///{path}") as world:
                yield world, lambda: sqlite_locked(world, path)
        else:
            url = request.getfixturevalue("pg_url")
            with served_on(url) as world:
                yield world, lambda: postgres_locked(url)


def test_a_delivery_is_answered_while_the_db_is_locked_and_worked_after(
        locked_world: tuple[WebWorld, Callable[[], Any]]) -> None:
    world, locked = locked_world
    comment(world.sandbox_url, world.meeting_card_id, DECISION)
    ignored = webhook_count(world, "ignored")  # the metrics registry is the process's
    with locked():
        about_meeting = deliver(world, event(world.meeting_card_id))
        about_other_card = deliver(world, event(UNKNOWN_CARD))
        about_task = deliver(world, event(world.task_card_id, "updateCard"))
        health = requests.get(f"{world.url}/healthz", timeout=30)
    assert about_meeting.status_code == 200
    assert about_meeting.json() == {"ok": True, "queued": True}
    assert about_other_card.json() == {"ok": True, "queued": False}
    assert about_task.json() == {"ok": True, "queued": True}
    assert health.json() == {"status": "ok"}
    # Once the DB is free the worker reads the meeting: the decision becomes its task.
    wait_until(lambda: "Обновить лендинг" in task_titles(world), timeout=15)
    wait_until(lambda: world.running.web.worker.idle, timeout=10)
    assert webhook_count(world, "ignored") == ignored + 1  # the other card, by the worker


def test_an_item_serve_does_not_know_yet_is_looked_up_by_the_worker(tmp_path: Path) -> None:
    """A meeting made after serve started (by the daemon, another replica) is not in the
    directory: the answer says nothing is queued yet, and the worker finds it in the DB."""
    from planerka_sync.web.directory import Directory

    with served_on(f"sqlite:///{tmp_path / 'planerka.db'}") as world:
        world.running.web.worker.directory = Directory()  # as if made after the start
        comment(world.sandbox_url, world.meeting_card_id, DECISION)
        queued = webhook_count(world, "queued")
        reads = world.running.web.reader.store.session

        def no_db() -> Any:
            raise AssertionError("the request thread asked the state DB")

        world.running.web.reader.store.session = no_db  # type: ignore[method-assign]
        try:
            answer = deliver(world, event(world.meeting_card_id))
        finally:
            world.running.web.reader.store.session = reads  # type: ignore[method-assign]
        assert answer.json() == {"ok": True, "queued": False}
        wait_until(lambda: "Обновить лендинг" in task_titles(world), timeout=15)
        wait_until(lambda: world.running.web.worker.idle, timeout=10)
        assert webhook_count(world, "queued") == queued + 1  # once the worker found it
        # Now known: the next delivery about it is queued from the request thread.
        assert deliver(world, event(world.meeting_card_id)).json() == {"ok": True,
                                                                        "queued": True}
        # ...and so are the tasks the worker made.
        [made] = [c for c in requests.get(
            f"{world.sandbox_url}/1/boards/{world.board_id}/cards/all",
            params={"key": KEY, "token": SERVICE_TOKEN, "fields": "name"}, timeout=10).json()
            if c["name"] == "Обновить лендинг"]
        assert deliver(world, event(made["id"], "updateCard")).json() == {"ok": True,
                                                                          "queued": True}


# --- /healthz while every HTTP worker waits ---------------------------------------------------


def test_healthz_is_answered_while_every_http_worker_is_busy() -> None:
    release, entered = threading.Event(), threading.Semaphore(0)

    def slow(_: Request) -> Response:
        entered.release()
        release.wait(30)
        return Response.json(200, {"slow": True})

    router = Router()
    add_health_routes(router, health=lambda: None)
    router.add("GET", "/slow", slow)
    router.answer_inline("GET", "/healthz")
    server = WebServer(("127.0.0.1", 0), router, max_body=1024, workers=2)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    answers: list[int] = []
    callers = [threading.Thread(target=lambda: answers.append(
        requests.get(f"{base}/slow", timeout=30).status_code)) for _ in range(3)]
    try:
        for caller in callers:
            caller.start()
        for _ in range(2):  # both workers are in the slow handler; the third request queues
            assert entered.acquire(timeout=10)
        health = requests.get(f"{base}/healthz", timeout=10)
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert answers == []  # nothing slow has been answered yet
    finally:
        release.set()
        for caller in callers:
            caller.join(30)
        server.shutdown()
    assert answers == [200, 200, 200]


def test_serves_healthz_answers_while_the_power_ups_buttons_hold_every_worker(
        tmp_path: Path) -> None:
    """32 people press "convert" while the webhook worker is stuck: each press waits on it
    (up to 25 s) in an HTTP worker; a liveness probe must still get its answer."""
    with served_on(f"sqlite:///{tmp_path / 'planerka.db'}") as world:
        worker = world.running.web.worker
        worker.stop()  # stuck: the presses wait for it
        convert = f"{world.url}/api/boards/{world.board_id}/cards/{world.meeting_card_id}/convert"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        card = convert.removesuffix("/convert") + "/planerka"
        assert requests.get(card, headers=auth, timeout=10).status_code == 200  # token known
        presses = [threading.Thread(target=requests.post, args=(convert,),
                                    kwargs={"headers": auth, "timeout": 60})
                   for _ in range(32)]
        for press in presses:
            press.start()

        def waiting() -> int:
            return sum(len(f) for f in worker._queue.waiters.values())

        try:
            wait_until(lambda: waiting() == 32, timeout=20)
            health = requests.get(f"{world.url}/healthz", timeout=10)
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
        finally:
            for futures in worker._queue.waiters.values():
                for future in futures:
                    future.set_result(Outcome(error="the test is over"))
            for press in presses:
                press.join(60)


def test_http10_keep_alive_is_kept() -> None:
    router = Router()
    add_health_routes(router, health=lambda: None)
    server = WebServer(("127.0.0.1", 0), router, max_body=1024)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(server.server_address[:2], timeout=10) as sock:
            for _ in range(2):  # the second request on the same connection
                sock.sendall(b"GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                head = b""
                while b"\r\n\r\n" not in head:
                    head += sock.recv(1)
                headers = head.decode("latin-1").lower()
                assert "connection: keep-alive" in headers
                length = int(headers.split("content-length: ")[1].split("\r\n")[0])
                body = b""
                while len(body) < length:
                    body += sock.recv(length - len(body))
    finally:
        server.shutdown()


# --- the indexes of migration 0005 -----------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'planerka.db'}"
    return str(request.getfixturevalue("pg_url"))


WEBHOOK_INDEXES = {("meetings", "ix_meetings_item_id", ("item_id",)),
                   ("meetings", "ix_meetings_item_key", ("item_key",)),
                   ("decisions", "ix_decisions_task_id", ("task_id",)),
                   ("decisions", "ix_decisions_task_key", ("task_key",))}


def indexes(url: str) -> set[tuple[str, str, tuple[str, ...]]]:
    with open_store(url) as store:
        found = inspect(store.engine)
        return {(table, str(ix["name"]), tuple(str(c) for c in ix["column_names"]))
                for table in ("meetings", "decisions") for ix in found.get_indexes(table)}


def test_the_migration_indexes_the_webhook_lookups(fresh_db: str) -> None:
    assert indexes(fresh_db) >= WEBHOOK_INDEXES


def test_the_migration_adds_the_indexes_to_a_db_at_0004(fresh_db: str) -> None:
    left_at(fresh_db, "0004")
    before = {name for _, name, _ in _raw_indexes(fresh_db)}
    assert not {"ix_meetings_item_id", "ix_meetings_item_key", "ix_decisions_task_key"} & before
    assert indexes(fresh_db) >= WEBHOOK_INDEXES  # opening the store upgrades it


def _raw_indexes(url: str) -> set[tuple[str, str, tuple[str, ...]]]:
    engine = make_engine(normalise_url(url))
    try:
        found = inspect(engine)
        return {(table, str(ix["name"]), tuple(str(c) for c in ix["column_names"]))
                for table in ("meetings", "decisions") for ix in found.get_indexes(table)}
    finally:
        engine.dispose()


def test_sqlite_finds_a_meeting_by_its_item_through_the_indexes(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'planerka.db'}") as store, \
            store.engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM meetings WHERE item_id IN ('a', 'b') "
            "OR item_key IN ('a', 'b')")))
    assert "ix_meetings_item_id" in plan and "ix_meetings_item_key" in plan
    assert "SCAN meetings" not in plan
