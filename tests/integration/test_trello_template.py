"""The Trello agenda template is a Trello template card (``isTemplate``) kept open in the
meetings list; meeting cards are copied from it, never mistaken for it, and a board holding the
archived template of earlier versions moves to a template card once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from planerka_sync.sandbox.server import SandboxServer
from tests.integration.test_prepare import FIRST, SECOND, World, trello_meetings

AUTH = {"key": "k", "token": "t"}


@pytest.fixture
def world(trello: SandboxServer, tmp_path: Path) -> World:
    return World("trello", trello, f"sqlite:///{tmp_path / 'state.db'}")


def api(world: World, method: str, path: str, **params: Any) -> Any:
    response = requests.request(method, f"{world.server.url}/1{path}",
                                params={**AUTH, **params}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def meetings_list(world: World) -> str:
    board = api(world, "GET", "/members/me/boards", fields="name", lists="open")[0]
    return str(next(lst["id"] for lst in board["lists"] if lst["name"] == "Планёрки"))


def list_cards(world: World) -> list[dict[str, Any]]:
    """The meetings list's open cards, template cards included."""
    return list(api(world, "GET", f"/lists/{meetings_list(world)}/cards",
                    fields="name,closed,isTemplate"))


def templates(world: World) -> list[dict[str, Any]]:
    return [c for c in list_cards(world) if c["isTemplate"]]


def card_creates(world: World) -> list[dict[str, Any]]:
    return [e for e in world.log() if e["method"] == "POST" and e["path"] == "/1/cards"]


def test_the_template_is_an_open_template_card_in_the_meetings_list(world: World) -> None:
    world.prepare(on=FIRST)
    [template] = templates(world)
    assert template["name"].startswith("planerka-template:") and not template["closed"]
    [meeting] = trello_meetings(world)
    assert meeting["id"] != template["id"]
    assert len(meeting["checklists"]["1. Трафик сайта"]) == 5  # copied from the template
    copy = api(world, "GET", f"/cards/{meeting['id']}", fields="isTemplate")
    assert copy["isTemplate"] is False  # a card made from a template is an ordinary card


def test_the_next_meeting_copies_the_template_in_one_request(world: World) -> None:
    world.prepare(on=FIRST)
    [template] = templates(world)
    world.clear_log()
    world.prepare(on=SECOND)
    assert len(card_creates(world)) == 1
    assert len(templates(world)) == 1 and len(trello_meetings(world)) == 2
    second = next(m for m in trello_meetings(world) if m["due"].startswith(SECOND.isoformat()))
    [copied] = api(world, "GET", f"/cards/{second['id']}/actions", filter="copyCard")
    assert copied["data"]["cardSource"]["id"] == template["id"]


def test_an_archived_template_of_earlier_versions_migrates_once(world: World) -> None:
    world.prepare(on=FIRST)
    [template] = templates(world)
    # What earlier versions left: the same template as a plain archived card.
    api(world, "PUT", f"/cards/{template['id']}", isTemplate="false", closed="true")
    assert templates(world) == []

    world.prepare(on=FIRST)  # refreshes the meeting: the template is not needed
    world.prepare(on=SECOND)  # a new card: a template card is built in the old one's place
    [migrated] = templates(world)
    assert migrated["id"] != template["id"]
    old = api(world, "GET", f"/cards/{template['id']}", fields="closed,isTemplate")
    assert old == {"id": template["id"], "closed": True, "isTemplate": False}  # left as it was

    world.clear_log()
    world.prepare(on=SECOND)
    world.prepare(on=SECOND + (SECOND - FIRST))
    assert len(card_creates(world)) == 1  # only the third meeting: no template built again
    assert [c["id"] for c in templates(world)] == [migrated["id"]]
    assert len(trello_meetings(world)) == 3  # no meeting card doubled


def test_a_teams_own_template_card_is_never_taken_for_the_meeting(world: World) -> None:
    [outcome] = world.prepare(on=FIRST, dry_run=True)
    title = outcome.plan.draft.title
    # The team keeps its own Trello template named like the meeting.
    own = api(world, "POST", "/cards", idList=meetings_list(world), name=title)
    api(world, "PUT", f"/cards/{own['id']}", isTemplate="true")
    world.prepare(on=FIRST)
    [meeting] = trello_meetings(world)
    assert meeting["id"] != own["id"] and meeting["title"] == title
    assert api(world, "GET", f"/cards/{own['id']}", fields="desc")["desc"] == ""  # untouched


def test_a_new_template_version_retires_the_previous_one(world: World) -> None:
    world.prepare(on=FIRST)
    [template] = templates(world)
    # The template's content changed (another version): its digest no longer matches.
    api(world, "PUT", f"/cards/{template['id']}", name=template["name"][:-10] + "0123456789")
    world.prepare(on=SECOND)
    [current] = templates(world)
    assert current["id"] != template["id"]
    old = api(world, "GET", f"/cards/{template['id']}", fields="closed")
    assert old["closed"] is True
