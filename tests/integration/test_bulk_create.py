"""Jira's decisions become tasks 50 a request (``POST issue/bulk``, the documented maximum),
each carrying its marker and its link back to the meeting in the same write, still exactly once
whatever the answer: a bulk create applied and then answered 502, an answer that accounts for
only some of the drafts, some elements refused, a create screen without "Linked Issues".

Request counts come from the sandbox's request log; the tasks are read back from the sandbox's
state (``/_sandbox/state``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from planerka_sync.domain.document import Document
from planerka_sync.domain.model import ItemRef, TaskDraft
from planerka_sync.sandbox.jira import MAX_BULK
from planerka_sync.trackers.base import Created
from planerka_sync.trackers.jira import JiraAdapter
from tests.integration.test_decisions import after_meeting
from tests.integration.test_exactly_once import (
    DECISIONS,
    assert_exactly_once,
    sync,
    task_links,
    write_decisions,
)
from tests.integration.test_prepare import World

CREATES = re.compile(r"/rest/api/\d/(issue|issue/bulk|issueLink)$")


@pytest.fixture(params=["jira-cloud", "jira-dc"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with after_meeting(request.param, f"sqlite:///{tmp_path / 'state.db'}") as world:
        write_decisions(world)
        world.clear_log()
        yield world


def create_requests(world: World) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in world.log()
            if e["method"] == "POST" and CREATES.search(e["path"])]


def option(world: World, **options: object) -> None:
    requests.post(f"{world.server.url}/_sandbox/options", json=options,
                  timeout=5).raise_for_status()


def test_50_decisions_are_created_and_linked_in_one_request(world: World) -> None:
    report = sync(world)
    assert len(report.created) == DECISIONS
    sent = create_requests(world)
    assert len(sent) <= 10
    assert [s.rsplit("/", 1)[1] for s in sent] == ["bulk"]  # the links came with the creates
    assert all(r.linked_at is not None for r in report.created)
    assert_exactly_once(world)
    world.clear_log()
    again = sync(world)
    assert again.created == [] and create_requests(world) == []


def test_a_bulk_create_applied_then_answered_502_is_found_not_made_again(world: World) -> None:
    world.fault(method="POST", path=r"/issue/bulk$", status=502, apply=True, count=1)
    first = sync(world)
    assert len(first.in_doubt) == DECISIONS and first.created == [] and first.failed == []
    world.clear_log()
    second = sync(world)
    assert len(second.found) == DECISIONS and second.created == []
    # Found, and their creates may have carried the link: looked for, not posted again.
    assert create_requests(world) == []
    assert_exactly_once(world)


def test_an_answer_that_does_not_account_for_every_task_leaves_them_in_doubt(
    world: World,
) -> None:
    world.fault(method="POST", path=r"/issue/bulk$", status=201, apply=True, count=1,
                body={"issues": [], "errors": []})
    first = sync(world)
    assert len(first.in_doubt) == DECISIONS and first.created == []
    second = sync(world)
    assert len(second.found) == DECISIONS and second.created == []
    assert_exactly_once(world)


def test_a_partial_answer_records_the_made_and_fails_the_refused_alone(world: World) -> None:
    """Oleg's account is unknown to Jira: his 10 elements are refused, the other 40 made."""
    config = world.app().config
    people = config.people
    world.config_changes = {"people": [
        p.model_copy(update={"jira": "nobody-here"}) if p.id == "oleg" else p for p in people]}
    first = sync(world)
    assert len(first.created) == DECISIONS - 10 and len(first.failed) == 10
    assert all("assignee" in (r.error or "") for r in first.failed)
    assert len(task_links(world)) == DECISIONS - 10
    world.config_changes = {}  # the account fixed: the refused ones are made on the next run
    second = sync(world)
    assert len(second.created) == 10 and second.found == []
    assert_exactly_once(world)


def test_a_create_screen_without_links_makes_the_tasks_then_links_them(world: World) -> None:
    option(world, create_screen_links=False)
    report = sync(world)
    assert len(report.created) == DECISIONS and report.failed == []
    sent = [s.rsplit("/", 1)[1] for s in create_requests(world)]
    assert sent == ["bulk", "bulk", *["issueLink"] * DECISIONS]  # refused whole, then unlinked
    assert_exactly_once(world)


def test_more_than_50_drafts_go_50_a_request(world: World) -> None:
    meeting: ItemRef = world.meeting  # type: ignore[attr-defined]
    app = world.app()
    try:
        tracker = app.tracker
        assert isinstance(tracker, JiraAdapter)
        drafts = [TaskDraft(title=f"T{i}", description=Document(intro=()), owner_account=None,
                            due=None, marker=f"planerka-d-{i:010x}", meeting=meeting)
                  for i in range(MAX_BULK + 10)]
        results = tracker.create_tasks(drafts)
    finally:
        app.store.close()
    assert all(isinstance(r, Created) and r.linked for r in results)
    assert len({r.ref.key for r in results if isinstance(r, Created)}) == MAX_BULK + 10
    assert [s.rsplit("/", 1)[1] for s in create_requests(world)] == ["bulk", "bulk"]


# --- the sandbox: a create's issue links, as Jira takes them ----------------------------------


def create_issue(world: World, update: object) -> requests.Response:
    cloud = world.flavour == "jira-cloud"
    api = 3 if cloud else 2
    auth = {"auth": ("anna@example.org", "t")} if cloud else {
        "headers": {"Authorization": "Bearer t"}}
    return requests.post(f"{world.server.url}/rest/api/{api}/issue", timeout=5, json={
        "fields": {"project": {"key": "MKT"}, "summary": "x", "issuetype": {"name": "Task"}},
        "update": update}, **auth)  # type: ignore[arg-type]


def test_the_sandbox_links_an_issue_in_its_create_and_refuses_a_bad_link(world: World) -> None:
    meeting: ItemRef = world.meeting  # type: ignore[attr-defined]
    add = {"type": {"name": "Relates"}, "outwardIssue": {"key": meeting.key}}
    made = create_issue(world, {"issuelinks": [{"add": add}]})
    assert made.status_code == 201, made.text
    links = [link for link in world.state()["links"].values()
             if link["inward"] == made.json()["id"] and link["outward"] == meeting.id]
    assert len(links) == 1
    missing = {**add, "outwardIssue": {"key": "MKT-999"}}
    gone = create_issue(world, {"issuelinks": [{"add": missing}]})
    assert gone.status_code == 400 and "issuelinks" in gone.json()["errors"]
    both = create_issue(world, {"issuelinks": [{"add": {**add, "inwardIssue": {"key": "MKT-1"}}}]})
    assert both.status_code == 400
    option(world, create_screen_links=False)
    off = create_issue(world, {"issuelinks": [{"add": add}]})
    assert off.status_code == 400
    assert "not on the appropriate screen" in off.json()["errors"]["issuelinks"]
