"""Client-side rate limits: stay under the trackers' quotas instead of collecting 429s.

Trello allows 100 requests per 10 s per token (and answers 429 without ``Retry-After`` beyond
that); Jira Cloud publishes no fixed number (it counts with token buckets per endpoint), so
its per-site default is a conservative 10 per second, with a burst of 10. One bucket is
shared by every session that talks with the same token or site, so several adapters in one
process (a daemon with many series) do not add their quotas up.

The bucket is a *sliding-window* token bucket: it holds ``rate`` tokens, and a token taken at
time ``t`` comes back at ``t + per``. A classic refill bucket would allow a full burst at the end
of one window and another at the start of the next (2 x ``rate`` within ``per`` seconds), which a
tracker counting a sliding window - Trello does - would refuse. Here no window of ``per`` seconds
ever sees more than ``rate`` acquisitions.

The bucket only counts this process. Replicas sharing one token (several ``run`` processes on one
PostgreSQL) would each spend the whole quota; :class:`SharedBudget` keeps one budget per
credential in the state DB instead, and a 429's ``Retry-After`` there makes every replica wait.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from sqlalchemy import Connection, Table, case, or_, select, update

from planerka_sync.store.models import RateBudget

if TYPE_CHECKING:
    from planerka_sync.store import Store

# Float slack when comparing "free at" times; a fake clock advanced by exactly the computed
# wait may land an ulp short of it, and must not be asked to wait a zero-length time forever.
_SLACK = 1e-9


@dataclass(frozen=True)
class Limit:
    rate: float
    per: float


TRELLO_PER_TOKEN = Limit(100, 10.0)
TRELLO_PER_KEY = Limit(300, 10.0)
JIRA_PER_SITE = Limit(10, 1.0)


class TokenBucket:
    """At most ``rate`` acquisitions in any ``per`` seconds; ``acquire`` blocks until allowed.

    ``clock`` and ``sleep`` are injected so tests drive a fake clock and never really sleep.
    A fractional ``rate`` keeps its average: 2.5 per 1 s becomes 2 tokens per 0.8 s.
    """

    def __init__(
        self,
        rate: float,
        per: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError(f"a rate limit needs a positive rate and period, not {rate}/{per}s")
        self.rate = rate
        self.per = per
        self.capacity = max(1, math.floor(rate))
        self._window = per * self.capacity / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._taken: deque[float] = deque()  # times the tokens now out were taken, oldest first
        self.acquired = 0  # tokens granted so far (for tests and benchmarks)

    def acquire(self) -> float:
        """Take a token, sleeping (without holding the lock) until one is free.

        Returns the seconds spent waiting.
        """
        waited = 0.0
        while True:
            wait = self._try_take()
            if wait is None:
                return waited
            self._sleep(wait)
            waited += wait

    def try_acquire(self) -> float | None:
        """Take a token if one is free now (None), else return the seconds until one is,
        without waiting: for a server that answers 429 rather than hold a request."""
        return self._try_take()

    def _try_take(self) -> float | None:
        """None when a token was taken, else the seconds until the oldest one comes back."""
        with self._lock:
            now = self._clock()
            while self._taken and self._taken[0] + self._window <= now + _SLACK:
                self._taken.popleft()
            if len(self._taken) < self.capacity:
                self._taken.append(now)
                self.acquired += 1
                return None
            return self._taken[0] + self._window - now


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(key: str, rate: float, per: float) -> TokenBucket:
    """The process-wide bucket for ``key``, created with ``rate``/``per`` on first use.

    Later callers share the first bucket as it is: one quota, however many sessions use it.
    ``key`` must not be a secret (see :func:`trello_key`).
    """
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = TokenBucket(rate, per)
        return bucket


def trello_key(token: str, url: str = "https://api.trello.com") -> str:
    """Trello counts per token (on its server: a sandbox's quota is not api.trello.com's).
    The registry keys by a hash so the token is never kept."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return f"trello:{_site(url)}:{digest}"


def jira_key(url: str) -> str:
    """Jira counts per site: scheme, host and port, whatever path (or user info) the URL has."""
    return f"jira:{_site(url)}"


def _site(url: str) -> str:
    parts = urlsplit(url.strip())
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{parts.hostname or ''}{port}"



# --- one budget per credential across replicas (the state DB) ---------------------------------

_TABLE = cast(Table, RateBudget.__table__)

# Sub-windows per period of a strict (sliding-window) quota. A row counts fixed windows; any
# sliding period of ``per`` seconds meets at most K + 1 of the K-per-period sub-windows, so each
# may hold rate / (K + 1): 4 keeps 76 % of Trello's 100 per 10 s with one UPDATE per batch.
SUBWINDOWS = 4
# Headroom for clock skew between replicas and a request's travel time to the tracker.
SAFETY = 0.95
# Turns reserved by one UPDATE: five requests cost one statement on the state DB.
BATCH = 5


@dataclass(frozen=True)
class Quota:
    """One tracker limit on one credential. ``strict``: the tracker counts a sliding window
    (Trello), so no burst may straddle two windows. Otherwise (Jira) the limit is a token
    bucket, as Jira Cloud documents its own ("token bucket algorithms, allowing for short
    bursts of activity but maintaining a sustainable average rate"): ``rate`` turns at once,
    refilled at ``rate`` per ``per`` seconds (see ``SharedBudget._take_tokens``)."""

    key: str
    limit: Limit
    strict: bool = True

    @property
    def window(self) -> float:
        return self.limit.per / self._subwindows() if self.strict else self.limit.per

    @property
    def capacity(self) -> int:
        if not self.strict:
            return max(1, math.floor(self.limit.rate))
        return max(1, math.floor(self.limit.rate * SAFETY / (self._subwindows() + 1)))

    def _subwindows(self) -> int:
        # A tiny rate cannot be split K + 1 ways; fewer sub-windows keep at least one turn each.
        return max(1, min(SUBWINDOWS, math.floor(self.limit.rate * SAFETY) - 1))


@dataclass(frozen=True)
class Wait:
    """No turn now: wait ``seconds``; ``blocked`` when the tracker itself asked (a 429)."""

    seconds: float
    blocked: bool = False


class SharedBudget:
    """Turns taken from rows in the state DB, so replicas sharing a credential share its quota.

    Each turn needs every quota (Trello: the token's and the key's). A batch of up to ``batch``
    turns is reserved by one atomic UPDATE per quota and spent locally, but only within the
    sub-window it was reserved in: a turn carried into the next window would break the count.
    ``clock`` is Unix time shared by the replicas (tests pass a fake one with a fake sleep).
    """

    def __init__(
        self,
        store: Store,
        quotas: Sequence[Quota],
        clock: Callable[[], float] = time.time,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.quotas = tuple(quotas)
        self.clock = clock
        self.batch = batch
        self._lock = threading.Lock()
        self._left = 0  # reserved turns not yet spent
        self._until = 0.0  # when they lapse (the end of the window they belong to)
        self.acquired = 0

    def take(self) -> Wait | None:
        """A turn (None), or how long to wait before asking again."""
        with self._lock:
            now = self.clock()
            if self._left > 0 and now < self._until - _SLACK:
                self._left -= 1
                self.acquired += 1
                return None
            self._left = 0
            granted = self._reserve(now)
            if isinstance(granted, Wait):
                return granted
            self._left, self._until = granted[0] - 1, granted[1]
            self.acquired += 1
            return None

    def block(self, seconds: float) -> None:
        """The tracker answered 429 with this wait: every replica waits it out."""
        until = self.clock() + seconds
        table = _TABLE
        with self._lock:
            self._left = 0  # turns reserved before the 429 must not be spent during the wait
            with self.store.engine.begin() as db:
                for quota in self.quotas:
                    self._ensure_row(db, quota.key)
                    db.execute(update(table).where(table.c.key == quota.key).values(
                        blocked_until=case((table.c.blocked_until < until, until),
                                           else_=table.c.blocked_until)))

    def _reserve(self, now: float) -> tuple[int, float] | Wait:
        """Reserve turns on every quota in one transaction: (count, lapse time) or a Wait."""
        wanted = self.batch
        until = math.inf
        try:
            with self.store.engine.begin() as db:
                for quota in self.quotas:
                    taken = self._take_rows(db, quota, wanted, now)
                    if isinstance(taken, Wait):
                        raise _NoTurn(taken)  # rolls back the quotas already taken this round
                    wanted, until = taken[0], min(until, taken[1])
        except _NoTurn as refused:
            return refused.wait
        return wanted, until

    def _take_rows(
        self, db: Connection, quota: Quota, wanted: int, now: float
    ) -> tuple[int, float] | Wait:
        self._ensure_row(db, quota.key)
        if not quota.strict:
            return self._take_tokens(db, quota, wanted, now)
        count = min(wanted, quota.capacity)
        start = self._update(db, quota, count, now)
        if start is None:
            row = db.execute(select(_TABLE).where(
                _TABLE.c.key == quota.key)).one()
            if row.blocked_until > now + _SLACK:
                return Wait(row.blocked_until - now, blocked=True)
            count = quota.capacity - row.used  # a window's last few turns, fewer than a batch
            start = self._update(db, quota, count, now) if count > 0 else None
            if start is None:
                return Wait(max(row.window_start + quota.window - now, _MIN_WAIT))
        return count, start + quota.window

    def _take_tokens(
        self, db: Connection, quota: Quota, wanted: int, now: float
    ) -> tuple[int, float] | Wait:
        """A token bucket kept as one number (the generic cell rate algorithm): the row's
        ``window_start`` is the time the bucket will be full again, and a turn may be taken
        while that is at most ``capacity`` turns ahead of now. A fixed window would make the
        eleventh request of a 1,000-task pull wait for the next second although the average
        rate is well under the limit; the bucket lets it go and still holds the average.

        Reserved turns lapse after the time they stand for at the steady rate, so a batch kept
        unspent cannot be added to the next burst: at most ``capacity + batch`` turns at once."""
        interval = quota.limit.per / quota.limit.rate
        horizon = now + quota.capacity * interval
        count = min(wanted, quota.capacity)
        if self._spend_tokens(db, quota, count, now, interval, horizon) is None:
            row = db.execute(select(_TABLE).where(_TABLE.c.key == quota.key)).one()
            if row.blocked_until > now + _SLACK:
                return Wait(row.blocked_until - now, blocked=True)
            full_at = max(float(row.window_start), now)
            count = math.floor((horizon - full_at) / interval + _SLACK)  # fewer than a batch
            if count <= 0 or self._spend_tokens(db, quota, count, now, interval,
                                                horizon) is None:
                return Wait(max(full_at + interval - horizon, _MIN_WAIT))
        return count, now + count * interval

    @staticmethod
    def _spend_tokens(db: Connection, quota: Quota, count: int, now: float, interval: float,
                      horizon: float) -> float | None:
        """The one atomic UPDATE of the bucket: ``count`` turns or none (None)."""
        table = _TABLE
        full_at = case((table.c.window_start > now, table.c.window_start), else_=now)
        statement = (
            update(table)
            .where(table.c.key == quota.key, table.c.blocked_until <= now + _SLACK,
                   full_at + count * interval <= horizon + _SLACK)
            .values(window_start=full_at + count * interval)
            .returning(table.c.window_start)
        )
        full = db.execute(statement).scalar_one_or_none()
        return None if full is None else float(full)

    @staticmethod
    def _update(db: Connection, quota: Quota, count: int, now: float) -> float | None:
        """The one atomic UPDATE: ``count`` turns in the current window, or in a new one if it
        has lapsed. Returns the window's start, or None when the turns are not there."""
        table = _TABLE
        lapsed = table.c.window_start + quota.window <= now + _SLACK
        statement = (
            update(table)
            .where(table.c.key == quota.key, table.c.blocked_until <= now + _SLACK,
                   or_(lapsed, table.c.used + count <= quota.capacity))
            .values(window_start=case((lapsed, now), else_=table.c.window_start),
                    used=case((lapsed, count), else_=table.c.used + count))
            .returning(table.c.window_start)
        )
        start = db.execute(statement).scalar_one_or_none()
        return None if start is None else float(start)

    @staticmethod
    def _ensure_row(db: Connection, key: str) -> None:
        # Imported here: SQLAlchemy's PostgreSQL dialect costs a SQLite run ~35 ms at start.
        name = "postgresql" if db.dialect.name == "postgresql" else "sqlite"
        dialect = import_module(f"sqlalchemy.dialects.{name}")
        db.execute(dialect.insert(_TABLE)
                   .values(key=key, window_start=0.0, used=0, blocked_until=0.0)
                   .on_conflict_do_nothing(index_elements=["key"]))


class _NoTurn(Exception):
    def __init__(self, wait: Wait) -> None:
        super().__init__(wait)
        self.wait = wait


# A wait never shorter than this: two replicas must not spin on a window that ends "now".
_MIN_WAIT = 0.01

_budgets: weakref.WeakKeyDictionary[Store, dict[str, SharedBudget]] = weakref.WeakKeyDictionary()


def budget_for(store: Store, quotas: Sequence[Quota],
               clock: Callable[[], float] = time.time) -> SharedBudget:
    """The budget for these quotas on ``store``, shared by the sessions of one process so that
    they spend one batch of reserved turns (another process, another Store: its own batches)."""
    name = "|".join(q.key for q in quotas)
    with _buckets_lock:
        per_store = _budgets.setdefault(store, {})
        budget = per_store.get(name)
        if budget is None or budget.clock is not clock:
            budget = per_store[name] = SharedBudget(store, quotas, clock)
        return budget


def credential_key(kind: str, secret: str, url: str) -> str:
    """``trello-token:<hash>``: names a credential on a server without keeping the secret."""
    digest = hashlib.sha256(f"{_site(url)}\n{secret}".encode()).hexdigest()[:32]
    return f"{kind}:{digest}"
