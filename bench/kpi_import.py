"""What ``kpi import`` costs for a big file: a generated CSV of N rows imported by the real code
into a fresh SQLite state DB.

    python bench/kpi_import.py [--rows 1000000] [--encoding utf-8|cp1251|utf-16]

Prints one JSON line:
{"rows", "encoding", "file_mb", "stored", "skipped", "seconds", "rows_per_s", "rss_before_mb",
 "peak_rss_mb", "rss_growth_mb", "commits"}
(peak RSS is the process's ru_maxrss; the growth is that peak minus the peak before importing.)
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from planerka_sync.demo import demo_config
from planerka_sync.service import App
from planerka_sync.service.kpi import import_csv, kpis_of
from planerka_sync.store import open_store

FIRST_DAY = date(2000, 1, 3)


def metrics() -> list[str]:
    config = demo_config("trello", "http://127.0.0.1:9")
    app = App(config, open_store("sqlite://"), _no_tracker)
    try:
        return sorted(kpis_of(app, config.meetings[0]).recordable())
    finally:
        app.store.close()


def lines(n: int, names: list[str]) -> Iterator[str]:
    """Russian-Excel style: ";", DD.MM.YYYY, decimal commas, a Cyrillic source; every
    (metric, period_end) once."""
    yield "metric;period_end;value;source\n"
    for i in range(n):
        day = FIRST_DAY + timedelta(days=i // len(names))
        yield f"{names[i % len(names)]};{day:%d.%m.%Y};{i % 100_000},{i % 10};яндекс.метрика\n"


def write_csv(path: Path, n: int, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as out:  # utf-16 writes its BOM
        out.writelines(lines(n, metrics()))


def peak_rss_mb() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _no_tracker() -> Any:
    raise AssertionError("importing a CSV needs no tracker")


def run(n: int, encoding: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "kpi.csv"
        write_csv(csv, n, encoding)
        config = demo_config("trello", "http://127.0.0.1:9")
        app = App(config, open_store(f"sqlite:///{Path(folder) / 'state.db'}"), _no_tracker)
        commits = [0]
        event.listen(app.store.engine, "commit", lambda _conn: commits.__setitem__(0,
                                                                                   commits[0] + 1))
        try:
            before = peak_rss_mb()
            started = time.perf_counter()
            report = import_csv(app, config.meetings[0], csv)
            seconds = time.perf_counter() - started
            peak = peak_rss_mb()
        finally:
            app.store.close()
        return {"rows": n, "encoding": report.encoding,
                "file_mb": round(csv.stat().st_size / 2**20, 1), "stored": report.rows,
                "skipped": report.skipped, "seconds": round(seconds, 2),
                "rows_per_s": round(report.rows / seconds), "rss_before_mb": round(before, 1),
                "peak_rss_mb": round(peak, 1), "rss_growth_mb": round(peak - before, 1),
                "commits": commits[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "cp1251", "utf-16"])
    args = parser.parse_args()
    print(json.dumps(run(args.rows, args.encoding)), flush=True)


if __name__ == "__main__":
    main()
