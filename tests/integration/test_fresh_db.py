"""A second, brand-new state DB against a board or project that already has meetings and tasks
(a `sync` run from another directory, a fresh container, a lost volume) creates nothing and
erases nothing: it adopts what the tracker holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from planerka_sync.service.status import sync
from tests.integration.test_decisions import (
    AFTER_MEETING,
    after_meeting,
    confirmation_comments,
    tasks,
    write_two_decisions,
)
from tests.integration.test_prepare import World, jira_auth, meeting_items, writes

BEFORE_SECOND = datetime(2026, 12, 6, 12, tzinfo=UTC)  # the Sunday before the next Monday
TITLES = ["Запустить новогоднюю рассылку", "Подготовить отчёт по SEO"]


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The first DB's history: a meeting, two decisions made tasks, the next meeting prepared
    with both in its review section."""
    with after_meeting(request.param, f"sqlite:///{tmp_path / 'first.db'}") as world:
        write_two_decisions(world)
        run_sync(world)
        world.now = BEFORE_SECOND
        world.prepare()
        yield world


def run_sync(world: World, db_url: str | None = None) -> None:
    app = world.app(db_url)
    try:
        sync(app)
    finally:
        app.store.close()


def task_titles(world: World) -> list[str]:
    """Task titles; the Jira search also returns the second meeting's issue."""
    return sorted(t["title"] for t in tasks(world) if not t["title"].startswith("Планёрка"))


def second_meeting_text(world: World) -> str:
    items = sorted(meeting_items(world), key=lambda item: str(item["due"]))
    assert len(items) == 2
    return str(items[1]["text"])


def test_a_new_db_creates_no_task_and_erases_no_review(world: World, tmp_path: Path) -> None:
    review_before = second_meeting_text(world)
    assert all(title in review_before for title in TITLES)
    fresh = f"sqlite:///{tmp_path / 'elsewhere' / 'new.db'}"
    world.now = AFTER_MEETING  # the decisions' meeting is still collecting
    world.clear_log()
    run_sync(world, fresh)
    created = [w for w in writes(world.log())
               if w.startswith("POST") and w.endswith(("/1/cards", "/issue", "/issue/bulk"))]
    assert created == [], "no card or issue was created"
    assert task_titles(world) == TITLES
    assert len(confirmation_comments(world)) == 1  # found and kept, not posted again
    world.now = BEFORE_SECOND
    world.prepare(db_url=fresh)
    assert task_titles(world) == TITLES
    review_after = second_meeting_text(world)
    assert all(title in review_after for title in TITLES)
    assert review_after == review_before


def test_prepare_first_with_a_new_db_keeps_the_review(world: World, tmp_path: Path) -> None:
    review_before = second_meeting_text(world)
    world.prepare(db_url=f"sqlite:///{tmp_path / 'new.db'}")
    assert second_meeting_text(world) == review_before
    assert len(meeting_items(world)) == 2 and task_titles(world) == TITLES


def add_unplaceable_task(world: World, n: int) -> None:
    """A task with our marker that no meeting item lists (made from another DB's command line,
    or its decision line deleted since): no adoption can place it."""
    marker, url = f"planerka-d-{n:010x}", world.server.url
    if world.flavour == "trello":
        auth = {"key": "k", "token": "t"}
        board = requests.get(f"{url}/1/members/me/boards", timeout=5,
                             params={**auth, "fields": "name", "lists": "open"}).json()[0]
        todo = next(lst for lst in board["lists"] if lst["name"] == "To Do")
        requests.post(f"{url}/1/cards", timeout=5, params={
            **auth, "idList": todo["id"], "name": f"Задача {n}",
            "desc": f"Решение\n\n`planerka:{marker}`"}).raise_for_status()
        return
    api = "3" if world.flavour == "jira-cloud" else "2"
    requests.post(f"{url}/rest/api/{api}/issue", headers=jira_auth(world), timeout=5, json={
        "fields": {"project": {"key": "MKT"}, "summary": f"Задача {n}",
                   "issuetype": {"name": "Task"}, "labels": ["planerka", marker]}}
                  ).raise_for_status()


def test_tasks_no_meeting_lists_bring_the_adoption_back_once_per_new_one(
        world: World, tmp_path: Path) -> None:
    """The first sync of a new DB adopts, then its pull meets a task no meeting lists: the
    adoption had just looked, so the next runs cost what a plain tick costs. A new such task
    later is news: the run after the pull that met it lists the meetings once more."""
    add_unplaceable_task(world, 1)
    fresh = f"sqlite:///{tmp_path / 'new.db'}"

    def tick() -> int:
        world.now += timedelta(minutes=2)  # within the full-pull interval: incremental pulls
        world.clear_log()
        run_sync(world, fresh)
        return len(world.log())

    first, second, third = tick(), tick(), tick()
    assert second == third < first, (first, second, third)
    add_unplaceable_task(world, 2)
    assert tick() == third  # its pull meets the new task and notes it
    assert tick() > third  # adopts again: the series' meetings listed once more
    assert tick() == third
