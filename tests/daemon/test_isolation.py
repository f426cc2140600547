"""One broken series never starves the others, and a stop between two tracker calls leaves
nothing marked running or failed that the next run would not simply resume."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from planerka_sync import service
from planerka_sync.daemon import Daemon
from planerka_sync.demo import demo_config
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.store import open_store
from planerka_sync.store.models import Job, JobKind, JobState, Meeting, MeetingState
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy, TrackerSession

SUNDAY = datetime(2026, 11, 29, 8, tzinfo=UTC)  # Monday's meetings are to be prepared now



def two_series_app(server: SandboxServer, tmp_path: Path, clock: list[datetime],
                   stop: threading.Event | None = None) -> App:
    base = demo_config("trello", server.url)
    template = base.meetings[0]
    series = [template.model_copy(update={"id": "broken", "title": "Сломанная планёрка"}),
              template.model_copy(update={"id": "healthy", "title": "Здоровая планёрка"})]
    config = base.model_copy(update={"meetings": series})
    policy = RetryPolicy(attempts=3, sleep=lambda _: None)
    if stop is not None:  # else the process-wide flag, which no test sets
        policy.stop = stop
    return App(config, open_store(f"sqlite:///{tmp_path / 'state.db'}"),
               lambda: make_tracker(config, policy, rate_limited=False),
               clock=lambda: clock[0])


def cards_created(server: SandboxServer) -> list[dict]:
    log = requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()
    return [e for e in log if e["method"] == "POST" and e["path"] == "/1/cards"]


def meeting_cards(server: SandboxServer, title: str) -> list[dict]:
    """The cards on the board whose name carries the series' title."""
    boards = requests.get(f"{server.url}/1/members/me/boards", timeout=5,
                          params={"key": "k", "token": "t", "fields": "name"}).json()
    cards = requests.get(f"{server.url}/1/boards/{boards[0]['id']}/cards", timeout=5,
                         params={"key": "k", "token": "t", "filter": "all"}).json()
    return [c for c in cards if title in c["name"]]


def jobs(app: App) -> dict[tuple[str, JobKind], Job]:
    with app.store.session() as session:
        return {(j.series_id, j.kind): j for j in session.scalars(select(Job))}


def meeting_state(app: App, series_id: str) -> MeetingState | None:
    with app.store.session() as session:
        return session.scalars(select(Meeting.state).where(Meeting.series_id == series_id)
                               ).one_or_none()


def broken_for(series_id: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """``real``, except that for one series it hits a bug (not a PlanerkaError)."""
    def call(app: App, series: str | None = None, *args: Any, **kwargs: Any) -> Any:
        if series == series_id:
            raise KeyError("a bug in this series' data")
        return real(app, series, *args, **kwargs)
    return call


def test_a_series_whose_job_and_sync_raise_does_not_starve_the_other(
    trello: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planerka_sync.daemon as daemon_module

    monkeypatch.setattr(daemon_module.service, "prepare", broken_for("broken", service.prepare))
    monkeypatch.setattr(daemon_module, "sync", broken_for("broken", daemon_module.sync))
    clock = [SUNDAY]
    app = two_series_app(trello, tmp_path, clock)
    try:
        daemon = Daemon(app)
        daemon.tick()  # the broken series comes first in the config
        assert daemon.last_tick == SUNDAY  # the tick went through to its end
        assert meeting_state(app, "healthy") == MeetingState.CREATED
        assert meeting_state(app, "broken") is None
        assert len(meeting_cards(trello, "Здоровая планёрка")) == 1
        ledger = jobs(app)
        assert ledger["healthy", JobKind.PREPARE].state == JobState.DONE
        broken = ledger["broken", JobKind.PREPARE]
        assert broken.state == JobState.FAILED and "KeyError" in (broken.error or "")
        assert "broken" in daemon.last_sync  # its sync failed too, and waits for the interval

        monkeypatch.undo()  # the bug is fixed: the next tick retries the failed job
        clock[0] += timedelta(minutes=5)
        daemon.tick()
        assert jobs(app)["broken", JobKind.PREPARE].state == JobState.DONE
        assert meeting_state(app, "broken") == MeetingState.CREATED
        assert len(meeting_cards(trello, "Сломанная планёрка")) == 1
        assert len(meeting_cards(trello, "Здоровая планёрка")) == 1  # not prepared twice
    finally:
        app.store.close()


def test_a_stop_between_tracker_calls_leaves_the_job_to_be_resumed(
    trello: SandboxServer, tmp_path: Path
) -> None:
    stop = threading.Event()
    clock = [SUNDAY]
    app = two_series_app(trello, tmp_path, clock, stop)

    def stop_after_the_first_card(tracker: str, method: str, status: str) -> None:
        if cards_created(trello):  # SIGTERM lands right after the first card was made
            stop.set()

    TrackerSession.observers.append(stop_after_the_first_card)
    try:
        Daemon(app).tick()
        log = requests.get(f"{trello.url}/_sandbox/requests", timeout=5).json()
        assert (log[-1]["method"], log[-1]["path"]) == ("POST", "/1/cards")  # nothing after it
        ledger = jobs(app)
        interrupted = ledger["broken", JobKind.PREPARE]
        assert interrupted.state == JobState.FAILED  # never left running: resumed at once
        assert (interrupted.error or "").startswith("stopping")
        assert ("healthy", JobKind.PREPARE) not in ledger  # the tick ended at the stop
        assert len(cards_created(trello)) == 1
    finally:
        TrackerSession.observers.remove(stop_after_the_first_card)

    stop.clear()  # the next run
    restarted = two_series_app(trello, tmp_path, clock)
    try:
        clock[0] += timedelta(minutes=1)
        Daemon(restarted).tick()
        ledger = jobs(restarted)
        assert ledger["broken", JobKind.PREPARE].state == JobState.DONE
        assert ledger["healthy", JobKind.PREPARE].state == JobState.DONE
        assert len(meeting_cards(trello, "Сломанная планёрка")) == 1  # resumed, not redone
        assert len(meeting_cards(trello, "Здоровая планёрка")) == 1
    finally:
        restarted.store.close()
        app.store.close()
