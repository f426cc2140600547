"""Leases on work: one holder at a time, across threads as across processes; a dead holder on
this host is taken over at once, one elsewhere when its short lease runs out, and a live one's
lease is kept alive by its heartbeat for as long as it works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from planerka_sync.demo import demo_config
from planerka_sync.errors import Busy, Stopped
from planerka_sync.service import App, leases
from planerka_sync.store import Store, open_store
from planerka_sync.store.models import Lease
from planerka_sync.trackers.http import STOPPING
from tests.store.conftest import pg_server, pg_url  # noqa: F401 - fixtures

NOW = datetime(2026, 11, 26, 10, 2, 11, tzinfo=UTC)
HOST = socket.gethostname()


def make_app(url: str, clock: object = None) -> App:
    config = demo_config("trello", "http://127.0.0.1:9")
    app = App(config, open_store(url), lambda: None)  # type: ignore[arg-type,return-value]
    if clock is not None:
        app.clock = clock  # type: ignore[assignment]
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    app = make_app(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        yield app
    finally:
        app.store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'state.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def held_by(store: Store, name: str, *, host: str, pid: int, until: datetime,
            holder: str = "crashed") -> None:
    """A lease row as another process left it."""
    with store.session() as session:
        session.add(Lease(name=name, holder=holder, host=host, pid=pid,
                          acquired_at=until - leases.WORK_TTL, expires_at=until))


def holder_of(store: Store, name: str) -> str:
    with store.session() as session:
        return session.scalars(select(Lease.holder).where(Lease.name == name)).one()


# --- one holder at a time ------------------------------------------------------------------------


def test_a_held_lease_makes_the_other_caller_busy(app: App) -> None:
    with leases.holding(app, "meeting:1"):
        with pytest.raises(Busy, match="is being worked on by planerka-sync pid"), \
                leases.holding(app, "meeting:1", wait=0):
            pass
        with leases.holding(app, "meeting:2", wait=0):  # another meeting is free
            pass
    with leases.holding(app, "meeting:1", wait=0):  # given back on leaving
        pass


def test_busy_names_the_holder_and_when_its_lease_expires(app: App) -> None:
    app.clock = lambda: NOW
    with leases.holding(app, "meeting:7"), pytest.raises(Busy) as busy, \
            leases.holding(app, "meeting:7", wait=0, what="meeting MKT-3"):
        pass
    assert busy.value.message == (
        f"meeting MKT-3 is being worked on by planerka-sync pid {os.getpid()} on host {HOST} "
        "(since 13:02:11 (Москва, +03:00); its lease expires at 13:02:41 (Москва, +03:00) "
        "unless renewed); try again shortly")
    assert busy.value.exit_code == 5


def test_busy_shows_the_teams_time_and_the_date_when_it_is_not_today_there(app: App) -> None:
    """Midnight in Moscow is 21:00 UTC: a lease taken before it shows its date."""
    app.config = app.config.model_copy(update={"locale": "en"})
    app.clock = lambda: datetime(2026, 11, 26, 20, 59, 50, tzinfo=UTC)  # 23:59:50 Moscow
    with leases.holding(app, "meeting:8"):
        app.clock = lambda: datetime(2026, 11, 26, 21, 0, 5, tzinfo=UTC)  # 00:00:05 Moscow
        with pytest.raises(Busy) as busy, leases.holding(app, "meeting:8", wait=0):
            pass
    assert ("(since 2026-11-26 23:59:50 (Moscow, +03:00); its lease expires at 00:00:20 "
            "(Moscow, +03:00) unless renewed)") in busy.value.message


def test_two_threads_take_turns(app: App) -> None:
    inside: list[int] = []
    overlaps: list[int] = []

    def work(n: int) -> None:
        with leases.holding(app, "meeting:1", wait=10):
            inside.append(n)
            if len(inside) > 1:
                overlaps.append(n)
            time.sleep(0.2)
            inside.remove(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def test_renewing_keeps_the_start_time(store: Store) -> None:
    assert leases.take(store, "series:a", "me", NOW, leases.WORK_TTL)
    assert leases.take(store, "series:a", "me", NOW + timedelta(seconds=20), leases.WORK_TTL)
    with store.session() as session:
        row = session.get_one(Lease, "series:a")
        assert (row.acquired_at, row.expires_at) == (NOW, NOW + timedelta(seconds=50))
        assert (row.host, row.pid) == (HOST, os.getpid())


# --- a holder that died -------------------------------------------------------------------------


def test_a_dead_process_on_this_host_is_taken_over_at_once(store: Store) -> None:
    held_by(store, "meeting:1", host=HOST, pid=dead_pid(), until=NOW + timedelta(seconds=25))
    assert leases.take(store, "meeting:1", "me", NOW, leases.WORK_TTL)
    assert holder_of(store, "meeting:1") == "me"


def test_of_many_takers_of_a_dead_holders_lease_one_wins(store: Store) -> None:
    held_by(store, "meeting:1", host=HOST, pid=dead_pid(), until=NOW + timedelta(seconds=25))
    start = threading.Barrier(6)
    won: list[str] = []

    def taker(n: int) -> None:
        start.wait()
        if leases.take(store, "meeting:1", f"taker-{n}", NOW, leases.WORK_TTL):
            won.append(f"taker-{n}")

    threads = [threading.Thread(target=taker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and holder_of(store, "meeting:1") == won[0]


def test_a_live_process_on_this_host_is_not_taken_over(store: Store) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        held_by(store, "meeting:1", host=HOST, pid=sleeper.pid, until=NOW + timedelta(seconds=25))
        assert not leases.take(store, "meeting:1", "me", NOW, leases.WORK_TTL)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert leases.take(store, "meeting:1", "me", NOW, leases.WORK_TTL)  # now it is gone


def test_a_holder_on_another_host_is_waited_for_until_its_lease_expires(store: Store) -> None:
    # Its pid means nothing here (whatever runs under that number on this host is not it).
    until = NOW + timedelta(seconds=25)
    held_by(store, "meeting:1", host="web-2", pid=dead_pid(), until=until)
    assert not leases.take(store, "meeting:1", "me", NOW, leases.WORK_TTL)
    assert not leases.take(store, "meeting:1", "me", until - timedelta(seconds=1),
                           leases.WORK_TTL)
    assert leases.take(store, "meeting:1", "me", until + timedelta(seconds=1), leases.WORK_TTL)


def test_a_holder_without_host_or_pid_is_waited_for(store: Store) -> None:
    """A row left by a version that recorded neither."""
    with store.session() as session:
        session.add(Lease(name="meeting:1", holder="old", acquired_at=NOW,
                          expires_at=NOW + timedelta(minutes=5)))
    assert not leases.take(store, "meeting:1", "me", NOW, leases.WORK_TTL)
    assert leases.take(store, "meeting:1", "me", NOW + timedelta(minutes=6), leases.WORK_TTL)


def test_the_waiting_caller_gets_a_remote_holders_lease_once_it_expires(app: App) -> None:
    now = [NOW]

    def clock() -> datetime:
        now[0] += timedelta(seconds=1)  # a second per look at the clock: no real waiting
        return now[0]

    app.clock = clock
    held_by(app.store, "meeting:1", host="web-2", pid=4242, until=NOW + timedelta(seconds=10))
    with leases.holding(app, "meeting:1", wait=30):
        assert holder_of(app.store, "meeting:1") != "crashed"
    assert now[0] > NOW + timedelta(seconds=10)


# --- a holder that lives --------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_the_heartbeat_keeps_a_lease_past_its_ttl_while_the_block_runs(app: App) -> None:
    ttl = timedelta(seconds=1)
    with leases.holding(app, "meeting:1", ttl=ttl):
        time.sleep(3 * ttl.total_seconds())  # three TTLs without the block touching the lease
        assert not leases.take(app.store, "meeting:1", "other", app.clock(), ttl)
        with app.store.session() as session:
            assert session.get_one(Lease, "meeting:1").expires_at > app.clock()
    assert leases.take(app.store, "meeting:1", "other", app.clock(), ttl)  # given back


def test_a_stop_ends_the_wait_for_a_busy_lease(app: App) -> None:
    held_by(app.store, "meeting:1", host="web-2", pid=4242, until=app.clock() + timedelta(hours=1))
    STOPPING.set()
    try:
        with pytest.raises(Stopped), leases.holding(app, "meeting:1", wait=600):
            pass
    finally:
        STOPPING.clear()
