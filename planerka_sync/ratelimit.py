"""Client-side rate limits: stay under the trackers' quotas instead of collecting 429s.

Trello allows 100 requests per 10 s per token (and answers 429 without ``Retry-After`` beyond
that); Jira Cloud publishes no fixed number, so its per-site default is a conservative 10 per
second. One bucket is shared by every session that talks with the same token or site, so several
adapters in one process (a daemon with many series) do not add their quotas up.

The bucket is a *sliding-window* token bucket: it holds ``rate`` tokens, and a token taken at
time ``t`` comes back at ``t + per``. A classic refill bucket would allow a full burst at the end
of one window and another at the start of the next (2 x ``rate`` within ``per`` seconds), which a
tracker counting a sliding window - Trello does - would refuse. Here no window of ``per`` seconds
ever sees more than ``rate`` acquisitions.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Float slack when comparing "free at" times; a fake clock advanced by exactly the computed
# wait may land an ulp short of it, and must not be asked to wait a zero-length time forever.
_SLACK = 1e-9


@dataclass(frozen=True)
class Limit:
    rate: float
    per: float


TRELLO_PER_TOKEN = Limit(100, 10.0)
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

