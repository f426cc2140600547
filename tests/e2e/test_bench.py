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
    assert [line["tracker"] for line in lines] == ["trello", "jira-cloud"]
    for line in lines:
        assert set(line) == {"tracker", "n", "latency_ms", "requests_planerka", "requests_naive",
                             "seconds_planerka", "seconds_naive"}
        assert line["n"] == 30
        # Trello's full pull from a fresh adapter: the board's id by its name, the board, a
        # page of open cards (Trello answers at most 1,000 a request, nested only once a pull
        # has found the board well under that) and a page of archived ones.
        budget = 4 if line["tracker"] == "trello" else 2
        assert line["requests_planerka"] <= budget < line["requests_naive"]


def test_daemon_soak_bench_prints_its_line() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "daemon_soak.py"), "--ticks", "20"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["ticks"] == 20 and line["series"] == 3
    assert line["rss_end_mb"] > 0 and line["requests"] > 0
