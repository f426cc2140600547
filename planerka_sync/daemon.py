"""`planerka-sync run`: prepare, progress and sync on schedule, restart-safe, replica-safe.

What is due is computed from each series' recurrence and the job ledger in the state DB, never
held only in memory: a job missed while the daemon was down runs once when it is back, and a job
marked done never runs again. Replicas sharing PostgreSQL split the series through leases (a row
per series with a holder and an expiry, taken with one atomic UPDATE); a dead replica's series
are taken over when its lease expires (at once by a replica on its host, which sees its pid
gone), and its half-done job when that job goes stale.

One broken series never starves the others: whatever one job or one series' sync raises is
logged and retried on a later tick while the other series go on. Only a stop (SIGTERM, seen as
``stop`` between steps and as ``Stopped`` from the tracker client between calls) ends a tick
early; a job it interrupts is marked failed, so the next run resumes it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from planerka_sync import service
from planerka_sync.config import MeetingSeries
from planerka_sync.domain.cadence import Occurrence
from planerka_sync.errors import PlanerkaError, Stopped
from planerka_sync.observability import count_decisions, count_error, observe_job
from planerka_sync.service import leases
from planerka_sync.service.app import App, schedule_of
from planerka_sync.service.progress import progress
from planerka_sync.service.status import one_pull_per_board, sync
from planerka_sync.store.models import Job, JobKind, JobState

log = logging.getLogger("planerka_sync.daemon")

TICK = timedelta(seconds=30)
# A series lease is renewed by every tick that reaches its series and, for as long as ``run``
# runs, by a heartbeat every LEASE_TTL / 3 (10 s) whatever the ticks do: so it may be shorter
# than TICK and than a slow tick, and a replica that dies loses its series within 30 s (at once
# to a replica on its host). Ticks driven without ``run`` (tests) renew it on every tick.
LEASE_TTL = leases.WORK_TTL
STALE_JOB = timedelta(minutes=10)  # a running job older than this was abandoned by its holder


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class DueJob:
    series: MeetingSeries
    kind: JobKind
    occurrence: Occurrence
    due_at: datetime


def due_jobs(app: App, series: MeetingSeries, now: datetime) -> list[DueJob]:
    """prepare at start - prepare_before, progress at start - progress_before, for the next
    meeting that has not started (a missed one runs late, once; a meeting already begun is
    past helping)."""
    occurrence = schedule_of(series, app.config.timezone).after(now)
    if occurrence is None:
        return []
    planned = [(JobKind.PREPARE, occurrence.starts_at - series.prepare_before),
               (JobKind.PROGRESS, occurrence.starts_at - series.progress_before)]
    return [DueJob(series, kind, occurrence, due) for kind, due in planned if now >= due]


@dataclass
class Daemon:
    app: App
    holder: str = field(default_factory=replica_id)
    stop: threading.Event = field(default_factory=threading.Event)
    last_sync: dict[str, datetime] = field(default_factory=dict)
    last_tick: datetime | None = None

    def health(self) -> str | None:
        """For /healthz: None while ticking, else why not (the loop is stuck)."""
        if self.last_tick is not None and self.now - self.last_tick > 6 * TICK + timedelta(
                minutes=10):
            return f"no completed tick since {self.last_tick.isoformat()}"
        return None

    @property
    def now(self) -> datetime:
        return self.app.clock()

    # --- one tick ------------------------------------------------------------------------------
    def tick(self) -> None:
        """Everything due now, series by series; stops between steps when asked to. The series
        share one board or project, so the tick pulls task states once for all of them (the
        first series that syncs or reports progress pulls; the others are served by it)."""
        with one_pull_per_board():
            for series in self.app.config.meetings:
                if self.stop.is_set():
                    return
                try:
                    self.tick_series(series)
                except Stopped:
                    log.info("stopped in the middle of series %s; the next run resumes it",
                             series.id)
                    return
                except Exception:  # a bug or a broken DB row in one series: the others go on
                    log.exception("series %s: this tick failed; retried on the next one",
                                  series.id)
        self.last_tick = self.now

    def tick_series(self, series: MeetingSeries) -> None:
        if not self.take_lease(series.id):
            return
        for job in due_jobs(self.app, series, self.now):
            if self.stop.is_set():
                raise Stopped()
            self.run_job(job)
        self.sync_if_due(series)

    def run_job(self, job: DueJob) -> None:
        """Run a claimed job; whatever happens its ledger row ends done or failed, never
        running (a failed one is claimed again by a later tick)."""
        if not self.claim(job):
            return
        what = f"{job.kind.value} {job.series.id} for {job.occurrence.local_date}"
        state: JobState = JobState.FAILED
        error: str | None = "interrupted"
        try:
            with observe_job(job.kind.value):
                if job.kind == JobKind.PREPARE:
                    service.prepare(self.app, job.series.id, job.occurrence.local_date)
                else:
                    progress(self.app, job.series.id)
            state, error = JobState.DONE, None
        except Stopped as exc:
            error = exc.message
            raise
        except PlanerkaError as exc:
            count_error(exc)
            error = exc.message
            log.warning("%s failed: %s; will retry", what, exc.message)
        except Exception as exc:
            error = f"internal error ({type(exc).__name__}); see the daemon's log"
            log.exception("%s failed; will retry", what)
        finally:
            self.finish(job, state, error)
        if state == JobState.DONE:
            log.info("%s done", what)

    def sync_if_due(self, series: MeetingSeries) -> None:
        """Sync the series every ``sync_interval``; a failed sync waits for the next interval
        too (it is the poller: a webhook or the next interval catches up)."""
        last = self.last_sync.get(series.id)
        if last is not None and self.now - last < series.sync_interval:
            return
        try:
            with observe_job("sync"):
                _, reports = sync(self.app, series.id)
            count_decisions(sum(len(r.created) for r in reports))
        except Stopped:
            raise  # not synced: the next run syncs it first thing
        except PlanerkaError as exc:
            count_error(exc)
            log.warning("sync %s failed: %s; next try in %s", series.id, exc.message,
                        series.sync_interval)
        except Exception:
            log.exception("sync %s failed; next try in %s", series.id, series.sync_interval)
        self.last_sync[series.id] = self.now

    # --- the ledger and the leases -------------------------------------------------------------
    def claim(self, job: DueJob) -> bool:
        """Mark the job running for this replica; False if it is done or someone else runs it."""
        now = self.now
        with self.app.store.session() as session:
            try:
                with session.begin_nested():
                    session.add(Job(series_id=job.series.id, kind=job.kind, due_at=job.due_at,
                                    state=JobState.RUNNING, started_at=now, holder=self.holder))
                return True
            except IntegrityError:
                pass
            taken = session.execute(
                update(Job)
                .where(Job.series_id == job.series.id, Job.kind == job.kind,
                       Job.due_at == job.due_at, Job.state != JobState.DONE,
                       or_(Job.state == JobState.FAILED, Job.started_at < now - STALE_JOB))
                .values(state=JobState.RUNNING, started_at=now, holder=self.holder,
                        error=None))
            return _changed(taken)

    def finish(self, job: DueJob, state: JobState, error: str | None) -> None:
        with self.app.store.session() as session:
            session.execute(
                update(Job)
                .where(Job.series_id == job.series.id, Job.kind == job.kind,
                       Job.due_at == job.due_at, Job.holder == self.holder)
                .values(state=state, finished_at=self.now, error=error))

    def take_lease(self, series_id: str) -> bool:
        """Hold (or renew) this series' lease; one atomic UPDATE decides between replicas."""
        return leases.take(self.app.store, f"series:{series_id}", self.holder, self.now,
                           LEASE_TTL)

    def release(self) -> None:
        """Give up this replica's leases so the others take over at once."""
        leases.give_back(self.app.store, self.holder, self.now)

    # --- the loop ------------------------------------------------------------------------------
    def run(self, *, once: bool = False, sleep: Callable[[float], object] | None = None) -> None:
        """Tick until stopped (SIGTERM/SIGINT set ``stop``); ``once`` ticks once and returns."""
        import schedule

        wait = sleep or self.stop.wait
        jobs = schedule.Scheduler()
        jobs.every(int(TICK.total_seconds())).seconds.do(self.tick)
        try:
            with leases.heartbeat(self.app.store, self.holder, LEASE_TTL, self.app.clock):
                if once:
                    self.tick()
                    return
                jobs.run_all()
                while not self.stop.is_set():
                    jobs.run_pending()
                    wait(min(jobs.idle_seconds or TICK.total_seconds(), TICK.total_seconds()))
        finally:
            self.release()


def _changed(result: object) -> bool:
    """Whether an UPDATE matched a row (the atomic compare-and-set the ledger relies on)."""
    return bool(getattr(result, "rowcount", 0))
