"""The first status pull of N tasks on SQLite and on PostgreSQL, side by side in one run.

    python bench/pull_pg.py [--n 1000] [--repeat 5] [--baseline REV] [--tracker trello|stub]
                            [--durable]

Each round makes a fresh state DB on each backend (a SQLite file; a new database on a throwaway
PostgreSQL server on 127.0.0.1, started from /usr/lib/postgresql/*/bin as tests/store does),
records N created decisions plus 1% more whose tasks are gone, and times ``pull_status`` - the
first pull, so every task changes, every one gets a history row and the deleted are marked.
Two trackers: ``trello``, the whole pull from the Trello sandbox over HTTP (what a team waits
for), and ``stub``, an in-process stub answering the N task states at once, so that only the
state DB is measured.

``--baseline REV`` runs ``planerka_sync/service/status.py`` as it was at REV (``git show``) in
the same rounds, for the ratio before and after.

Prints one JSON line per tracker: {"tracker", "n", "repeat", "pg_durable", "sqlite_s",
"postgresql_s", "pg_over_sqlite", "statements": {"sqlite", "postgresql"}} (medians of the
rounds, which alternate which backend goes first; statements = cursor executions of one pull),
plus "baseline": {the same} with --baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from planerka_sync.config import Config
from planerka_sync.demo import demo_config
from planerka_sync.domain.model import ItemRef, TaskState
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App, status
from planerka_sync.store import Store, open_store
from planerka_sync.store.models import Decision, Meeting
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.store.pg: the same throwaway server the tests use

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
CATEGORIES = [("new", "To Do"), ("indeterminate", "Doing"), ("done", "Done")]


class StubTracker:
    """Answers the task states at once: only the state DB is measured."""

    kind = "trello"

    def __init__(self, states: list[TaskState]) -> None:
        self.states = states

    def task_states(self, since: datetime | None) -> Iterator[TaskState]:
        return iter(self.states)


def task_states(n: int) -> list[TaskState]:
    states = []
    for i in range(n):
        category, name = CATEGORIES[i % 3]
        changed = NOW - timedelta(minutes=i)
        states.append(TaskState(
            marker=marker(i), ref=ItemRef(f"card{i}", f"https://trello.test/c/{i}"),
            title=f"Task {i}", category=category, status_name=name, assignee="anna",
            due=NOW.date(), done_at=changed if category == "done" else None, updated_at=changed))
    return states


def trello_board(n: int) -> dict[str, Any]:
    """The demo board with N task cards spread over its task lists, each with its marker."""
    data: dict[str, Any] = make_emulator("trello").default_seed()
    lists = ["To Do", "In Progress", "Done"]
    data["boards"][0]["cards"] = [
        {"name": f"Task {i}", "list": lists[i % 3], "desc": f"`planerka:{marker(i)}`"}
        for i in range(n)]
    return data


def marker(i: int) -> str:
    return f"planerka-d-{i:010x}"


def seed(store: Store, decisions: int) -> None:
    with store.session() as session:
        meeting_id = session.execute(insert(Meeting).values(
            series_id="weekly", starts_at=NOW - timedelta(days=7), tracker="trello",
            state="created", marker="meeting-weekly-bench", item_id="meeting-card")
            .returning(Meeting.id)).scalar_one()
        session.execute(insert(Decision), [{
            "meeting_id": meeting_id, "series_id": "weekly", "source": "checklist",
            "source_ref": f"item{i}", "line_hash": f"{i:064x}", "text": f"Task {i}",
            "title": f"Task {i}", "marker": marker(i), "state": "created",
            "task_id": f"card{i}", "task_url": f"https://trello.test/c/{i}", "attempts": 1,
        } for i in range(decisions)])


def one_pull(pull: Callable[..., Any], url: str, n: int,
             tracker: Callable[[Config], Any]) -> tuple[float, int]:
    store = open_store(url)
    try:
        seed(store, n + n // 100)  # 1% of the tasks are gone from the tracker
        config = demo_config("trello", SANDBOX[0])
        app = App(config, store, lambda: tracker(config), clock=lambda: NOW)
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        event.listen(store.engine, "before_cursor_execute", count)
        started = time.perf_counter()
        report = pull(app)
        seconds = time.perf_counter() - started
        event.remove(store.engine, "before_cursor_execute", count)
        assert (report.changed, report.deleted) == (n, n // 100), report
        return seconds, statements[0]
    finally:
        store.close()


SANDBOX = ["http://127.0.0.1:9"]  # the Trello sandbox's URL once it runs


def baseline_module(rev: str) -> types.ModuleType:
    """service/status.py as it was at ``rev``, importable beside today's."""
    source = subprocess.run(["git", "show", f"{rev}:planerka_sync/service/status.py"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"planerka_sync.service._status_at_{rev}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:planerka_sync/service/status.py", "exec"), module.__dict__)
    return module


class Postgres:
    """A throwaway server for the run, made as tests/store/pg.py makes the tests' one. Not
    ``durable``, it runs as the tests' does (fsync, full_page_writes and synchronous_commit
    off); ``durable`` keeps PostgreSQL's defaults, as SQLite keeps its own (a commit is synced
    to disk), for a like-for-like comparison."""

    def __init__(self, durable: bool) -> None:
        self.durable = durable

    def __enter__(self) -> Postgres:
        from tests.store import pg

        bin_dir = pg.newest_pg_bin()
        if bin_dir is None:
            raise SystemExit(f"no PostgreSQL server binaries under {pg.PG_ROOT}/*/bin")
        self.home = Path(tempfile.mkdtemp(prefix="planerka-bench-pg-"))
        self.runner = pg.PgRunner(bin_dir, self.home)
        self.runner.give_away(self.home)
        self.data = self.home / "data"
        port = pg.free_port()
        pg._init_cluster(self.runner, self.data)
        if self.durable:
            log = self.home / "server.log"
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.home}"
            result = self.runner.run("pg_ctl", "-D", str(self.data), "-l", str(log), "-o",
                                     options, "-w", "start")
            if result.returncode:
                raise SystemExit(f"pg_ctl start failed: {result.stderr}")
        else:
            pg._start(self.runner, self.data, port)
        self.server = pg.PgServer(bin_dir=bin_dir, port=port)
        return self

    def database(self) -> str:
        return self.server.create_database()

    def __exit__(self, *_exc: object) -> None:
        self.runner.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.home, ignore_errors=True)


def summary(runs: dict[str, list[tuple[float, int]]]) -> dict[str, Any]:
    sqlite_s = statistics.median(s for s, _ in runs["sqlite"])
    pg_s = statistics.median(s for s, _ in runs["postgresql"])
    return {"sqlite_s": round(sqlite_s, 4), "postgresql_s": round(pg_s, 4),
            "pg_over_sqlite": round(pg_s / sqlite_s, 2),
            "statements": {name: max(c for _, c in rows) for name, rows in runs.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV", help="also run status.py as of this git rev")
    parser.add_argument("--tracker", choices=["trello", "stub"], action="append")
    parser.add_argument("--durable", action="store_true",
                        help="PostgreSQL with fsync and synchronous_commit on (its defaults)")
    args = parser.parse_args()
    pulls = {"ours": lambda app: status.pull_status(app)}
    if args.baseline:
        old = baseline_module(args.baseline)
        pulls["baseline"] = lambda app: old.pull_status(app)
    states = task_states(args.n)
    policy = RetryPolicy(attempts=1)
    trackers: dict[str, Callable[[Config], Any]] = {
        "trello": lambda config: make_tracker(config, policy, rate_limited=False),
        "stub": lambda _config: StubTracker(states)}
    chosen = args.tracker or ["trello", "stub"]
    runs: dict[tuple[str, str], dict[str, list[tuple[float, int]]]] = {
        (kind, name): {"sqlite": [], "postgresql": []} for kind in chosen for name in pulls}
    folder = Path(tempfile.mkdtemp(prefix="planerka-bench-"))
    server = SandboxServer(make_emulator("trello", trello_board(args.n))).start()
    SANDBOX[0] = server.url
    try:
        with Postgres(args.durable) as postgres:
            for round_ in range(args.repeat + 1):  # round 0 warms up and is not counted
                for (kind, name), backends in runs.items():
                    order = list(backends.items())
                    for backend, results in order if round_ % 2 else order[::-1]:
                        url = (f"sqlite:///{folder / f'{kind}-{name}-{round_}.db'}"
                               if backend == "sqlite" else postgres.database())
                        result = one_pull(pulls[name], url, args.n, trackers[kind])
                        if round_:
                            results.append(result)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    for kind in chosen:
        out = {"tracker": kind, "n": args.n, "repeat": args.repeat, "pg_durable": args.durable,
               **summary(runs[kind, "ours"])}
        if args.baseline:
            out["baseline"] = {"rev": args.baseline, **summary(runs[kind, "baseline"])}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
