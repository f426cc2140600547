"""A second, brand-new state DB against a board or project that already has meetings and tasks
(a `sync` run from another directory, a fresh container, a lost volume) creates nothing and
erases nothing: it adopts what the tracker holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from planerka_sync.service.status import sync
from tests.integration.test_decisions import (
    AFTER_MEETING,
    after_meeting,
    confirmation_comments,
    tasks,
    write_two_decisions,
)
from tests.integration.test_prepare import World, meeting_items, writes

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
