"""The webhook worker's own bookkeeping (its work is tested end to end in the other files)."""

from __future__ import annotations

from planerka_sync.service.events import Work
from planerka_sync.web.worker import Worker


def unusable_app() -> object:
    raise AssertionError("no work may reach the tracker in these tests")


def test_health_says_when_the_worker_thread_is_not_running() -> None:
    worker = Worker(unusable_app)  # type: ignore[arg-type]
    assert worker.health() is not None and "webhook worker has stopped" in str(worker.health())
    worker.start()
    try:
        assert worker.health() is None
    finally:
        worker.stop()
    assert worker.health() is None  # stopped on purpose is not a fault


def test_work_about_the_same_meeting_coalesces_while_queued() -> None:
    worker = Worker(unusable_app)  # type: ignore[arg-type]  # not started: nothing runs
    worker.submit(Work(meetings={1}))
    worker.submit(Work(meetings={1, 2}))
    worker.submit(Work(pull_status=True))
    worker.submit(Work())  # an event that asks for nothing adds nothing
    assert worker.pending and not worker.idle
    assert worker._queue.work == Work(meetings={1, 2}, pull_status=True)
