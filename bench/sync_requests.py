"""How many requests and seconds it takes to learn the state of N tasks: planerka-sync's bulk pull,
and the whole `planerka-sync sync` command (a new process: start, imports, state DB, pull), versus
polling each task with the same client library.

    python bench/sync_requests.py [--n 1000 --n 10000] [--latency-ms 50]
                                  [--tracker trello|jira-cloud|jira-dc ...] [--naive-sample 1000]

Every request to the sandbox waits ``latency-ms`` (a fault on every API path), as a tracker over
the internet does. Per-task polling of more than ``--naive-sample`` tasks is measured on that
many and scaled (its cost is linear: one request per task); ``naive_scaled`` says so.

The whole command is run twice on one state DB: first on a fresh one (``*_sync_first``: the
schema made, the tracker's history adopted, every task state pulled), then, after ten tasks
were moved to Done, as the next tick of a cron job or the daemon (``*_sync``: what changed
since; it must find the ten). The tasks were last updated over the past months, as a real
project's were. Per-task polling has no "since": it asks for every task every time.

Prints one JSON line per tracker and N:
{"tracker", "n", "latency_ms", "requests_pull", "seconds_pull",
 "requests_sync_first", "seconds_sync_first", "requests_sync", "seconds_sync", "seen_sync",
 "sync_exit",
 "requests_naive", "seconds_naive", "naive_scaled", "pull_speedup", "sync_first_speedup",
 "sync_speedup"}
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml
from atlassian import Jira, JiraCloud
from trello import TrelloClient

from planerka_sync.config import JiraTracker, TrelloTracker, read_yaml
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.templates import builtin_dir
from planerka_sync.trackers.http import TrackerSession
from planerka_sync.trackers.jira import JiraAdapter
from planerka_sync.trackers.trello import TRELLO_API, TrelloAdapter

SERIES = "marketing-weekly"  # config/demo.yaml's series; its meeting issues share the label
MEETINGS = 20
CHANGED = 10  # tasks moved to Done between the first sync and the next tick
FLAVOURS = ["trello", "jira-cloud", "jira-dc"]


def seed(flavour: str, n: int) -> dict[str, Any]:
    data: dict[str, Any] = make_emulator(flavour).default_seed()
    now = time.time()
    if flavour == "trello":
        data["boards"][0]["cards"] = [
            {"name": f"Task {i}", "list": "To Do", "desc": f"`planerka:planerka-d-{i:010x}`"}
            for i in range(n)]
    else:  # a year of meetings besides the tasks, as a real project has
        data["issues"] = [
            {"project": "MKT", "summary": f"Планёрка {i}", "type": "Task",
             "labels": ["planerka", f"planerka-{SERIES}"], "duedate": f"2026-{1 + i % 12:02d}-01"}
            for i in range(MEETINGS)
        ] + [{"project": "MKT", "summary": f"Task {i}", "type": "Task",
              "labels": ["planerka", f"planerka-d-{i:010x}"],
              # last touched over the past months, as a real project's tasks were
              "created": now - (i + 1) * 7200 - 86400, "updated": now - (i + 1) * 7200}
             for i in range(n)]
    return data


def sent(server: SandboxServer) -> int:
    return len(requests.get(f"{server.url}/_sandbox/requests", timeout=60).json())


def measure(server: SandboxServer, work: Callable[[], int]) -> tuple[int, float, int]:
    requests.delete(f"{server.url}/_sandbox/requests", timeout=5)
    started = time.perf_counter()
    found = work()
    seconds = time.perf_counter() - started
    return sent(server), seconds, found


def tracker_config(flavour: str, url: str) -> dict[str, Any]:
    if flavour == "trello":
        return {"kind": "trello", "url": url, "api_key": "k", "token": "t", "board": "Marketing",
                "meetings_list": "Планёрки", "tasks_list": "To Do", "done_lists": ["Done"]}
    if flavour == "jira-cloud":
        return {"kind": "jira", "url": url, "project": "MKT", "deployment": "cloud",
                "email": "anna@example.org", "token": "t"}
    return {"kind": "jira", "url": url, "project": "MKT", "deployment": "datacenter",
            "token": "t"}


Work = tuple[Callable[[], int], Callable[[int], int], Callable[[int], None]]


def pull_and_naive(flavour: str, server: SandboxServer) -> Work:
    """The adapter's full pull, polling the first ``k`` tasks one by one, and moving the last
    ``k`` tasks to Done (what a team does between two ticks)."""
    raw = tracker_config(flavour, server.url)
    if flavour == "trello":
        trello = TrelloTracker.model_validate(raw)
        session = TrackerSession("Trello", rewrite=(TRELLO_API, server.url))
        client = TrelloClient(api_key="k", api_secret="t", http_service=session)
        ids = [c["id"] for c in client.fetch_json(
            "/boards/" + client.list_boards()[0].id + "/cards", query_params={"fields": "id"})]

        def pull() -> int:
            return len(list(TrelloAdapter(trello, TrackerSession("Trello")).task_states(None)))

        def naive(k: int) -> int:
            return sum(1 for card_id in ids[:k] if client.get_card(card_id).id)

        def change(k: int) -> None:
            done = next(x for x in client.list_boards()[0].list_lists() if x.name == "Done")
            for card_id in ids[-k:]:
                client.get_card(card_id).change_list(done.id)

        return pull, naive, change
    jira = JiraTracker.model_validate(raw)
    adapter = JiraAdapter(jira, TrackerSession("Jira"), [SERIES])
    keys = [i["key"] for i in adapter.search(adapter.tasks_jql(), ["key"])]
    common: dict[str, Any] = {"url": server.url, "backoff_and_retry": False,
                              "retry_with_header": False}
    api = "rest/api/3" if flavour == "jira-cloud" else "rest/api/2"
    poller = (JiraCloud(username="anna@example.org", password="t", **common)
              if flavour == "jira-cloud" else Jira(token="t", cloud=False, **common))

    def pull() -> int:
        return len(list(JiraAdapter(jira, TrackerSession("Jira"), [SERIES]).task_states(None)))

    def naive(k: int) -> int:
        return sum(1 for key in keys[:k]
                   if poller.get(f"{api}/issue/{key}", params={"fields": "status"}))

    def change(k: int) -> None:
        for key in keys[-k:]:
            moves = (poller.get(f"{api}/issue/{key}/transitions") or {})["transitions"]
            done = next(m for m in moves if m["to"]["name"] == "Done")
            poller.post(f"{api}/issue/{key}/transitions", data={"transition": {"id": done["id"]}})

    return pull, naive, change


def sync_command(flavour: str, server: SandboxServer,
                 folder: Path) -> tuple[int, float, int, int]:
    """`planerka-sync sync --json` in a new process on the state DB in ``folder`` (made by the
    first call): requests, wall seconds (process start included), the exit code and the number
    of task states it pulled (the tasks here belong to no decision of its DB, so none is
    "changed" for it; what it was sent is what it learnt)."""
    raw = read_yaml(builtin_dir() / "demo.yaml")
    raw["tracker"] = tracker_config(flavour, server.url)
    if flavour == "jira-dc":  # Data Center names people by username: the demo team's ids
        for person in raw["people"]:
            person["jira"] = person["id"]
    raw["database"] = f"sqlite:///{folder / f'{flavour}.db'}"
    raw.pop("kpi_sources", None)
    path = folder / f"{flavour}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    requests.delete(f"{server.url}/_sandbox/requests", timeout=5)
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode written
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "planerka_sync", "-c", str(path), "sync",
                           "--json"], capture_output=True, text=True, env=env, check=False,
                          timeout=3600)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 6):
        sys.stderr.write(done.stdout + done.stderr)
        return sent(server), seconds, done.returncode, -1
    return sent(server), seconds, done.returncode, json.loads(done.stdout)["task_states"]["seen"]


def bench(flavour: str, n: int, latency_ms: float, naive_sample: int) -> dict[str, Any]:
    server = SandboxServer(make_emulator(flavour, seed(flavour, n))).start()
    try:
        pull, naive, change = pull_and_naive(flavour, server)
        if latency_ms:
            requests.post(f"{server.url}/_sandbox/faults", timeout=5, json={
                "path": "^/(1|rest)/", "latency": latency_ms / 1000, "count": 10**9})
        sent_p, seconds_p, found_p = measure(server, pull)
        with tempfile.TemporaryDirectory(prefix="planerka-bench-") as tmp:
            sent_f, seconds_f, exit_f, _ = sync_command(flavour, server, Path(tmp))
            change(CHANGED)
            sent_s, seconds_s, exit_s, seen = sync_command(flavour, server, Path(tmp))
        assert seen >= CHANGED, f"the tick pulled {seen} task states, not the {CHANGED} moved"
        k = min(n, naive_sample)
        sent_n, seconds_n, found_n = measure(server, lambda: naive(k))
        assert found_p == n and found_n == k, (found_p, found_n)
        scale = n / k
        naive_seconds = seconds_n * scale
        return {"tracker": flavour, "n": n, "latency_ms": latency_ms,
                "requests_pull": sent_p, "seconds_pull": round(seconds_p, 3),
                "requests_sync_first": sent_f, "seconds_sync_first": round(seconds_f, 3),
                "requests_sync": sent_s, "seconds_sync": round(seconds_s, 3), "seen_sync": seen,
                "sync_exit": max(exit_f, exit_s),
                "requests_naive": round(sent_n * scale), "seconds_naive": round(naive_seconds, 3),
                "naive_scaled": k < n,
                "pull_speedup": round(naive_seconds / seconds_p, 1),
                "sync_first_speedup": round(naive_seconds / seconds_f, 1),
                "sync_speedup": round(naive_seconds / seconds_s, 1)}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--tracker", choices=FLAVOURS, action="append")
    parser.add_argument("--naive-sample", type=int, default=1000)
    args = parser.parse_args()
    for n in args.n or [1000, 10_000]:
        for flavour in args.tracker or FLAVOURS:
            print(json.dumps(bench(flavour, n, args.latency_ms, args.naive_sample)), flush=True)


if __name__ == "__main__":
    main()
