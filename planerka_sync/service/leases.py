"""Named leases in the state DB: one holder at a time for a piece of work, across processes.

The daemon holds a lease per series (``series:<id>``) to split series between replicas. Reading
a meeting's decisions and creating their tasks holds ``meeting:<id>`` and a status pull holds
``status:<board>`` for as long as the work runs, whoever does it (the poller, a webhook, the
Power-Up's button, the CLI): without it two of them could both see a line with no task and
both create one. A lease is one row taken with an INSERT or one atomic UPDATE (holder is us, or
the lease has expired, or its holder is a dead process), so it needs nothing beyond what SQLite
and PostgreSQL both give.

A crash must cost seconds, not minutes, so a lease is short (``WORK_TTL``) and kept alive by a
heartbeat thread while its holder works; a holder that dies stops renewing and its lease expires
within ``WORK_TTL``. On the holder's own host we need not wait even that long: the row records
host and pid, and a taker on the same host that finds the holder's pid gone takes over at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planerka_sync.domain.texts import local_time
from planerka_sync.errors import Busy, Stopped
from planerka_sync.messages import t
from planerka_sync.service.app import App
from planerka_sync.store import Store
from planerka_sync.store.models import Lease
from planerka_sync.trackers.http import STOPPING

log = logging.getLogger("planerka_sync.leases")

# Short, because a dead holder's lease blocks everyone until it expires; the heartbeat renews it
# every third of it, so a live holder survives two missed beats (a busy DB, a GC pause).
WORK_TTL = timedelta(seconds=30)
# A caller waits a little longer than one lease, so a holder that died on another host (which
# we cannot see die) has surely expired before we give up with Busy.
WAIT = WORK_TTL.total_seconds() + 5.0
POLL = 0.2


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, as the row says: for the Busy message and the takeover from the dead."""

    holder: str
    host: str | None
    pid: int | None
    acquired_at: datetime
    expires_at: datetime


def take(store: Store, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Hold (or renew) ``name`` for ``holder`` until ``now + ttl``; False if someone else has it.

    Someone else's lease is taken when it has expired or, on this host, when its process is gone.
    """
    host, pid = socket.gethostname(), os.getpid()
    mine = {"holder": holder, "expires_at": now + ttl, "acquired_at": now, "host": host,
            "pid": pid}
    with store.session() as session:
        try:
            with session.begin_nested():
                session.add(Lease(name=name, **mine))
            return True
        except IntegrityError:
            pass
        # Our own lease: only the expiry moves, so acquired_at stays the start of the work.
        if _changed(session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                                    .values(expires_at=now + ttl))):
            return True
        if _changed(session.execute(update(Lease).where(Lease.name == name, Lease.expires_at < now)
                                    .values(**mine))):
            return True
        return _take_from_the_dead(session, name, host, mine)


def _take_from_the_dead(session: Session, name: str, host: str, mine: dict[str, object]) -> bool:
    """Take over a live lease whose holder ran on this host and whose process is gone."""
    current = current_holder(session, name)
    if current is None or current.host != host or current.pid is None or alive(current.pid):
        return False
    # Conditional on the dead holder: of two takers racing here, one UPDATE matches the row.
    if not _changed(session.execute(update(Lease)
                                    .where(Lease.name == name, Lease.holder == current.holder)
                                    .values(**mine))):
        return False
    log.info("took over %s from pid %s on %s, which is no longer running", name, current.pid,
             host)
    return True


def alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (a pid we may not signal runs too)."""
    if pid <= 0:  # os.kill(0 or -n) would address process groups: never call a holder dead
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_holder(session: Session, name: str) -> Holder | None:
    row = session.execute(
        select(Lease.holder, Lease.host, Lease.pid, Lease.acquired_at, Lease.expires_at)
        .where(Lease.name == name)).one_or_none()
    return Holder(*row) if row is not None else None


def renew(store: Store, holder: str, now: datetime, ttl: timedelta) -> int:
    """Move every lease ``holder`` still has to ``now + ttl``; how many it still has."""
    with store.session() as session:
        result = session.execute(update(Lease).where(Lease.holder == holder)
                                 .values(expires_at=now + ttl))
        return int(getattr(result, "rowcount", 0) or 0)


def give_back(store: Store, holder: str, now: datetime, name: str | None = None) -> None:
    """Expire ``holder``'s lease ``name`` (every lease of it when None) so others take over."""
    query = update(Lease).where(Lease.holder == holder)
    if name is not None:
        query = query.where(Lease.name == name)
    with store.session() as session:
        session.execute(query.values(expires_at=now - timedelta(seconds=1)))


@contextmanager
def heartbeat(store: Store, holder: str, ttl: timedelta,
              clock: Callable[[], datetime]) -> Iterator[None]:
    """Renew ``holder``'s leases every ``ttl / 3`` from a daemon thread while the block runs.

    A daemon thread dies with its process, so a crashed holder stops renewing by itself.
    """
    done = threading.Event()

    def beat() -> None:
        while not done.wait(ttl.total_seconds() / 3):
            try:
                if not renew(store, holder, clock(), ttl):
                    log.warning("lease holder %s has no lease left to renew; another process "
                                "took its work over", holder)
            except Exception:  # a DB hiccup: the next beat tries again, the TTL has room
                log.warning("could not renew the leases of %s", holder, exc_info=True)

    thread = threading.Thread(target=beat, name=f"lease-heartbeat-{holder[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()  # no renewal may land after the caller gives the lease back


@contextmanager
def holding(app: App, name: str, *, wait: float = WAIT, ttl: timedelta = WORK_TTL,
            what: str | None = None) -> Iterator[None]:
    """Run the block as the only holder of ``name``, waiting up to ``wait`` seconds for it.

    Every acquisition has its own holder id, so two threads of one process exclude each other
    as two replicas do. A stop (SIGTERM) ends the wait with Stopped.
    """
    holder = uuid.uuid4().hex
    _acquire(app, name, holder, wait, ttl, what or name)
    try:
        with heartbeat(app.store, holder, ttl, app.clock):
            yield
    finally:
        give_back(app.store, holder, app.clock(), name)


def _acquire(app: App, name: str, holder: str, wait: float, ttl: timedelta, what: str) -> None:
    deadline = time.monotonic() + wait
    while not take(app.store, name, holder, app.clock(), ttl):
        if time.monotonic() >= deadline:
            raise Busy(busy_message(app, name, what))
        if STOPPING.wait(POLL):
            raise Stopped(t("stopping: the rest is resumed by the next run",
                            "остановка: остальное продолжит следующий запуск"))


def busy_message(app: App, name: str, what: str) -> str:
    """Who holds ``name`` and until when, in words a person acts on."""
    with app.store.session() as session:
        current = current_holder(session, name)
    if current is None:  # given back just now
        return t(f"{what} was being worked on by another planerka-sync process; try again",
                 f"{what}: этим только что был занят другой процесс planerka-sync; "
                 f"попробуйте ещё раз")
    who = t("another planerka-sync process", "другой процесс planerka-sync")
    if current.pid is not None and current.host:
        who = t(f"planerka-sync pid {current.pid} on host {current.host}",
                f"процесс planerka-sync {current.pid} на хосте {current.host}")
    now = app.clock()
    since, until = _at(app, current.acquired_at, now), _at(app, current.expires_at, now)
    return t(f"{what} is being worked on by {who} (since {since}; its lease expires at {until} "
             "unless renewed); try again shortly",
             f"{what}: этим сейчас занят {who} (с {since}; блокировка снимется в {until}, "
             "если её не продлят); попробуйте чуть позже")


def _at(app: App, moment: datetime, now: datetime) -> str:
    """13:02:11 (Москва, +03:00) in the team's zone, with the date when it is not today there."""
    zone = ZoneInfo(app.config.timezone)
    today = moment.astimezone(zone).date() == now.astimezone(zone).date()
    return local_time(moment, zone, app.locale, seconds=True, with_date=not today)


def _changed(result: object) -> bool:
    """Whether an UPDATE matched a row (the atomic compare-and-set the leases rely on)."""
    return bool(getattr(result, "rowcount", 0))
