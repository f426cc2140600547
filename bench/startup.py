"""How long the CLI takes to start, against a bare ``python -c "import click"`` in the same run.

    python bench/startup.py [--runs 15]

Starts a Trello sandbox (``planerka-sync sandbox --tracker trello``), writes config/demo.yaml
pointed at it into a temporary folder (state DB there too), runs ``prepare`` once so the schema
is current and a meeting exists, then runs each command ``--runs`` times, interleaved, and prints
one JSON object: the median wall time of each in seconds and its ratio to the bare click import
(goals: ``--help`` <= 1.5, ``check`` <= 4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"help": 1.5, "check": 4.0}


def cli_command() -> list[str]:
    """The installed console script, as a user runs it; ``python -m`` when there is none."""
    script = Path(sys.executable).parent / "planerka-sync"
    return [str(script)] if script.exists() else [sys.executable, "-m", "planerka_sync"]


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*cli_command(), "sandbox", "--tracker", "trello", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit(f"the sandbox did not start: {url!r}")
    return process, url


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {result.returncode}:\n"
                         f"{result.stdout}\n{result.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    sandbox, url = start_sandbox()
    folder = Path(tempfile.mkdtemp(prefix="planerka-startup-"))
    try:
        config = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
        # The state DB beside the config, never the user's own (~/.local/state).
        (folder / "planerka.yaml").write_text(config + "\ndatabase: sqlite:///state.db\n",
                                              encoding="utf-8")
        env = {**os.environ, "SANDBOX_URL": url, "PLANERKA_CONFIG": str(folder / "planerka.yaml"),
               "XDG_STATE_HOME": str(folder), "NO_COLOR": "1", "TERM": "dumb"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cli = cli_command()
        commands = {
            "click": [sys.executable, "-c", "import click"],
            "help": [*cli, "--help"],
            "check": [*cli, "check"],
            "sync_dry_run": [*cli, "sync", "--dry-run"],
        }
        timed([*cli, "prepare"], env, folder)  # the schema made, a meeting to sync
        for argv in commands.values():  # warm: bytecode written, files in the page cache
            timed(argv, env, folder)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(timed(argv, env, folder))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["click"]
    ratios = {name: round(medians[name] / base, 2) for name in commands if name != "click"}
    print(json.dumps({
        "runs": args.runs,
        "python": sys.version.split()[0],
        "median_seconds": {name: round(value, 4) for name, value in medians.items()},
        "ratio_to_click": ratios,
        "goals": GOALS,
        "met": {name: ratios[name] <= goal for name, goal in GOALS.items()},
    }))


if __name__ == "__main__":
    main()
