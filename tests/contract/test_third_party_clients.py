"""Third-party clients work against the sandbox unchanged: pycontribs ``jira`` and py-trello.

A team that scripts its trackers with these libraries should be able to test the scripts on the
sandbox. Each test drives the unmodified client and checks the effect through the sandbox's own
``/_sandbox/state`` (or a second client call), not through the client's view of itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from jira import JIRA

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from tests.conftest import request_log
from tests.integration.trello_client import sandbox_client

CLOUD_AUTH = ("ivan@example.org", "token")  # any non-empty credentials (no seed `credentials`)
DC_TOKEN = "pat"


def state(server: SandboxServer) -> Any:
    response = requests.get(f"{server.url}/_sandbox/state", timeout=5)
    response.raise_for_status()
    return response.json()


def status_name(server: SandboxServer, key: str) -> str:
    db = state(server)
    issue = next(i for i in db["issues"].values() if i["key"] == key)
    return str(db["statuses"][issue["status"]]["name"])


def comment_texts(server: SandboxServer, key: str) -> list[str]:
    db = state(server)
    issue = next(i for i in db["issues"].values() if i["key"] == key)
    return [str(db["comments"][c]["body"]) for c in issue["comments"]]


def write_with_client(client: JIRA, server: SandboxServer) -> str:
    """create_issue, add_comment and transition_issue, checked in the sandbox's state."""
    issue = client.create_issue(project="MKT", summary="Сверить бюджет кампании",
                                issuetype={"name": "Task"}, priority={"name": "High"})
    client.add_comment(issue, "Бюджет сверен с финансами")
    client.transition_issue(issue, "Done")
    assert status_name(server, issue.key) == "Done"
    assert any("Бюджет сверен" in text for text in comment_texts(server, issue.key))
    return str(issue.key)


@pytest.fixture
def cloud() -> Iterator[SandboxServer]:
    seed = {"generate": {"issues": 7, "project": "MKT", "labels": ["planerka"]}}
    server = SandboxServer(make_emulator("jira-cloud", seed)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dc() -> Iterator[SandboxServer]:
    seed = {"generate": {"issues": 7, "project": "MKT", "labels": ["planerka"]}}
    server = SandboxServer(make_emulator("jira-dc", seed)).start()
    try:
        yield server
    finally:
        server.stop()


def test_pycontribs_jira_on_cloud(cloud: SandboxServer) -> None:
    client = JIRA(server=cloud.url, basic_auth=CLOUD_AUTH)
    key = write_with_client(client, cloud)
    found = client.enhanced_search_issues("project = MKT AND priority = High AND status = Done")
    assert [i.key for i in found] == [key]
    assert found[0].fields.priority.name == "High"
    # REST v3, several token pages (maxResults=0: the client follows nextPageToken to the end).
    v3 = JIRA(server=cloud.url, basic_auth=CLOUD_AUTH, options={"rest_api_version": "3"})
    paged = v3.enhanced_search_issues("project = MKT ORDER BY priority DESC, key ASC",
                                      maxResults=0, fields=["priority"])
    assert paged[0].key == key  # High outranks the generated issues' Medium
    assert len(paged) == 8
    hits = [e for e in request_log(cloud) if e["path"] == "/rest/api/3/search/jql"]
    assert hits and all(e["status"] == 200 for e in hits)


def test_pycontribs_jira_on_data_center(dc: SandboxServer) -> None:
    client = JIRA(server=dc.url, token_auth=DC_TOKEN)
    key = write_with_client(client, dc)
    found = client.search_issues("priority in (High, Highest) AND statusCategory = Done")
    assert [i.key for i in found] == [key]
    # The classic /rest/api/2/search (startAt paging) with ORDER BY priority.
    paged = client.search_issues("project = MKT AND priority != Highest ORDER BY priority ASC",
                                 maxResults=False, fields="priority")
    assert [i.key for i in paged][-1] == key and len(paged) == 8
    searches = [e for e in request_log(dc) if e["path"] == "/rest/api/2/search"]
    assert searches and all(e["status"] == 200 for e in searches)


def test_py_trello_search(trello_sandbox: SandboxServer) -> None:
    client = sandbox_client(trello_sandbox.url)
    board = client.list_boards()[0]
    target = board.list_lists()[0]
    card = target.add_card("Квартальный отчёт по конверсии", desc="для совета директоров")
    other = target.add_card("Ретроспектива")
    results = client.search("отчёт конверсии", models=["cards", "boards"],
                            board_ids=[board.id], cards_limit=5)
    assert [r.id for r in results] == [card.id]
    assert results[0].name == "Квартальный отчёт по конверсии"
    assert results[0].board.id == board.id
    prefix = client.search("ретро", partial_match=True, models=["cards"])
    assert [r.id for r in prefix] == [other.id]
    assert client.search("ретро", models=["cards"]) == []  # whole words without partial
