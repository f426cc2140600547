"""Bodies too long for the tracker are condensed, never refused: a comment over Jira's 32,767
characters or Trello's 16,384 keeps its headline and first lines, and the whole text is attached.
The sandbox refuses oversize bodies the way the real services do, so a 400 here would fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from planerka_sync.domain.document import BulletList, Document, Section, Text, paragraph
from planerka_sync.render.budget import adf_size, utf16_size
from planerka_sync.service.comments import post_once
from planerka_sync.store.models import CommentKind, Meeting
from tests.integration.test_decisions import after_meeting
from tests.integration.test_prepare import World, jira_text, meeting_items

LINES = 2_000  # ~120 KB of text: several times either limit


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with after_meeting(request.param, f"sqlite:///{tmp_path / 'state.db'}") as world:
        yield world


def long_report() -> Document:
    lines = tuple((Text(f"Решение номер {n}: подготовить материалы для кампании — @ivan"),)
                  for n in range(LINES))
    return Document(intro=(paragraph("Выполнено 120 из 2000 · просрочено 40"),),
                    sections=(Section("open", "Открытые решения", (BulletList(lines),)),))


def stored_comments(world: World) -> list[object]:
    state = world.state()
    if world.flavour == "trello":
        return [a["data"]["text"] for a in state["actions"].values()
                if a["type"] == "commentCard"]
    return [c["body"] for c in state["comments"].values()]


def size(world: World, body: object) -> int:
    if world.flavour == "jira-cloud":
        return adf_size(body)
    return utf16_size(str(body)) if world.flavour == "trello" else len(str(body))


def test_a_comment_too_long_is_condensed_and_attached_whole(world: World) -> None:
    app = world.app()
    try:
        with app.store.session() as session:
            meeting = session.scalars(select(Meeting)).one()
        ref = world.meeting  # type: ignore[attr-defined]
        assert post_once(app, meeting, ref, CommentKind.PROGRESS, long_report(), None)
        assert not post_once(app, meeting, ref, CommentKind.PROGRESS, long_report(), None)
    finally:
        app.store.close()
    [body] = stored_comments(world)
    limit = 16_384 if world.flavour == "trello" else 32_767
    assert size(world, body) <= limit
    text = str(body) if world.flavour == "trello" else jira_text(body)
    assert "Выполнено 120 из 2000" in text and "Решение номер 0:" in text
    assert "полностью во вложении planerka-progress-marketing-weekly-20261130.html" in text
    assert "planerka:progress:" in text  # the tag a re-run finds it by survives the cut
    [item] = meeting_items(world)
    assert "planerka-progress-marketing-weekly-20261130.html" in item["attachments"]
