"""Board-wide card reads page as Trello's do: at most 1,000 cards an answer (a nested ``cards=``
over that is refused), ``before`` the oldest card id seen; the status pull stays complete on a
board with 12,000 archived cards and 1,500 open tasks and costs one request on a small one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.sandbox.trello import SEED_EPOCH
from planerka_sync.store.memo import StoreMemo
from planerka_sync.trackers.trello import TASK_MARKER
from tests.integration.test_prepare import World

AUTH = {"key": "k", "token": "t"}
OPEN_TASKS = 1500
ARCHIVED = 12_000
ARCHIVED_TASK_EVERY = 40  # every 40th archived card is a task (300 of them), the rest are not


def marker(n: int) -> str:
    return f"planerka-d-{n:010x}"


def bulk_cards(server: SandboxServer) -> None:
    """1,500 open task cards and 12,000 archived cards written straight into the emulator's
    db (creating them through the API would take minutes); ids are time-ordered as Trello's."""
    for n in range(OPEN_TASKS + ARCHIVED):
        archived = n >= OPEN_TASKS
        put_card(server, n, archived=archived,
                 is_task=not archived or n % ARCHIVED_TASK_EVERY == 0)


def put_card(server: SandboxServer, n: int, *, archived: bool = False, is_task: bool = True
             ) -> None:
    """Card ``n`` in the To Do list, made ``n`` seconds after the seed's board (a bigger ``n``
    is a newer card, with a bigger id)."""
    emulator: Any = server.emulator
    with emulator.lock:
        board = next(iter(emulator.db["boards"].values()))
        todo = next(lst for lst in emulator.db["lists"].values()
                    if lst["idBoard"] == board["id"] and lst["name"] == "To Do")
        card_id = f"{SEED_EPOCH + 60 + n:08x}{n + 1:016x}"
        emulator.db["cards"][card_id] = {
            "id": card_id, "name": f"Card {n}",
            "desc": f"Решение\n\n`planerka:{marker(n)}`" if is_task else "notes",
            "closed": archived, "idBoard": board["id"], "idList": todo["id"],
            "idMembers": [], "idLabels": [], "idChecklists": [], "idAttachments": [],
            "comments": 0, "due": None, "start": None, "dueComplete": False,
            "dueReminder": None, "pos": float(n + 1) * 16384, "idShort": 10_000 + n,
            "shortLink": card_id[-8:], "dateLastActivity": "2024-01-02T00:00:00.000Z",
            "idAttachmentCover": None, "subscribed": False, "isTemplate": False,
        }


@pytest.fixture
def world(trello: SandboxServer, tmp_path: Path) -> World:
    return World("trello", trello, f"sqlite:///{tmp_path / 'state.db'}")


def states(world: World, since: datetime | None) -> dict[str, Any]:
    app = world.app()
    try:
        return {s.marker: s for s in app.tracker.task_states(since)}
    finally:
        app.store.close()


def card_reads(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in log if e["method"] == "GET" and "/cards" in e["path"]
            and e["path"].startswith("/1/boards/")]


def board_id(world: World) -> str:
    return str(requests.get(f"{world.server.url}/1/members/me/boards",
                            params={**AUTH, "fields": "name"}, timeout=10).json()[0]["id"])


def test_a_big_board_pulls_every_task_in_pages_of_at_most_1000(world: World) -> None:
    bulk_cards(world.server)
    found = states(world, None)
    archived_tasks = {marker(n) for n in range(OPEN_TASKS, OPEN_TASKS + ARCHIVED)
                      if n % ARCHIVED_TASK_EVERY == 0}
    open_tasks = {marker(n) for n in range(OPEN_TASKS)}
    assert open_tasks | archived_tasks <= set(found)
    assert {found[m].category for m in archived_tasks} == {"deleted"}
    assert {found[m].category for m in open_tasks} == {"new"}

    log = world.log()
    pages = card_reads(log)
    assert pages and all(int(e["query"]["limit"][0]) <= 1000 for e in pages)
    assert all("all" not in e["query"].get("cards", []) for e in log)
    assert [e for e in log if e["status"] >= 400] == []  # nested cards are never tried here
    # the board's id by its name (remembered), the board + 2 pages of open cards + 13 of
    # archived ones (12 full, then a short one)
    assert len(log) == 1 + 1 + 2 + 13, [(e["path"], e["query"]) for e in log]

    world.clear_log()
    states(world, None)  # the board and its open cards in the windows planned: one /batch
    assert [e["path"] for e in world.log()].count("/1/batch") == 1
    assert len(world.log()) == 1 + 13


def test_a_tick_on_a_big_board_reads_only_the_cards_archived_since_the_cursor(
    world: World,
) -> None:
    bulk_cards(world.server)
    states(world, None)
    cursor = datetime.now(UTC) - timedelta(seconds=5)
    open_cards = sorted(c for c, card in world.server.emulator.db["cards"].items()
                        if not card["closed"])
    for card_id in open_cards[:12]:  # two /batch requests' worth
        requests.put(f"{world.server.url}/1/cards/{card_id}",
                     params={**AUTH, "closed": "true"}, timeout=10).raise_for_status()
    world.clear_log()
    found = states(world, cursor)
    archived = {TASK_MARKER.search(world.server.emulator.db["cards"][c]["desc"]).group(1)
                for c in open_cards[:12]}
    assert {found[m].category for m in archived} == {"deleted"}
    assert len(found) == OPEN_TASKS  # 1,488 open ones and the 12 archived meanwhile
    log = world.log()  # the board and its open cards (one /batch), the 12 archived by id (two)
    assert [e["path"] for e in log] == ["/1/batch"] * 3, [(e["path"], e["query"]) for e in log]


def open_tasks(found: dict[str, Any]) -> set[str]:
    return {m for m, state in found.items() if state.category != "deleted"}


def test_a_tick_on_a_big_board_is_one_request_and_reads_what_paging_reads(world: World) -> None:
    bulk_cards(world.server)
    paged = states(world, None)  # pages the open cards, and plans the windows
    world.clear_log()
    windowed = states(world, datetime.now(UTC) - timedelta(minutes=1))
    assert [e["path"] for e in world.log()] == ["/1/batch"]
    assert open_tasks(windowed) == open_tasks(paged) == {marker(n) for n in range(OPEN_TASKS)}
    assert all(windowed[m] == paged[m] for m in open_tasks(paged))


def test_a_window_grown_past_a_page_is_paged_on(world: World) -> None:
    bulk_cards(world.server)
    states(world, None)
    for n in range(30_000, 30_600):  # 600 new tasks: the newest window now holds over 1,000
        put_card(world.server, n)
    world.clear_log()
    found = states(world, datetime.now(UTC) - timedelta(minutes=1))
    assert open_tasks(found) == {marker(n) for n in [*range(OPEN_TASKS), *range(30_000, 30_600)]}
    log = world.log()
    assert [e["path"] for e in log] == ["/1/batch", f"/1/boards/{board_id(world)}/cards/open"]
    assert "since" in log[1]["query"] and "before" in log[1]["query"]
    world.clear_log()
    states(world, datetime.now(UTC) - timedelta(minutes=1))  # planned again: one request
    assert [e["path"] for e in world.log()] == ["/1/batch"]


def test_a_plan_gone_bad_gives_way_to_plain_reads(world: World) -> None:
    bulk_cards(world.server)
    states(world, None)
    key = "trello:open-card-windows:Marketing"
    app = world.app()
    try:  # a remembered plan edited by hand: windows that could skip cards are never read
        memo = StoreMemo(app.store)
        older, newer = memo[key].split(",")[0].split(":")
        memo[key] = f"{newer}:{older}"
    finally:
        app.store.close()
    world.clear_log()
    found = states(world, datetime.now(UTC) - timedelta(minutes=1))
    assert open_tasks(found) == {marker(n) for n in range(OPEN_TASKS)}
    paths = [e["path"] for e in world.log()]
    assert "/1/batch" not in paths and paths[0] == f"/1/boards/{board_id(world)}"
    world.clear_log()
    states(world, datetime.now(UTC) - timedelta(minutes=1))  # planned anew
    assert [e["path"] for e in world.log()] == ["/1/batch"]


def test_a_normal_tick_on_a_small_board_is_one_request(world: World) -> None:
    # The first pull: the board's id by its name, the board, 1 page of open cards (how many
    # there are is not known yet) and 1 of archived ones; both facts are remembered.
    states(world, None)
    assert len(world.log()) == 4
    world.clear_log()
    states(world, None)  # a full pull: the board with its open cards, 1 page of archived
    assert len(world.log()) == 2
    world.clear_log()
    states(world, datetime.now(UTC) - timedelta(minutes=1))
    [read] = world.log()
    assert read["path"] == f"/1/boards/{board_id(world)}"
    assert read["query"]["cards"] == ["open"]


def test_a_small_board_tick_sees_a_task_archived_since_the_cursor(world: World) -> None:
    states(world, None)  # learns the board is small
    created = requests.post(f"{world.server.url}/1/cards", params={
        **AUTH, "idList": todo_list(world), "name": "Task",
        "desc": f"Решение\n\n`planerka:{marker(7)}`"}, timeout=10).json()
    cursor = datetime.now(UTC) - timedelta(seconds=5)
    assert states(world, cursor)[marker(7)].category == "new"
    requests.put(f"{world.server.url}/1/cards/{created['id']}",
                 params={**AUTH, "closed": "true"}, timeout=10).raise_for_status()
    world.clear_log()
    assert states(world, cursor)[marker(7)].category == "deleted"
    assert [e["path"] for e in world.log()] == [f"/1/boards/{board_id(world)}", "/1/batch"]


def todo_list(world: World) -> str:
    lists = requests.get(f"{world.server.url}/1/boards/{board_id(world)}/lists",
                         params=AUTH, timeout=10).json()
    return str(next(lst["id"] for lst in lists if lst["name"] == "To Do"))


# --- the sandbox's side -----------------------------------------------------------------------


def test_the_sandbox_refuses_nested_cards_over_1000_and_caps_listings(world: World) -> None:
    bulk_cards(world.server)
    board = board_id(world)
    url = f"{world.server.url}/1/boards/{board}"
    nested = requests.get(url, params={**AUTH, "cards": "open"}, timeout=30)
    assert nested.status_code == 400
    assert nested.json()["error"] == "API_TOO_MANY_CARDS_REQUESTED"
    too_big = requests.get(f"{url}/cards/closed", params={**AUTH, "limit": "1001"}, timeout=30)
    assert too_big.status_code == 400
    unpaged = requests.get(f"{url}/cards/closed", params={**AUTH, "fields": "id"}, timeout=30)
    assert len(unpaged.json()) == 1000  # capped

    seen: list[str] = []
    params = {**AUTH, "fields": "closed", "limit": "1000"}
    while True:
        page = requests.get(f"{url}/cards/closed", params=params, timeout=30).json()
        assert len(page) <= 1000 and all(c["closed"] for c in page)
        seen += [c["id"] for c in page]
        if len(page) < 1000:
            break
        params["before"] = min(c["id"] for c in page)
    assert len(seen) == len(set(seen)) == ARCHIVED


def test_the_sandbox_keeps_and_copies_template_cards(world: World) -> None:
    todo = todo_list(world)
    template = requests.post(f"{world.server.url}/1/cards",
                             params={**AUTH, "idList": todo, "name": "T"}, timeout=10).json()
    assert template["isTemplate"] is False
    updated = requests.put(f"{world.server.url}/1/cards/{template['id']}",
                           params={**AUTH, "isTemplate": "true"}, timeout=10).json()
    assert updated["isTemplate"] is True
    copy = requests.post(f"{world.server.url}/1/cards", params={
        **AUTH, "idList": todo, "idCardSource": template["id"], "keepFromSource": "checklists",
        "name": "Copy"}, timeout=10).json()
    assert copy["isTemplate"] is False
