"""The benchmarks run and print their JSON lines (numbers are for people; tests check shape)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sync_requests_bench_prints_one_line_per_tracker() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sync_requests.py"), "--n", "30",
         "--latency-ms", "0"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["tracker"] for line in lines] == ["trello", "jira-cloud", "jira-dc"]
    for line in lines:
        assert set(line) == {"tracker", "n", "latency_ms", "requests_pull", "seconds_pull",
                             "requests_sync_first", "seconds_sync_first", "requests_sync",
                             "seconds_sync", "seen_sync", "sync_exit", "requests_naive",
                             "seconds_naive", "naive_scaled", "pull_speedup",
                             "sync_first_speedup", "sync_speedup"}
        assert line["n"] == 30 and line["naive_scaled"] is False
        # Trello's full pull from a fresh adapter: the board's id by its name, the board, a
        # page of open cards (Trello answers at most 1,000 a request, nested only once a pull
        # has found the board well under that) and a page of archived ones. Jira: one search
        # page of the tasks (the meeting issues left out).
        budget = 4 if line["tracker"] == "trello" else 1
        assert line["requests_pull"] <= budget < line["requests_naive"]
        # The whole command (a new process on a fresh state DB) did its work, then the next
        # tick pulled the ten tasks moved to Done; on Jira only what changed since.
        assert line["sync_exit"] == 0 and line["requests_pull"] <= line["requests_sync_first"]
        if line["tracker"] == "trello":
            assert line["seen_sync"] == 30  # Trello's pull reads every open card
        else:
            assert line["seen_sync"] == 10 and line["requests_sync"] < line["requests_sync_first"]


def test_daemon_soak_bench_prints_its_line() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "daemon_soak.py"), "--ticks", "20"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["ticks"] == 20 and line["series"] == 3
    assert line["rss_end_mb"] > 0 and line["requests"] > 0
