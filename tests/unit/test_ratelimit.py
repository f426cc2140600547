"""The client-side token bucket, driven by a fake clock: nothing here really sleeps."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pydantic import SecretStr

from planerka_sync.config import Config
from planerka_sync.demo import demo_config
from planerka_sync.ratelimit import (
    JIRA_PER_SITE,
    TRELLO_PER_TOKEN,
    Limit,
    TokenBucket,
    bucket_for,
    jira_key,
    trello_key,
)
from planerka_sync.trackers import make_tracker


class FakeClock:
    """Time moves only when someone sleeps; safe to share between threads."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self._last = threading.local()

    def __call__(self) -> float:
        with self._lock:
            self._last.value = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def last_read(self) -> float:
        """The time this thread last read: for a bucket, the moment its token was taken."""
        return float(self._last.value)


def bucket(rate: float, per: float, clock: FakeClock) -> TokenBucket:
    return TokenBucket(rate, per, clock=clock, sleep=clock.sleep)


def most_in_any_window(times: list[float], per: float) -> int:
    ordered = sorted(times)
    return max(
        sum(1 for t in ordered if start <= t < start + per - 1e-9) for start in ordered)


def test_the_101st_request_waits_until_the_first_token_comes_back() -> None:
    clock = FakeClock()
    limiter = bucket(100, 10.0, clock)
    for _ in range(100):
        assert limiter.acquire() == 0
    assert clock.sleeps == []
    assert limiter.acquire() == pytest.approx(10.0)
    assert clock.sleeps == [pytest.approx(10.0)]
    assert limiter.acquired == 101


def test_tokens_come_back_one_window_after_they_were_taken() -> None:
    clock = FakeClock()
    limiter = bucket(100, 10.0, clock)
    for _ in range(50):
        limiter.acquire()
    clock.now = 3.0
    for _ in range(50):
        limiter.acquire()
    assert clock.sleeps == []
    limiter.acquire()  # the first 50 come back at t = 10
    assert clock.now == pytest.approx(10.0)
    for _ in range(49):
        limiter.acquire()
    assert clock.now == pytest.approx(10.0)
    limiter.acquire()  # the next batch was taken at t = 3
    assert clock.now == pytest.approx(13.0)


def test_no_burst_across_a_window_boundary() -> None:
    """A refill bucket would let 2 x rate through around a boundary; Trello would say 429."""
    clock = FakeClock()
    limiter = bucket(10, 1.0, clock)
    times = []
    for _ in range(45):
        limiter.acquire()
        times.append(clock())
        if len(times) % 7 == 0:
            clock.now += 0.33  # irregular gaps between bursts of requests
    assert most_in_any_window(times, 1.0) == 10


def test_concurrent_threads_never_exceed_the_rate_with_a_fake_clock() -> None:
    clock = FakeClock()
    limiter = bucket(20, 0.2, clock)
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            limiter.acquire()
            with lock:
                taken.append(clock.last_read())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(taken) == 200 == limiter.acquired
    assert most_in_any_window(taken, 0.2) <= 20
    assert clock.sleeps  # the threads really had to wait


def test_concurrent_threads_never_exceed_the_rate_on_the_real_clock() -> None:
    """20 per 0.2 s, 60 acquisitions from 6 threads: bounded (about 0.4 s of waiting).
    Checks the moments the bucket read, not how long the test took."""
    import time

    times: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def clock() -> float:
        local.last = time.monotonic()
        return float(local.last)

    limiter = TokenBucket(20, 0.2, clock=clock)

    def worker() -> None:
        for _ in range(10):
            limiter.acquire()
            with lock:
                times.append(local.last)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(times) == 60
    assert most_in_any_window(times, 0.2) <= 20


def test_a_fractional_rate_keeps_its_average() -> None:
    clock = FakeClock()
    limiter = bucket(2.5, 1.0, clock)
    for _ in range(2 + 2 * 10):
        limiter.acquire()
    assert limiter.capacity == 2
    assert clock.now == pytest.approx(8.0)  # 20 more tokens at 2.5 per second


@pytest.mark.parametrize("rate, per", [(0, 1.0), (5, 0), (-1, 1.0)])
def test_a_bucket_needs_a_positive_rate(rate: float, per: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, per)


def test_one_bucket_per_key_and_keys_hold_no_secret() -> None:
    key = trello_key("tok-SECRET-123")
    assert "tok-SECRET-123" not in key
    assert key == trello_key("tok-SECRET-123") != trello_key("another-token")
    # a quota belongs to a server: a sandbox's is not api.trello.com's
    assert key != trello_key("tok-SECRET-123", "http://127.0.0.1:8080")
    first = bucket_for(key, 100, 10.0)
    assert bucket_for(key, 5, 1.0) is first
    assert first.rate == 100


def test_jira_sites_are_keyed_by_scheme_host_and_port() -> None:
    assert jira_key("https://ACME.atlassian.net/") == jira_key("https://acme.atlassian.net/jira")
    assert jira_key("https://acme.atlassian.net") != jira_key("https://other.atlassian.net")
    assert jira_key("http://127.0.0.1:8080") != jira_key("http://127.0.0.1:8081")
    assert "secret" not in jira_key("https://me:secret@acme.atlassian.net")


def _with_token(config: Config, token: str) -> Config:
    tracker = config.tracker.model_copy(update={"token": SecretStr(token)})
    return config.model_copy(update={"tracker": tracker})


def session_of(config: Config, **options: Any) -> Any:
    return make_tracker(config, **options).client.http_service  # type: ignore[attr-defined]


def test_make_tracker_shares_one_bucket_per_trello_token() -> None:
    config = _with_token(demo_config("trello", "http://127.0.0.1:9"), "token-for-bucket-test")
    first, again = session_of(config), session_of(config)
    other = session_of(_with_token(config, "other-token"))
    assert first.limiter is again.limiter is not other.limiter
    assert (first.limiter.rate, first.limiter.per) == (TRELLO_PER_TOKEN.rate, TRELLO_PER_TOKEN.per)
    assert session_of(config, rate_limited=False).limiter is None


def test_make_tracker_limits_a_jira_site_with_a_configurable_rate() -> None:
    config = demo_config("jira-cloud", "http://jira-rate-test.invalid")
    session = make_tracker(config, jira_limit=Limit(3, 2.0)).client._session  # type: ignore
    assert (session.limiter.rate, session.limiter.per) == (3, 2.0)
    default = demo_config("jira-cloud", "http://jira-default-rate-test.invalid")
    session = make_tracker(default).client._session  # type: ignore
    assert (session.limiter.rate, session.limiter.per) == (JIRA_PER_SITE.rate, JIRA_PER_SITE.per)


def test_with_a_state_db_the_limit_is_the_budget_shared_by_replicas(tmp_path: Any) -> None:
    from planerka_sync.ratelimit import TRELLO_PER_KEY, SharedBudget
    from planerka_sync.store import open_store

    config = _with_token(demo_config("trello", "http://127.0.0.1:9"), "token-for-budget-test")
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        session = session_of(config, store=store)
        assert session.limiter is None
        assert isinstance(session.budget, SharedBudget)
        assert session_of(config, store=store).budget is session.budget  # one per process
        token, key = session.budget.quotas
        assert token.key.startswith("trello-token:") and key.key.startswith("trello-key:")
        assert "token-for-budget-test" not in token.key
        assert (token.limit, key.limit) == (TRELLO_PER_TOKEN, TRELLO_PER_KEY)
        assert session_of(config, store=store, rate_limited=False).budget is None
        jira = make_tracker(demo_config("jira-cloud", "http://jira-budget.invalid"),
                            jira_limit=Limit(3, 2.0), store=store).client._session  # type: ignore
        (site,) = jira.budget.quotas
        assert site.key.startswith("jira-site:") and site.limit == Limit(3, 2.0)
        assert not site.strict
