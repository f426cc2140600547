"""Leases on work: one holder at a time, across threads as across processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from planerka_sync.demo import demo_config
from planerka_sync.errors import Busy
from planerka_sync.service import App, leases
from planerka_sync.store import open_store


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    config = demo_config("trello", "http://127.0.0.1:9")
    try:
        yield App(config, store, lambda: None)  # type: ignore[arg-type,return-value]
    finally:
        store.close()


def test_a_held_lease_makes_the_other_caller_busy(app: App) -> None:
    with leases.holding(app, "meeting:1"):
        with (pytest.raises(Busy, match="another planerka-sync process"),
              leases.holding(app, "meeting:1", wait=0)):
            pass
        with leases.holding(app, "meeting:2", wait=0):  # another meeting is free
            pass
    with leases.holding(app, "meeting:1", wait=0):  # given back on leaving
        pass


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


def test_a_dead_holders_lease_expires(app: App) -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert leases.take(app.store, "meeting:1", "crashed", now, timedelta(minutes=5))
    assert not leases.take(app.store, "meeting:1", "me", now + timedelta(minutes=4),
                           timedelta(minutes=5))
    assert leases.take(app.store, "meeting:1", "me", now + timedelta(minutes=6),
                       timedelta(minutes=5))
