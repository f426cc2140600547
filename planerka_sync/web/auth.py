"""Who is calling the Power-Up API: the caller's own Trello token, checked with Trello.

The Power-Up sends the token the member granted it (``Authorization: Bearer <token>``). One
request, ``GET /1/members/me?boards=all``, tells whose token it is and which boards they are on;
the answer is cached for a minute (a refusal for ten seconds), keyed by a hash so the token is
never kept. The token travels in an ``Authorization: OAuth`` header, never in a URL that a proxy
or a debug log could record.

Each lookup spends the service's Trello key, whose rate budget the sync shares. So a token not
seen valid before is checked only within two budgets, spent before the request to Trello: its
client address's (``LOOKUPS_PER_CLIENT``) and everyone's (``LOOKUPS_PER_MINUTE``); beyond them
the answer is 429 with ``Retry-After``. A token Trello accepted earlier is checked again when
its minute is over whatever the budgets say: random tokens cannot lock the team out.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from planerka_sync.ratelimit import Limit, TokenBucket
from planerka_sync.web.http import HttpProblem, Request

ALLOW_FOR = 60.0
REFUSE_FOR = 10.0
CACHE_LIMIT = 10_000
LOOKUPS_PER_CLIENT = Limit(10, 60.0)  # unknown tokens one address may have checked
LOOKUPS_PER_MINUTE = Limit(30, 60.0)  # unknown tokens checked with Trello, all callers together


@dataclass(frozen=True)
class Caller:
    member_id: str
    username: str
    boards: frozenset[str]  # ids and short links


@dataclass(frozen=True)
class _Entry:
    caller: Caller | None
    problem: HttpProblem | None
    expires: float


class ClientLimits:
    """A small sliding-window bucket per key (a client address), without waiting: ``check``
    says how long to wait, or None when the caller may go on. At most ``CACHE_LIMIT`` keys are
    kept; beyond that they all start afresh (a caller with that many addresses is held by the
    global budgets instead)."""

    def __init__(self, limit: Limit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float | None:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= CACHE_LIMIT:
                    self._buckets.clear()
                bucket = self._buckets[key] = TokenBucket(self.limit.rate, self.limit.per,
                                                          clock=self.clock)
        return bucket.try_acquire()


def too_many(message: str, wait: float) -> HttpProblem:
    return HttpProblem(429, message, {"Retry-After": str(max(1, math.ceil(wait)))})


class TrelloMembers:
    def __init__(self, api_url: str, api_key: str, *, clock: Callable[[], float] = time.monotonic,
                 http: requests.Session | None = None) -> None:
        self.api_url, self.api_key = api_url.rstrip("/"), api_key
        self.clock = clock
        self.http = http or requests.Session()
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._per_client = ClientLimits(LOOKUPS_PER_CLIENT, clock=clock)
        self._everyone = TokenBucket(LOOKUPS_PER_MINUTE.rate, LOOKUPS_PER_MINUTE.per, clock=clock)
        self.lookups = 0  # requests made to Trello (tests check the cache with it)

    def caller(self, request: Request) -> Caller:
        token = bearer_token(request)
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        with self._lock:
            entry = self._cache.get(key)
        if entry is None or entry.expires <= now:
            if entry is None or entry.caller is None:
                self._admit(request.client)
            entry = self._look_up(token, now)
            self._remember(key, entry, now)
        if entry.problem is not None:
            raise entry.problem
        assert entry.caller is not None
        return entry.caller

    def _admit(self, client: str) -> None:
        """Spend the budgets of an unknown token's check before Trello is asked (429 if spent):
        the caller's address first, so one address cannot use up everyone's."""
        wait = self._per_client.check(client)
        if wait is not None:
            raise too_many("too many new tokens from your address; try again later", wait)
        wait = self._everyone.try_acquire()
        if wait is not None:
            raise too_many("too many new tokens are being checked; try again later", wait)

    def _remember(self, key: str, entry: _Entry, now: float) -> None:
        with self._lock:
            if len(self._cache) >= CACHE_LIMIT:
                # Expired refusals go first; tokens seen valid are kept (they skip the budgets).
                self._cache = {k: e for k, e in self._cache.items()
                               if e.caller is not None or e.expires > now}
                if len(self._cache) >= CACHE_LIMIT:
                    self._cache.clear()
            self._cache[key] = entry

    def member_of(self, request: Request, board_ids: set[str]) -> Caller:
        """The caller, if they are a member of the board (any of its ids); else 401/403."""
        found = self.caller(request)
        if not found.boards & board_ids:
            raise HttpProblem(403, "your Trello account is not a member of this board")
        return found

    def _look_up(self, token: str, now: float) -> _Entry:
        self.lookups += 1
        auth = f'OAuth oauth_consumer_key="{self.api_key}", oauth_token="{token}"'
        try:
            answer = self.http.get(
                f"{self.api_url}/1/members/me",
                params={"fields": "id,username", "boards": "all", "board_fields": "id,shortLink"},
                headers={"Authorization": auth}, timeout=10)
        except requests.RequestException:
            # Not cached: Trello being unreachable says nothing about the token.
            raise HttpProblem(503, "cannot reach Trello to check your token; try again") from None
        if answer.status_code in (400, 401, 403):
            problem = HttpProblem(401, "Trello does not accept this token; authorise the "
                                       "Power-Up again")
            return _Entry(None, problem, now + REFUSE_FOR)
        if not answer.ok:
            raise HttpProblem(503, f"Trello answered {answer.status_code} when checking your "
                                   "token; try again")
        data = answer.json()
        boards = frozenset(str(board[f]) for board in data.get("boards", [])
                           for f in ("id", "shortLink") if board.get(f))
        caller = Caller(str(data.get("id", "")), str(data.get("username", "")), boards)
        return _Entry(caller, None, now + ALLOW_FOR)


def bearer_token(request: Request) -> str:
    header = request.header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpProblem(401, "send your Trello token as 'Authorization: Bearer <token>'",
                          {"WWW-Authenticate": 'Bearer realm="planerka-sync"'})
    return token.strip()
