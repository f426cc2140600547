"""How many requests and seconds it takes to learn the state of N tasks: planerka-sync's bulk pull
versus polling each task with the same client library.

    python bench/sync_requests.py [--n 1000] [--latency-ms 50] [--tracker trello|jira-cloud]

Prints one JSON line per tracker:
{"tracker", "n", "latency_ms", "requests_planerka", "requests_naive", "seconds_planerka",
 "seconds_naive"}
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import requests
from atlassian import JiraCloud
from trello import TrelloClient

from planerka_sync.config import JiraTracker, TrelloTracker
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.trackers.http import TrackerSession
from planerka_sync.trackers.jira import JiraAdapter
from planerka_sync.trackers.trello import TRELLO_API, TrelloAdapter


def seed(flavour: str, n: int) -> dict[str, Any]:
    data: dict[str, Any] = make_emulator(flavour).default_seed()
    if flavour == "trello":
        data["boards"][0]["cards"] = [
            {"name": f"Task {i}", "list": "To Do", "desc": f"`planerka:planerka-d-{i:010x}`"}
            for i in range(n)]
    else:
        data["issues"] = [{"project": "MKT", "summary": f"Task {i}", "type": "Task",
                           "labels": ["planerka", f"planerka-d-{i:010x}"]} for i in range(n)]
    return data


def measure(server: SandboxServer, work: Callable[[], int]) -> tuple[int, float, int]:
    requests.delete(f"{server.url}/_sandbox/requests", timeout=5)
    started = time.perf_counter()
    found = work()
    seconds = time.perf_counter() - started
    sent = len(requests.get(f"{server.url}/_sandbox/requests", timeout=30).json())
    return sent, seconds, found


def trello_run(server: SandboxServer) -> tuple[Callable[[], int], Callable[[], int]]:
    config = TrelloTracker.model_validate({"kind": "trello", "url": server.url, "api_key": "k",
                                           "token": "t", "board": "Marketing"})

    def planerka() -> int:
        return len(list(TrelloAdapter(config, TrackerSession("Trello")).task_states(None)))

    session = TrackerSession("Trello", rewrite=(TRELLO_API, server.url))
    client = TrelloClient(api_key="k", api_secret="t", http_service=session)
    ids = [c["id"] for c in client.fetch_json(
        "/boards/" + client.list_boards()[0].id + "/cards", query_params={"fields": "id"})]

    def naive() -> int:
        return sum(1 for card_id in ids if client.get_card(card_id).id)

    return planerka, naive


def jira_run(server: SandboxServer) -> tuple[Callable[[], int], Callable[[], int]]:
    config = JiraTracker.model_validate({"kind": "jira", "url": server.url, "project": "MKT",
                                         "email": "anna@example.org", "token": "t"})

    def planerka() -> int:
        return len(list(JiraAdapter(config, TrackerSession("Jira")).task_states(None)))

    client = JiraCloud(url=server.url, username="anna@example.org", password="t",
                       backoff_and_retry=False, retry_with_header=False)
    keys = [i["key"] for i in JiraAdapter(config, TrackerSession("Jira")).search(
        "project = MKT AND labels = planerka", ["key"])]

    def naive() -> int:
        return sum(1 for key in keys if client.get(f"rest/api/3/issue/{key}",
                                                   params={"fields": "status"}))

    return planerka, naive


def bench(flavour: str, n: int, latency_ms: float) -> dict[str, Any]:
    server = SandboxServer(make_emulator(flavour, seed(flavour, n))).start()
    try:
        planerka, naive = (trello_run if flavour == "trello" else jira_run)(server)
        if latency_ms:
            requests.post(f"{server.url}/_sandbox/faults", timeout=5, json={
                "path": "^/(1|rest)/", "latency": latency_ms / 1000, "count": 10**9})
        sent_p, seconds_p, found_p = measure(server, planerka)
        sent_n, seconds_n, found_n = measure(server, naive)
        assert found_p == found_n == n, (found_p, found_n)
        return {"tracker": flavour, "n": n, "latency_ms": latency_ms,
                "requests_planerka": sent_p, "requests_naive": sent_n,
                "seconds_planerka": round(seconds_p, 3), "seconds_naive": round(seconds_n, 3)}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--tracker", choices=["trello", "jira-cloud"], action="append")
    args = parser.parse_args()
    for flavour in args.tracker or ["trello", "jira-cloud"]:
        print(json.dumps(bench(flavour, args.n, args.latency_ms)), flush=True)


if __name__ == "__main__":
    main()
