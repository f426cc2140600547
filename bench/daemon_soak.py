"""The daemon over many ticks: does memory stay flat?

    python bench/daemon_soak.py [--ticks 1000] [--series 3] [--tracker trello|jira-cloud]

Drives `Daemon.tick()` on a fake clock advancing 5 minutes a tick (so about 3.5 days of
prepares, syncs and progress comments per 1,000 ticks) against an in-process sandbox, and
prints one JSON line: {"ticks", "series", "tracker", "rss_start_mb", "rss_end_mb",
"rss_peak_mb", "cpu_seconds", "requests"}. Goal: RSS <= 120 MB and flat.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from planerka_sync.daemon import Daemon
from planerka_sync.demo import demo_config
from planerka_sync.ratelimit import Limit
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.store import open_store
from planerka_sync.trackers import make_tracker

START = datetime(2026, 11, 26, 12, tzinfo=UTC)
STEP = timedelta(minutes=5)


def rss_mb() -> float:
    """Current resident memory (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def soak(ticks: int, series_count: int, flavour: str) -> dict[str, object]:
    server = SandboxServer(make_emulator(flavour)).start()
    clock = [START]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = demo_config(flavour, server.url)
            series = [base.meetings[0].model_copy(update={"id": f"s{i}", "title": f"Планёрка {i}"})
                      for i in range(series_count)]
            config = base.model_copy(update={"meetings": series})
            store = open_store(f"sqlite:///{Path(tmp) / 'state.db'}")
            app = App(config, store,
                      lambda: make_tracker(config, jira_limit=Limit(100_000, 1.0)),
                      clock=lambda: clock[0])
            daemon = Daemon(app)
            daemon.tick()
            server.emulator.log.clear()  # the sandbox keeps a request log; it is not ours
            rss_start, peak = rss_mb(), 0.0
            cpu_start = time.process_time()
            requests_sent = 0
            for _ in range(ticks):
                clock[0] += STEP
                daemon.tick()
                requests_sent += len(server.emulator.log)
                server.emulator.log.clear()
                peak = max(peak, rss_mb())
            cpu = time.process_time() - cpu_start
            store.close()
    finally:
        server.stop()
    return {"ticks": ticks, "series": series_count, "tracker": flavour,
            "rss_start_mb": round(rss_start, 1), "rss_end_mb": round(rss_mb(), 1),
            "rss_peak_mb": round(max(peak, rss_mb()), 1), "cpu_seconds": round(cpu, 2),
            "requests": requests_sent,
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--series", type=int, default=3)
    parser.add_argument("--tracker", choices=["trello", "jira-cloud"], default="trello")
    args = parser.parse_args()
    print(json.dumps(soak(args.ticks, args.series, args.tracker)), flush=True)


if __name__ == "__main__":
    main()
