"""One rate budget per credential across replicas, and 429 waits honoured in full.

Replicas are separate processes (``python -m tests.integration.test_rate_budget``), as in a
deployment: an in-process bucket would be shared by threads and hide the problem. They share one
SQLite file (and PostgreSQL when its binaries are there) and one Trello token against the
sandbox with its rate limit on (100 per 10 s per token, 300 per key, 429 beyond).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from planerka_sync.config import Config, TrelloTracker
from planerka_sync.demo import demo_config
from planerka_sync.errors import RateLimited
from planerka_sync.observability import Metrics, instrument_trackers
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.store import Store, open_store
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.base import Tracker
from planerka_sync.trackers.http import RetryPolicy, TrackerSession
from tests.store.conftest import pg_server, pg_url  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]
REPLICAS = 3
PER_REPLICA = 45  # 135 requests in all: more than one token's 100 per 10 s



def rate_limit_on(server: SandboxServer) -> None:
    requests.post(f"{server.url}/_sandbox/options", json={"rate_limit": True},
                  timeout=5).raise_for_status()


def statuses(server: SandboxServer) -> list[int]:
    entries = requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()
    return [int(e["status"]) for e in entries]


def session_of(tracker: Tracker) -> TrackerSession:
    session: TrackerSession = tracker.client.http_service  # type: ignore[attr-defined]
    return session


# --- a replica: its own process, its own Store, the shared token ----------------------------


def replica_main(url: str, db: str, requests_wanted: int, start_at: float) -> None:
    """Busy sync work (full pulls and reads) until ``requests_wanted`` requests were sent.
    A 429 is not retried (one attempt), so that every one shows in the sandbox's log."""
    config = demo_config("trello", url)
    store = open_store(db) if db != "-" else None
    tracker = make_tracker(config, RetryPolicy(attempts=1), store=store)
    session = session_of(tracker)
    refused = 0
    time.sleep(max(0.0, start_at - time.time()))  # all replicas start together
    while session.requests_sent < requests_wanted:
        try:
            list(tracker.task_states(None))
        except RateLimited:
            refused += 1
    print(json.dumps({"sent": session.requests_sent, "refused": refused}))


def run_replicas(server: SandboxServer, db: str) -> list[dict[str, int]]:
    start_at = time.time() + 4.0  # after every process has imported and connected
    command = [sys.executable, "-m", "tests.integration.test_rate_budget",
               server.url, db, str(PER_REPLICA), str(start_at)]
    processes = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
                 for _ in range(REPLICAS)]
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    open_store(url).close()  # migrated once, before the replicas race to it
    return url


def test_three_replicas_on_one_token_get_no_429(trello: SandboxServer, db_url: str) -> None:
    rate_limit_on(trello)
    started = time.monotonic()
    results = run_replicas(trello, db_url)
    took = time.monotonic() - started
    answered = statuses(trello)
    assert answered.count(429) == 0
    assert sum(r["refused"] for r in results) == 0
    assert len(answered) >= REPLICAS * PER_REPLICA > 100
    assert took < 60


def test_without_the_state_db_each_replica_spends_the_whole_quota(
    trello: SandboxServer,
) -> None:
    """The control: per-process buckets (today's CLI without a store) collect 429s."""
    rate_limit_on(trello)
    results = run_replicas(trello, "-")
    assert statuses(trello).count(429) > 0
    assert sum(r["refused"] for r in results) > 0


# --- a long Retry-After --------------------------------------------------------------------


class FakeTime:
    """Unix time that moves only when someone sleeps: a 120 s wait takes no time."""

    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fault(server: SandboxServer, **spec: object) -> None:
    requests.post(f"{server.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


def with_max_retry_after(config: Config, value: str) -> Config:
    assert isinstance(config.tracker, TrelloTracker)
    tracker = TrelloTracker.model_validate(
        config.tracker.model_dump() | {"max_retry_after": value,  # parsed as the file's is
                                       "token": config.tracker.token.get_secret_value(),
                                       "api_key": config.tracker.api_key.get_secret_value()})
    return config.model_copy(update={"tracker": tracker})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def test_a_120_s_retry_after_is_waited_out_by_every_replica(
    trello: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    config = demo_config("trello", trello.url)
    clock = FakeTime()
    policy = RetryPolicy(sleep=clock.sleep, clock=clock)
    db = f"sqlite:///{tmp_path / 'state.db'}"
    first = make_tracker(config, policy, store=open_store(db))
    other_clock = FakeTime()
    other_clock.now = clock.now
    other = make_tracker(config, RetryPolicy(sleep=other_clock.sleep, clock=other_clock),
                         store=open_store(db))
    metrics = Metrics()
    stop = instrument_trackers(metrics)
    try:
        fault(trello, method="GET", path=r"/1/members/me", status=429, count=1,
              headers={"Retry-After": "120"})
        with caplog.at_level(logging.WARNING, logger="planerka_sync.http"):
            assert first.me()
            assert other.me()  # the other replica had not even asked: it waits all the same
    finally:
        stop()
    assert clock.sleeps == [120.0]
    assert other_clock.sleeps and other_clock.sleeps[0] >= 119.9
    assert statuses(trello) == [429, 200, 200]
    waits = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("retrying in 120.0 s" in w for w in waits)
    assert any("throttled (it answered 429); waiting 120.0 s" in w for w in waits)
    throttled = metrics.registry.get_sample_value(
        "tracker_throttled_seconds_total", {"tracker": "Trello"})
    assert throttled is not None and throttled >= 240


def test_a_retry_after_beyond_max_retry_after_gives_up(trello: SandboxServer,
                                                        store: Store) -> None:
    config = with_max_retry_after(demo_config("trello", trello.url), "10m")
    clock = FakeTime()
    tracker = make_tracker(config, RetryPolicy(sleep=clock.sleep, clock=clock), store=store)
    fault(trello, method="GET", path=r"/1/members/me", status=429, count=1,
          headers={"Retry-After": "900"})
    with pytest.raises(RateLimited) as refused:
        tracker.me()
    message = str(refused.value)
    assert "wait 15 min" in message and "max_retry_after (10 min)" in message
    assert clock.sleeps == []
    assert statuses(trello) == [429]


def test_max_retry_after_is_a_duration_option(trello: SandboxServer) -> None:
    config = with_max_retry_after(demo_config("trello", trello.url), "2m")
    assert config.tracker.max_retry_after.total_seconds() == 120
    assert session_of(make_tracker(config)).max_retry_after == 120
    default = demo_config("trello", trello.url)
    assert session_of(make_tracker(default)).max_retry_after == 600


if __name__ == "__main__":
    replica_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
