"""bench/startup.py runs and prints its JSON (the numbers are for people; this checks the shape)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_startup_bench_prints_medians_and_ratios() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "startup.py"), "--runs", "1"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    commands = {"click", "libraries", "help", "check", "sync_dry_run"}
    assert set(line["median_seconds"]) == commands
    assert set(line["ratio_to_click"]) == commands - {"click"}
    assert set(line["ratio_to_libraries"]) == commands - {"click", "libraries"}
    # the floor imports click and more: it can only be slower than click alone
    assert line["ratio_to_click"]["libraries"] > 1
    assert line["goals"] == {"help": 1.5, "check": 4.0}
    assert set(line["met"]) == {"help", "check"}
    assert all(seconds > 0 for seconds in line["median_seconds"].values())
