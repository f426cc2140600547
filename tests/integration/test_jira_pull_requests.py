"""Jira's status pull in as few requests as the deployment allows, and the sandbox limits it
relies on (checked against Atlassian's documentation, see sandbox/jira/search.py):

- Cloud's ``search/jql`` returns up to 5,000 issues a page when only ids (or keys) are asked
  for and 100 when any other field is; Data Center's ``search`` up to its configured
  ``jira.search.views.default.max`` (1,000 unless changed), reporting the cap it applied;
- the pull's JQL selects tasks only: the meeting issues carry the series label beside
  ``planerka`` and are left out.

Request counts come from the sandbox's request log, never from timings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from planerka_sync.config import JiraTracker
from planerka_sync.demo import demo_config
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.jira import CLASSIC_MAX, ENHANCED_MAX, HEAVY_PAGE_MAX
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy, TrackerSession
from planerka_sync.trackers.jira import STATE_FIELDS, JiraAdapter

SERIES = "marketing-weekly"  # config/demo.yaml's series
MEETINGS = 30


def seeded(flavour: str, tasks: int, meetings: int = MEETINGS) -> SandboxServer:
    data: dict[str, Any] = make_emulator(flavour).default_seed()
    data["issues"] = [
        {"project": "MKT", "summary": f"Планёрка {i}", "type": "Task",
         "labels": ["planerka", f"planerka-{SERIES}"], "duedate": f"2026-{1 + i % 12:02d}-01"}
        for i in range(meetings)
    ] + [
        {"project": "MKT", "summary": f"Task {i}", "type": "Task",
         "labels": ["planerka", f"planerka-d-{i:010x}"]}
        for i in range(tasks)
    ]
    return SandboxServer(make_emulator(flavour, data)).start()


@pytest.fixture(params=["jira-cloud", "jira-dc"])
def thousand(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    server = seeded(request.param, 1000)
    try:
        yield server
    finally:
        server.stop()


def adapter(server: SandboxServer, series: tuple[str, ...] = (SERIES,)) -> JiraAdapter:
    cloud = server.emulator.flavour == "jira-cloud"
    config = JiraTracker.model_validate({
        "kind": "jira", "url": server.url, "project": "MKT", "token": "t",
        "deployment": "cloud" if cloud else "datacenter",
        **({"email": "anna@example.org"} if cloud else {})})
    return JiraAdapter(config, TrackerSession("Jira"), series)


def log(server: SandboxServer) -> list[dict[str, Any]]:
    return requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()


def clear(server: SandboxServer) -> None:
    requests.delete(f"{server.url}/_sandbox/requests", timeout=5).raise_for_status()


# --- the pull ----------------------------------------------------------------------------------


def test_a_full_pull_of_1000_tasks_takes_at_most_10_requests_on_cloud_and_1_on_dc(
    thousand: SandboxServer,
) -> None:
    clear(thousand)
    states = list(adapter(thousand).task_states(None))
    assert len(states) == 1000
    sent = log(thousand)
    assert {(e["method"], e["path"]) for e in sent} <= {
        ("POST", "/rest/api/3/search/jql"), ("GET", "/rest/api/2/search")}
    assert len(sent) <= (10 if thousand.emulator.flavour == "jira-cloud" else 1)


def test_the_pull_asks_for_tasks_only(thousand: SandboxServer) -> None:
    """The JQL leaves the meeting issues out: the sandbox answers exactly the 1,000 tasks."""
    seen: list[int] = []
    tracker = adapter(thousand)
    original = tracker.search

    def counting(jql: str, fields: Any, page: int = 5000) -> Iterator[dict[str, Any]]:
        for issue in original(jql, fields, page):
            seen.append(1)
            yield issue

    tracker.search = counting  # type: ignore[method-assign]
    assert len(list(tracker.task_states(None))) == 1000
    assert len(seen) == 1000, "meeting issues were answered too"
    assert f'labels not in ("planerka-{SERIES}")' in tracker.tasks_jql()


def test_the_series_labels_come_from_the_config(thousand: SandboxServer) -> None:
    config = demo_config(thousand.emulator.flavour, thousand.url)
    tracker = make_tracker(config, RetryPolicy(attempts=1), rate_limited=False)
    assert isinstance(tracker, JiraAdapter)
    assert tracker.tasks_jql().endswith(f'labels not in ("planerka-{SERIES}")')


def test_without_the_series_the_meetings_are_read_and_skipped(thousand: SandboxServer) -> None:
    assert len(list(adapter(thousand, series=()).task_states(None))) == 1000


def test_an_incremental_pull_with_nothing_changed_is_one_request(thousand: SandboxServer) -> None:
    from datetime import UTC, datetime, timedelta

    requests.post(f"{thousand.url}/_sandbox/clock", json={"advance": 3600},
                  timeout=5).raise_for_status()
    clear(thousand)
    since = datetime.now(UTC) + timedelta(hours=2)  # after every change
    assert list(adapter(thousand).task_states(since)) == []
    assert len(log(thousand)) == 1


def test_dc_pages_by_the_sites_configured_maximum() -> None:
    server = seeded("jira-dc", 1000, meetings=0)
    try:
        requests.post(f"{server.url}/_sandbox/options", json={"search_max_results": 300},
                      timeout=5).raise_for_status()
        clear(server)
        assert len(list(adapter(server).task_states(None))) == 1000
        assert len(log(server)) == 4  # 300 + 300 + 300 + 100
    finally:
        server.stop()


# --- the sandbox's page limits -----------------------------------------------------------------


def cloud_page(server: SandboxServer, fields: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"jql": "project = MKT", "maxResults": 10_000}
    if fields is not None:
        body["fields"] = fields
    answer = requests.post(f"{server.url}/rest/api/3/search/jql", json=body,
                           auth=("anna@example.org", "t"), timeout=30)
    answer.raise_for_status()
    return answer.json()


def test_cloud_search_returns_5000_ids_but_100_issues_with_fields() -> None:
    server = seeded("jira-cloud", ENHANCED_MAX + 10, meetings=0)
    try:
        assert len(cloud_page(server, None)["issues"]) == ENHANCED_MAX
        assert len(cloud_page(server, ["id"])["issues"]) == ENHANCED_MAX
        assert len(cloud_page(server, ["key"])["issues"]) == ENHANCED_MAX
        with_fields = cloud_page(server, STATE_FIELDS)
        assert len(with_fields["issues"]) == HEAVY_PAGE_MAX and with_fields["isLast"] is False
        assert len(cloud_page(server, ["labels"])["issues"]) == HEAVY_PAGE_MAX
    finally:
        server.stop()


def test_dc_search_caps_max_results_at_the_configured_maximum() -> None:
    server = seeded("jira-dc", CLASSIC_MAX + 10, meetings=0)
    try:
        def page() -> dict[str, Any]:
            answer = requests.get(f"{server.url}/rest/api/2/search", params={
                "jql": "project = MKT", "maxResults": 5000, "fields": "labels"},
                headers={"Authorization": "Bearer t"}, timeout=30)
            answer.raise_for_status()
            return answer.json()

        first = page()
        assert first["maxResults"] == CLASSIC_MAX and len(first["issues"]) == CLASSIC_MAX
        requests.post(f"{server.url}/_sandbox/options", json={"search_max_results": 250},
                      timeout=5).raise_for_status()
        capped = page()
        assert capped["maxResults"] == 250 and len(capped["issues"]) == 250
    finally:
        server.stop()
