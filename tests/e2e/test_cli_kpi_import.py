"""`kpi import` of what people really have: Russian Excel exports (Windows-1251, UTF-16) and
files too big to hold in memory or to commit row by row; an interrupted import leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from planerka_sync.demo import demo_config
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.kpi import import_csv
from planerka_sync.store import open_store
from planerka_sync.store.models import KpiValue
from tests.e2e.test_cli_prepare import config_file, run
from tests.store.pg import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]  # fixtures for the PostgreSQL test

ROOT = Path(__file__).resolve().parents[2]
# Recordable metrics of the built-in `marketing` set (config/kpis/marketing.yaml).
METRICS = ["sessions", "conversions", "revenue", "marketing_spend", "followers"]
RU_EXPORT = ("metric;period_end;value;source\r\n"
             "sessions;06.12.2026;20 000;Яндекс.Метрика\r\n"
             "conversions;06.12.2026;500;яндекс.директ\r\n"
             "bounce_rate;06.12.2026;сорок;вк\r\n")


def stored(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT metric, period_end, value, source FROM kpi_values ORDER BY metric").fetchall()


@pytest.mark.parametrize(("encoding", "label"), [("cp1251", "Windows-1251"),
                                                 ("utf-16", "UTF-16LE с BOM")])
def test_russian_excel_exports_import_with_cyrillic_intact(
        tmp_path: Path, trello: SandboxServer, encoding: str, label: str) -> None:
    csv = tmp_path / "week.csv"
    csv.write_bytes(RU_EXPORT.encode(encoding))  # Python's utf-16 is LE with a BOM here
    assert sys.byteorder == "little"
    imported = run("-c", str(config_file(tmp_path, trello)), "kpi", "import", str(csv))
    assert imported.returncode == 1, imported.stderr
    assert (f"импортировано строк: 2 (marketing-weekly; {label}, разделитель ';'), "
            f"пропущено: 1" in imported.stdout)
    assert "строка 4: bounce_rate: не число: 'сорок'" in imported.stderr
    assert "Traceback" not in imported.stderr
    assert stored(tmp_path / "state.db") == [
        ("conversions", "2026-12-06", 500.0, "яндекс.директ"),
        ("sessions", "2026-12-06", 20000.0, "яндекс.метрика")]


def write_big_csv(path: Path, rows: int) -> None:
    """``rows`` distinct (metric, day) rows, written as a stream."""
    first = date(2000, 1, 3)
    with path.open("w", encoding="utf-8") as out:
        out.write("metric,period_end,value,source\n")
        out.writelines(f"{METRICS[i % 5]},{first + timedelta(days=i // 5)},{i},ga4\n"
                       for i in range(rows))


# Runs in a fresh interpreter so that ru_maxrss is this import's alone. Only import_csv's
# signature is relied upon: the same script measures the code before and after a change.
MEASURE = """
import json, resource, sys
from sqlalchemy import event
from planerka_sync.demo import demo_config
from planerka_sync.service import App
from planerka_sync.service.kpi import import_csv
from planerka_sync.store import open_store

config = demo_config("trello", "http://127.0.0.1:9")
app = App(config, open_store(sys.argv[2]), lambda: None)
commits = []
event.listen(app.store.engine, "commit", lambda connection: commits.append(1))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import_csv(app, config.meetings[0], sys.argv[1])
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"growth_mb": growth / 1024, "commits": len(commits)}))
"""


def test_a_big_file_imports_in_bounded_memory_and_few_commits(tmp_path: Path) -> None:
    rows = 200_000  # 10 MB of CSV; rows as objects alone would take over 60 MB
    write_big_csv(tmp_path / "big.csv", rows)
    db = tmp_path / "state.db"
    result = subprocess.run([sys.executable, "-c", MEASURE, str(tmp_path / "big.csv"),
                             f"sqlite:///{db}"], capture_output=True, text=True, timeout=110,
                            check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    assert measured["growth_mb"] < 40, measured
    assert measured["commits"] <= 3, measured
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM kpi_values").fetchone() == (rows,)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    config = demo_config("trello", "http://127.0.0.1:9")
    state = App(config, open_store(f"sqlite:///{tmp_path / 'state.db'}"), lambda: None)
    try:
        yield state
    finally:
        state.store.close()


def count_rows(app: App) -> int:
    with app.store.session() as session:
        return session.scalar(select(func.count()).select_from(KpiValue)) or 0


def test_an_import_interrupted_midway_leaves_nothing(tmp_path: Path, app: App) -> None:
    write_big_csv(tmp_path / "big.csv", 20_000)
    written = 0

    def interrupt_after_12_000_rows(_conn: Any, _cursor: Any, statement: str,
                                    parameters: Any, _context: Any, executemany: bool) -> None:
        nonlocal written
        if statement.startswith("INSERT INTO kpi_values"):
            written += len(parameters) if executemany else 1
            if written > 12_000:  # two batches are in the DB already
                raise KeyboardInterrupt

    event.listen(app.store.engine, "before_cursor_execute", interrupt_after_12_000_rows)
    with pytest.raises(KeyboardInterrupt):
        import_csv(app, app.config.meetings[0], tmp_path / "big.csv")
    assert written > 12_000
    assert count_rows(app) == 0


def test_a_killed_import_leaves_nothing(tmp_path: Path, trello: SandboxServer) -> None:
    write_big_csv(tmp_path / "big.csv", 300_000)
    config = str(config_file(tmp_path, trello))
    assert run("-c", config, "kpi", "record", "sessions=1", "--period-end",
               "1999-01-01").returncode == 0  # the DB exists, with one value of its own
    importing = subprocess.Popen(
        [sys.executable, "-m", "planerka_sync", "-c", config, "kpi", "import",
         str(tmp_path / "big.csv")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = tmp_path / "state.db-wal"
    try:
        deadline = time.monotonic() + 60
        # Rows are on disk (in the WAL) once it grows by megabytes: then kill, mid-import.
        while (not wal.exists() or wal.stat().st_size < 2**20) and importing.poll() is None:
            assert time.monotonic() < deadline, "the import wrote nothing in 60 s"
            time.sleep(0.05)
        assert importing.poll() is None, "the import ended before it could be killed"
        os.kill(importing.pid, signal.SIGKILL)
    finally:
        importing.kill()
        importing.wait()
    assert stored(tmp_path / "state.db") == [("sessions", "1999-01-01", 1.0, "manual")]


def test_a_second_import_replaces_values_in_batches(tmp_path: Path, app: App) -> None:
    write_big_csv(tmp_path / "big.csv", 12_000)
    series = app.config.meetings[0]
    import_csv(app, series, tmp_path / "big.csv")
    (tmp_path / "again.csv").write_text("metric,period_end,value,source\n"
                                        "revenue,2000-01-03,7,crm\n", encoding="utf-8")
    commits: list[int] = []
    event.listen(app.store.engine, "commit", lambda _connection: commits.append(1))
    report = import_csv(app, series, tmp_path / "again.csv")
    assert report.rows == 1 and commits == [1] and count_rows(app) == 12_000
    with app.store.session() as session:
        row = session.scalars(select(KpiValue).where(KpiValue.metric == "revenue",
                                                     KpiValue.period_end == date(2000, 1, 3)))
        assert [(r.value, r.source) for r in row] == [(7.0, "crm")]


@pytest.mark.postgres
def test_the_batched_upsert_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    write_big_csv(tmp_path / "big.csv", 12_000)
    (tmp_path / "again.csv").write_text("metric,period_end,value,source\n"
                                        "revenue,2000-01-03,7,яндекс.директ\n",
                                        encoding="cp1251")
    config = demo_config("trello", "http://127.0.0.1:9")
    app = App(config, open_store(pg_url), lambda: None)
    try:
        assert import_csv(app, config.meetings[0], tmp_path / "big.csv").rows == 12_000
        assert import_csv(app, config.meetings[0], tmp_path / "again.csv").rows == 1
        assert count_rows(app) == 12_000
        with app.store.session() as session:
            row = session.scalars(select(KpiValue).where(
                KpiValue.metric == "revenue", KpiValue.period_end == date(2000, 1, 3))).one()
            assert (row.value, row.source) == (7.0, "яндекс.директ")
    finally:
        app.store.close()
