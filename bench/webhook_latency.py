"""How fast `serve` answers a webhook delivery, and how soon a decision typed on the meeting
item becomes a task through the webhook (no poller running).

    python bench/webhook_latency.py [--tracker trello|jira-cloud|jira-dc] [--decisions 20]
                                    [--deliveries 200]

Prints one JSON line: {"tracker", "deliveries", "ack_ms_p50", "ack_ms_p99", "decisions",
"task_s_p50", "task_s_max", "requests_per_decision"}. Trello gives a callback 10 s to answer
and Jira 10 s too: the ack must stay far below, whatever the work behind it costs.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import time
from typing import Any

import requests

from planerka_sync import service
from planerka_sync.demo import DEMO_TRELLO_SECRET, running_demo
from planerka_sync.sandbox.trello import sign_webhook


def ack_times(base: str, flavour: str, count: int, meeting: Any) -> list[float]:
    """Signed deliveries about the meeting, posted straight to serve: the time to the answer."""
    if flavour == "trello":
        body = json.dumps({"action": {"type": "commentCard",
                                      "data": {"card": {"id": meeting.id}}}}).encode()
        url = f"{base}/webhooks/trello"
        headers = {"X-Trello-Webhook": sign_webhook(DEMO_TRELLO_SECRET, body, url)}
    else:
        body = json.dumps({"webhookEvent": "comment_created",
                           "issue": {"id": meeting.id, "key": meeting.key}}).encode()
        url = f"{base}/webhooks/jira"
        digest = hmac.new(b"sandbox-jira-secret", body, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature": f"sha256={digest}"}
    times = []
    with requests.Session() as http:
        for n in range(count):
            started = time.perf_counter()
            http.post(url, data=body, timeout=10, headers={
                **headers, "Content-Type": "application/json",
                "X-Atlassian-Webhook-Identifier": f"bench-{n}"}).raise_for_status()
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracker", default="trello", choices=["trello", "jira-cloud", "jira-dc"])
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--deliveries", type=int, default=200)
    args = parser.parse_args()
    with running_demo(args.tracker) as demo:
        [prepared] = service.prepare(demo.app)
        assert prepared.ref is not None
        meeting = prepared.ref
        running = demo.serve()
        try:
            delays = []
            before = len(demo.server.emulator.log)
            for n in range(args.decisions):
                started = time.perf_counter()
                demo.write_decisions(meeting, [f"Decision: bench task {n} @ivan by 2026-12-31"])
                demo.wait_for_tasks(meeting, n + 1)
                delays.append(time.perf_counter() - started)
            while not running.web.worker.idle:  # the echoes of planerka's own comments too
                time.sleep(0.05)
            time.sleep(1.0)
            while not running.web.worker.idle:
                time.sleep(0.05)
            # Tracker requests per decision, the team's own comment not counted.
            spent = len(demo.server.emulator.log) - before - args.decisions
            acks = ack_times(running.url, args.tracker, args.deliveries, meeting)
        finally:
            running.stop()
    acks_ms = sorted(a * 1000 for a in acks)
    print(json.dumps({
        "tracker": args.tracker,
        "deliveries": args.deliveries,
        "ack_ms_p50": round(statistics.median(acks_ms), 2),
        "ack_ms_p99": round(acks_ms[int(len(acks_ms) * 0.99) - 1], 2),
        "decisions": args.decisions,
        "task_s_p50": round(statistics.median(delays), 3),
        "task_s_max": round(max(delays), 3),
        "requests_per_decision": round(spent / args.decisions, 1),
    }))


if __name__ == "__main__":
    main()
