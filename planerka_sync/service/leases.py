"""Named leases in the state DB: one holder at a time for a piece of work, across processes.

The daemon holds a lease per series (``series:<id>``) to split series between replicas. Reading
a meeting's decisions and creating their tasks holds ``meeting:<id>`` and a status pull holds
``status:<board>`` for as long as the work runs, whoever does it (the poller, a webhook, the
Power-Up's button, the CLI): without it two of them could both see a line with no task and
both create one. A lease is one row taken with an INSERT or one atomic UPDATE (holder is us, or
the lease has expired), so it needs nothing beyond what SQLite and PostgreSQL both give; a
holder that dies leaves a lease that expires after ``ttl``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from planerka_sync.errors import Busy
from planerka_sync.service.app import App
from planerka_sync.store import Store
from planerka_sync.store.models import Lease

WORK_TTL = timedelta(minutes=5)  # longer than any one meeting's ingestion, retries included
WAIT = 30.0  # seconds a caller waits for a busy lease before giving up with Busy
POLL = 0.2


def take(store: Store, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Hold (or renew) ``name`` for ``holder`` until ``now + ttl``; False if someone else has it."""
    with store.session() as session:
        try:
            with session.begin_nested():
                session.add(Lease(name=name, holder=holder, expires_at=now + ttl, acquired_at=now))
            return True
        except IntegrityError:
            pass
        taken = session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl, acquired_at=now))
        return bool(getattr(taken, "rowcount", 0))


def give_back(store: Store, holder: str, now: datetime, name: str | None = None) -> None:
    """Expire ``holder``'s lease ``name`` (every lease of it when None) so others take over."""
    query = update(Lease).where(Lease.holder == holder)
    if name is not None:
        query = query.where(Lease.name == name)
    with store.session() as session:
        session.execute(query.values(expires_at=now - timedelta(seconds=1)))


@contextmanager
def holding(app: App, name: str, *, wait: float = WAIT, ttl: timedelta = WORK_TTL,
            what: str | None = None) -> Iterator[None]:
    """Run the block as the only holder of ``name``, waiting up to ``wait`` seconds for it.

    Every acquisition has its own holder id, so two threads of one process exclude each other
    as two replicas do.
    """
    holder = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while not take(app.store, name, holder, app.clock(), ttl):
        if time.monotonic() >= deadline:
            raise Busy(f"{what or name} is being worked on by another planerka-sync process; "
                       "it will be picked up on the next run")
        time.sleep(POLL)
    try:
        yield
    finally:
        give_back(app.store, holder, app.clock(), name)
