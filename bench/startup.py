"""How long the CLI takes to start, against a bare ``python -c "import click"`` in the same run.

    python bench/startup.py [--runs 15] [--baseline REV]

Starts a Trello sandbox (``planerka-sync sandbox --tracker trello``), writes config/demo.yaml
pointed at it into a temporary folder (state DB there too), runs ``prepare`` once so the schema
is current and a meeting exists, then runs each command ``--runs`` times, interleaved, and prints
one JSON object: the median wall time of each in seconds and its ratio to the bare click import
(goals: ``--help`` <= 1.5, ``check`` <= 4), and to ``libraries``: importing only what ``check``
cannot do without (click, yaml, pydantic, requests, py-trello), the floor under any ``check``.
``--baseline REV`` also runs the same commands from a git worktree of REV (its own state DB),
interleaved with ours: ``baseline_*`` in the output.
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
# What `check` cannot start without on a Trello board: the CLI, the config's parser and models,
# and the client library the standards require (py-trello, on requests). Importing them alone
# is the floor under any `check`; ``ratio_to_libraries`` is how far above it we are.
CHECK_NEEDS = ("click", "yaml", "pydantic", "requests", "trello")
# What the console script runs (`planerka-sync` is `from planerka_sync.cli import main; main()`),
# spelled out so that a baseline checkout on PYTHONPATH runs the same way.
CLI = [sys.executable, "-c", "from planerka_sync.cli import main; main()"]


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([*CLI, "sandbox", "--tracker", "trello", "--port", "0"],
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


def setup(folder: Path, url: str, code: Path | None) -> dict[str, str]:
    """A config and state DB in ``folder``; the environment the commands run in (``code``: a
    checkout whose planerka_sync is imported instead of this one)."""
    folder.mkdir(parents=True)
    config = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    # The state DB beside the config, never the user's own (~/.local/state).
    (folder / "planerka.yaml").write_text(config + "\ndatabase: sqlite:///state.db\n",
                                          encoding="utf-8")
    env = {**os.environ, "SANDBOX_URL": url, "PLANERKA_CONFIG": str(folder / "planerka.yaml"),
           "XDG_STATE_HOME": str(folder), "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    timed([*CLI, "prepare"], env, folder)  # the schema made, a meeting to sync
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", metavar="REV", help="also time this git revision")
    args = parser.parse_args()

    sandbox, url = start_sandbox()
    folder = Path(tempfile.mkdtemp(prefix="planerka-startup-"))
    worktree = folder / "baseline-code"
    try:
        ours = setup(folder / "ours", url, None)
        envs = {"": ours}
        if args.baseline:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",
                            str(worktree), args.baseline], check=True)
            envs["baseline_"] = setup(folder / "baseline", url, worktree)
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "click": ([sys.executable, "-c", "import click"], ours),
            "libraries": ([sys.executable, "-c", f"import {', '.join(CHECK_NEEDS)}"], ours)}
        for prefix, env in envs.items():
            commands[f"{prefix}help"] = ([*CLI, "--help"], env)
            commands[f"{prefix}check"] = ([*CLI, "check"], env)
            commands[f"{prefix}sync_dry_run"] = ([*CLI, "sync", "--dry-run"], env)
        for argv, env in commands.values():  # warm: bytecode written, files in the page cache
            timed(argv, env, folder)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (argv, env) in commands.items():
                samples[name].append(timed(argv, env, folder))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        if worktree.exists():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(worktree)], check=False)
        shutil.rmtree(folder, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["click"]
    ratios = {name: round(medians[name] / base, 2) for name in commands if name != "click"}
    floor = medians["libraries"]
    over_floor = {name: round(medians[name] / floor, 2) for name in commands
                  if name not in ("click", "libraries")}
    print(json.dumps({
        "runs": args.runs,
        "python": sys.version.split()[0],
        **({"baseline": args.baseline} if args.baseline else {}),
        "median_seconds": {name: round(value, 4) for name, value in medians.items()},
        "ratio_to_click": ratios,
        "ratio_to_libraries": over_floor,
        "goals": GOALS,
        "met": {name: ratios[name] <= goal for name, goal in GOALS.items()},
    }))


if __name__ == "__main__":
    main()
