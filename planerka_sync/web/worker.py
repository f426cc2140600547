"""The background worker behind the webhooks: acknowledge first, work after.

A webhook handler only checks the signature, works out what the event asks for (a meeting to
read again, a status pull) and hands it here; Trello and Jira get their 200 at once. The
handler does not ask the state DB: an item the directory (directory.py) does not know yet is
handed here as a mention, and this thread looks it up in the DB before the round's work. One thread
does the tracker work, so one tracker client and one rate limit serve every event, and a burst
of events (a lead typing ten decisions) coalesces into one read of the meeting. The work runs
through the same service code as the poller, under the same leases, so the two never both
create a task. If the process dies after acknowledging, nothing is lost: the poller reads the
meeting on its next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from planerka_sync.errors import Busy, PlanerkaError
from planerka_sync.observability import count_decisions, count_error, observe_job
from planerka_sync.service.app import App
from planerka_sync.service.decisions import MeetingReport, sync_meeting
from planerka_sync.service.events import Work
from planerka_sync.service.status import pull_status
from planerka_sync.web.directory import Directory, Mention

log = logging.getLogger("planerka_sync.web")

DEBOUNCE = 0.3  # seconds to let a burst of events about one meeting arrive before reading it
RETRY_BUSY = 2.0  # a meeting another process is reading is tried again this much later
MAX_TRIES = 5
MAX_MENTIONS = 10_000  # items waiting to be looked up; beyond, the poller catches up


@dataclass
class Outcome:
    """What one round of work did for a meeting (answers the Power-Up's button)."""

    report: MeetingReport | None = None
    error: str | None = None


@dataclass
class _Queue:
    work: Work = field(default_factory=Work)
    waiters: dict[int, list[Future[Outcome]]] = field(default_factory=dict)
    tries: dict[int, int] = field(default_factory=dict)
    not_before: float = 0.0
    mentions: set[Mention] = field(default_factory=set)  # items to look up in the DB first

    def __bool__(self) -> bool:
        return bool(self.work) or bool(self.mentions)


class Worker:
    def __init__(self, make_app: Callable[[], App], *, debounce: float = DEBOUNCE,
                 directory: Directory | None = None,
                 count: Callable[[str, str], None] | None = None) -> None:
        self._make_app = make_app
        self.directory = directory if directory is not None else Directory()
        self._count = count  # (source, outcome) of a looked-up mention, for webhooks_total
        self._app: App | None = None
        self.debounce = debounce
        self._queue = _Queue()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="planerka-webhooks", daemon=True)
        self.rounds = 0  # rounds of work done (tests wait on it)
        self._working = False

    def start(self) -> Worker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        self._thread.join(timeout)
        if self._app is not None:
            self._app.store.close()

    def submit(self, work: Work) -> None:
        if not work:
            return
        with self._wake:
            self._queue.work.merge(work)
            self._wake.notify_all()

    def look_up(self, mention: Mention) -> None:
        """An item the directory does not know: this thread asks the DB, then does its work."""
        if not mention:
            return
        with self._wake:
            if len(self._queue.mentions) >= MAX_MENTIONS:
                log.warning("webhook: %d items already wait to be looked up; this event is "
                            "left to the poller", len(self._queue.mentions))
                return
            self._queue.mentions.add(mention)
            self._wake.notify_all()

    def ingest_now(self, meeting_id: int) -> Future[Outcome]:
        """Read one meeting as soon as possible; the future holds what came of it."""
        future: Future[Outcome] = Future()
        with self._wake:
            self._queue.work.meetings.add(meeting_id)
            self._queue.waiters.setdefault(meeting_id, []).append(future)
            self._queue.not_before = 0.0
            self._wake.notify_all()
        return future

    def health(self) -> str | None:
        """For /healthz: None while the worker thread runs, else why webhooks go unworked."""
        if self._thread.is_alive() or self._stop.is_set():
            return None
        return "the webhook worker has stopped; restart serve (the poller still catches up)"

    @property
    def pending(self) -> bool:
        with self._wake:
            return bool(self._queue)

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing in hand."""
        with self._wake:
            return not self._queue and not self._working

    # --- the thread ----------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                while not self._queue and not self._stop.is_set():
                    self._wake.wait(1.0)
                delay = max(self._queue.not_before - time.monotonic(), 0.0)
                # Let the rest of a burst arrive (the button does not wait for it).
                delay = delay or (0.0 if self._queue.waiters else self.debounce)
            if self._stop.is_set():
                return
            self._stop.wait(delay)
            with self._wake:
                work, waiters = self._queue.work, self._queue.waiters
                mentions = self._queue.mentions
                self._queue.work, self._queue.waiters, self._queue.mentions = Work(), {}, set()
                self._working = True
            try:
                self._do(work, waiters, mentions)
            finally:
                with self._wake:
                    self._working = False
                    self.rounds += 1

    def _do(self, work: Work, waiters: dict[int, list[Future[Outcome]]],
            mentions: set[Mention] | None = None) -> None:
        app = self._app_or_none()
        if app is None:
            for futures in waiters.values():
                _resolve(futures, Outcome(error="the state DB or config cannot be opened"))
            return
        if mentions:
            work.merge(self._look_up(app, mentions))
        if work.pull_status:
            self._guarded("status", lambda: pull_status(app), retry=Work(pull_status=True))
        for meeting_id in sorted(work.meetings):
            outcome = self._ingest(app, meeting_id)
            futures = waiters.get(meeting_id, [])
            if outcome is None:  # busy: tried again shortly, waiters too
                with self._wake:
                    self._queue.waiters.setdefault(meeting_id, []).extend(futures)
                continue
            _resolve(futures, outcome)

    def _look_up(self, app: App, mentions: set[Mention]) -> Work:
        work = Work()
        try:
            found = self.directory.resolve(app, mentions)
        except Exception as exc:  # a DB outage: the poller reads the meetings on its next tick
            log.warning("webhook: cannot look %d item(s) up in the state DB (%s); the poller "
                        "will catch up", len(mentions), type(exc).__name__)
            return work
        for mention, asked in found.items():
            work.merge(asked)
            if self._count is not None:
                self._count(mention.source, "queued" if asked else "ignored")
        return work

    def _ingest(self, app: App, meeting_id: int) -> Outcome | None:
        try:
            with observe_job("webhook"):
                report = sync_meeting(app, meeting_id, wait=0)
        except Busy:
            return self._retry_later(meeting_id)
        except PlanerkaError as exc:
            count_error(exc)
            log.warning("webhook: reading meeting %s failed: %s; the poller will retry",
                        meeting_id, exc.message)
            return Outcome(error=exc.message)
        except Exception:  # the worker outlives any one bad event
            log.exception("webhook: reading meeting %s failed", meeting_id)
            return Outcome(error="internal error; see the service log")
        if report is not None:
            self.directory.remember_tasks(i for row in report.created
                                          for i in (row.task_id, row.task_key))
            count_decisions(len(report.created))
            log.info("webhook: meeting %s read: %d task(s) created", meeting_id,
                     len(report.created))
        self._queue.tries.pop(meeting_id, None)
        return Outcome(report=report)

    def _retry_later(self, meeting_id: int) -> Outcome | None:
        tries = self._queue.tries.get(meeting_id, 0) + 1
        if tries >= MAX_TRIES:
            self._queue.tries.pop(meeting_id, None)
            return Outcome(error="another planerka-sync process is reading this meeting; "
                                 "its tasks will appear shortly")
        self._queue.tries[meeting_id] = tries
        with self._wake:
            self._queue.work.meetings.add(meeting_id)
            self._queue.not_before = time.monotonic() + RETRY_BUSY
            self._wake.notify_all()
        return None

    def _guarded(self, what: str, job: Callable[[], object], *, retry: Work) -> None:
        try:
            with observe_job(f"webhook-{what}"):
                job()
        except Busy:
            with self._wake:
                self._queue.work.merge(retry)
                self._queue.not_before = time.monotonic() + RETRY_BUSY
        except PlanerkaError as exc:
            count_error(exc)
            log.warning("webhook: %s failed: %s; the poller will retry", what, exc.message)
        except Exception:
            log.exception("webhook: %s failed", what)

    def _app_or_none(self) -> App | None:
        if self._app is None:
            try:
                self._app = self._make_app()
            except PlanerkaError as exc:
                log.error("webhook worker cannot start: %s", exc.message)
                return None
        return self._app


def _resolve(futures: list[Future[Outcome]], outcome: Outcome) -> None:
    for future in futures:
        if not future.done():
            future.set_result(outcome)
