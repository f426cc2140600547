"""Exactly once whatever the tracker answers: 50 decisions give exactly 50 tasks, each with one
link back to its meeting, under the faults a real tracker and the gateways in front of it
produce — errors after the write was applied, writes applied after the client gave up, search
that lags behind, answers that never arrive — on Trello, Jira Cloud and Jira Data Center.

The state is read back from the sandbox itself (``/_sandbox/state``): every task the tracker
holds, not only what our client can page through.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service.decisions import MeetingReport, sync_decisions
from tests.integration.gateway import Gateway
from tests.integration.test_decisions import (
    AFTER_MEETING,
    SETTLE_AFTER,
    after_meeting,
    comment,
    confirmation_comments,
)
from tests.integration.test_prepare import World

DECISIONS = 50
PEOPLE = ["Иван", "Мария", "Олег", "Дмитрий", "Анна"]
MARKER = re.compile(r"planerka-d-[0-9a-f]+")


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with after_meeting(request.param, f"sqlite:///{tmp_path / 'state.db'}") as world:
        write_decisions(world)
        yield world


def write_decisions(world: World) -> None:
    """Fifty decision lines in five comments, as a secretary types them during the meeting."""
    for part in range(5):
        lines = [f"Решение: Задача номер {part * 10 + i + 1}, отв. {PEOPLE[i % 5]}, до 20.12"
                 for i in range(10)]
        comment(world, "\n".join(lines))


def sync(world: World) -> MeetingReport:
    app = world.app()
    try:
        [report] = sync_decisions(app)
        return report
    finally:
        app.store.close()


def create_path(world: World) -> str:
    return r"^/1/cards$" if world.flavour == "trello" else r"/issue(/bulk)?$"


def hit(world: World, faults: int) -> int:
    """How many of the 50 creates ``faults`` failed create requests answer for: Trello makes
    one card a request, Jira 50 issues a request (issue/bulk)."""
    return faults if world.flavour == "trello" else DECISIONS


def link_path(world: World) -> str:
    return r"^/1/cards/[^/]+/attachments$" if world.flavour == "trello" else r"/issueLink$"


def advance_sandbox(world: World, seconds: float) -> None:
    requests.post(f"{world.server.url}/_sandbox/clock", json={"advance": seconds},
                  timeout=5).raise_for_status()


def task_links(world: World) -> dict[str, int]:
    """Marker of every task the tracker holds -> how many links it has to the meeting."""
    state = world.state()
    meeting = world.meeting  # type: ignore[attr-defined]
    if world.flavour == "trello":
        links: Counter[str] = Counter()
        markers: dict[str, str] = {}
        for card in state["cards"].values():
            found = MARKER.search(card.get("desc") or "")
            if found and not card.get("closed"):
                markers[card["id"]] = found.group(0)
        for attachment in state["attachments"].values():
            if attachment.get("idCard") in markers and attachment.get("url") == meeting.url:
                links[attachment["idCard"]] += 1
        return _by_marker(markers, links)
    markers = {}
    for issue in state["issues"].values():
        labels = issue.get("labels") or issue.get("fields", {}).get("labels") or []
        found = next((label for label in labels if MARKER.fullmatch(label)), None)
        if found:
            markers[issue["id"]] = found
    links = Counter(link["inward"] for link in state["links"].values()
                    if link["outward"] == meeting.id)
    return _by_marker(markers, links)


def _by_marker(markers: dict[str, str], links: Counter[str]) -> dict[str, int]:
    counted = Counter(markers.values())
    duplicated = [marker for marker, n in counted.items() if n > 1]
    assert duplicated == [], f"tasks made twice: {duplicated}"
    return {marker: links[item] for item, marker in markers.items()}


def assert_exactly_once(world: World) -> None:
    links = task_links(world)
    assert len(links) == DECISIONS
    assert sorted(set(links.values())) == [1], "every task links back to its meeting once"


# --- the faults ---------------------------------------------------------------------------------


def test_a_failing_back_link_is_retried_until_every_task_has_one(world: World) -> None:
    # Three link writes applied and then answered 500, as a gateway error after the write does.
    world.fault(method="POST", path=link_path(world), status=500, apply=True, count=3)
    first = sync(world)
    assert len(first.created) == DECISIONS  # the tasks exist: recorded at once
    second = sync(world)
    assert second.created == [] and second.found == []
    assert_exactly_once(world)


def test_a_back_link_refused_three_times_is_made_on_a_later_run(world: World) -> None:
    world.fault(method="POST", path=link_path(world), status=500, count=3)
    sync(world)
    sync(world)
    assert_exactly_once(world)


def test_creates_applied_then_answered_502_are_found_not_made_again(world: World) -> None:
    world.fault(method="POST", path=create_path(world), status=502, apply=True, count=5)
    first = sync(world)
    assert len(first.created) == DECISIONS - hit(world, 5)
    assert len(first.in_doubt) == hit(world, 5)
    assert first.failed == []
    [waiting] = confirmation_comments(world)
    assert "ждём подтверждения" in waiting
    second = sync(world)
    assert len(second.found) == hit(world, 5) and second.created == []
    [confirmed] = confirmation_comments(world)
    assert "ждём подтверждения" not in confirmed
    assert_exactly_once(world)


def test_dropped_answers_are_found_not_made_again(world: World) -> None:
    world.fault(method="POST", path=create_path(world), drop=True, count=5)
    world.fault(method="POST", path=link_path(world), drop=True, count=2)
    sync(world)
    second = sync(world)
    assert len(second.found) == hit(world, 5) and second.created == []
    assert_exactly_once(world)


def test_a_create_applied_after_135_s_is_waited_for(world: World) -> None:
    world.fault(method="POST", path=create_path(world), status=504, apply_after=135, count=1)
    first = sync(world)
    assert len(first.in_doubt) == hit(world, 1)
    world.now += timedelta(seconds=60)
    second = sync(world)  # the tracker does not show it yet: still in doubt, not sent again
    assert second.created == [] and len(second.in_doubt) == hit(world, 1)
    assert len(task_links(world)) == DECISIONS - hit(world, 1)
    advance_sandbox(world, 135)
    world.now += timedelta(seconds=90)
    third = sync(world)
    assert len(third.found) == hit(world, 1) and third.created == []
    assert_exactly_once(world)
    world.now += SETTLE_AFTER
    assert sync(world).created == []


def test_search_lagging_150_s_behind_applied_creates(world: World) -> None:
    requests.post(f"{world.server.url}/_sandbox/options", json={"search_lag_seconds": 150},
                  timeout=5).raise_for_status()
    world.fault(method="POST", path=create_path(world), status=502, apply=True, count=5)
    sync(world)
    world.now += timedelta(seconds=60)
    sync(world)
    advance_sandbox(world, 150)
    world.now += timedelta(seconds=120)
    sync(world)
    world.now += SETTLE_AFTER
    sync(world)
    assert_exactly_once(world)


def test_a_create_that_never_landed_is_made_after_the_settle_time(world: World) -> None:
    faults = 2 if world.flavour == "trello" else 1  # Jira: all 50 in that one bulk request
    world.fault(method="POST", path=create_path(world), status=504, count=faults)
    first = sync(world)
    assert len(first.in_doubt) == hit(world, faults)
    world.now += SETTLE_AFTER - timedelta(seconds=1)
    assert sync(world).created == []
    world.now += timedelta(seconds=2)
    assert len(sync(world).created) == hit(world, faults)
    assert_exactly_once(world)


@dataclass
class Behind:
    """What a World needs of its server (its URL), here the gateway in front of the sandbox."""

    url: str


@pytest.mark.parametrize("flavour", ["trello", "jira-cloud", "jira-dc"])
def test_a_gateway_answering_502_after_forwarding_creates_costs_no_duplicate(
    flavour: str, tmp_path: Path
) -> None:
    server = SandboxServer(make_emulator(flavour)).start()
    gateway = Gateway(server.url).start()
    try:
        db = f"sqlite:///{tmp_path / 'state.db'}"
        world = World(flavour, Behind(gateway.url), db)  # type: ignore[arg-type]
        [outcome] = world.prepare()
        world.meeting, world.now = outcome.ref, AFTER_MEETING  # type: ignore[attr-defined]
        write_decisions(world)
        gateway.bad_gateway_after("POST", create_path(world), count=5)
        first = sync(world)
        requests_swallowed = 5 if flavour == "trello" else 1  # Jira: one bulk create of 50
        assert gateway.swallowed == requests_swallowed and first.failed == []
        assert len(first.in_doubt) == hit(world, 5)
        second = sync(world)
        assert len(second.found) == hit(world, 5) and second.created == []
        assert_exactly_once(world)
    finally:
        gateway.stop()
        server.stop()
