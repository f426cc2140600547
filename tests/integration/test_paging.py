"""A meeting with hundreds of comments is read whole: Trello's nested ``actions`` and Jira's
embedded ``comment`` field hold only the newest/first page, the rest must be paged for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from planerka_sync.domain.model import MeetingSnapshot
from planerka_sync.trackers.trello import TrelloAdapter
from tests.integration.test_decisions import AUTH, comment, sync, tasks, world
from tests.integration.test_prepare import World, jira_auth

__all__ = ["world"]  # the decisions fixture: a prepared meeting, the clock after it

DECISIONS = [f"Решение: Задача номер {n}, отв. Иван, до 20.12" for n in range(1, 6)]
LONG = 450


def chatter(world: World, count: int) -> None:
    """Ordinary discussion, as a busy meeting item collects it."""
    for n in range(count):
        comment(world, f"Обсуждаем пункт {n}")


def read(world: World) -> MeetingSnapshot:
    app = world.app()
    try:
        return app.tracker.read_meeting(world.meeting)  # type: ignore[attr-defined]
    finally:
        app.store.close()


def comment_reads(world: World) -> list[str]:
    """The requests that fetched the meeting's comments, from the sandbox's log."""
    ref = world.meeting  # type: ignore[attr-defined]
    found = []
    for e in world.log():
        if e["method"] != "GET":
            continue
        if world.flavour == "trello":
            reads = e["path"] == f"/1/cards/{ref.id}" and "actions" in e["query"]
            reads |= e["path"] == f"/1/cards/{ref.id}/actions"
        else:
            reads = e["path"].endswith(f"/issue/{ref.key}/comment")
            reads |= (e["path"].endswith(f"/issue/{ref.key}")
                      and "comment" in ",".join(e["query"].get("fields", [])))
        if reads:
            found.append(f"{e['path']}?{e['query']}")
    return found


def titles(world: World) -> list[str]:
    return sorted(t["title"] for t in tasks(world))


@pytest.fixture
def long_meeting(world: World) -> Iterator[World]:
    """Decisions in the first comments and around the 300th, talk between and after: Trello's
    first page (the newest) misses the early ones, Jira's (the oldest) the later ones."""
    for line in DECISIONS[:3]:
        comment(world, line)
    chatter(world, 297)
    for line in DECISIONS[3:]:
        comment(world, line)
    chatter(world, LONG - 300 - len(DECISIONS[3:]))
    yield world


def test_every_comment_of_a_long_meeting_is_read(long_meeting: World) -> None:
    world = long_meeting
    world.clear_log()
    snapshot = read(world)
    assert len(snapshot.comments) == LONG
    assert len({c.id for c in snapshot.comments}) == LONG
    assert all(any(line in c.text for c in snapshot.comments) for line in DECISIONS)
    # One first read, then few pages: Trello 1 of 1000, Jira 4 of 100 after the embedded 100.
    assert len(comment_reads(world)) == (2 if world.flavour == "trello" else 5)


def test_decisions_in_early_comments_of_a_long_meeting_become_tasks(long_meeting: World) -> None:
    [report] = sync(long_meeting)
    assert sorted(d.title for d in report.created) == sorted(t.split(": ")[1].split(",")[0]
                                                            for t in DECISIONS)
    assert report.removed == []
    assert titles(long_meeting) == sorted(d.title for d in report.created)


def test_decisions_stay_when_later_talk_pushes_them_off_the_first_page(world: World) -> None:
    for line in DECISIONS:
        comment(world, line)
    [first] = sync(world)
    assert len(first.created) == 5
    chatter(world, LONG)
    [second] = sync(world)
    assert second.removed == [] and second.created == []
    assert len(tasks(world)) == 5


def test_trello_pages_backwards_until_the_oldest_comment(
    long_meeting: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Smaller pages than Trello's 1000 walk several ``before`` cursors, none read twice."""
    if long_meeting.flavour != "trello":
        pytest.skip("Trello's backwards paging")
    monkeypatch.setattr(TrelloAdapter, "COMMENTS_PAGE", 100)
    long_meeting.clear_log()
    snapshot = read(long_meeting)
    assert len({c.id for c in snapshot.comments}) == len(snapshot.comments) == LONG
    # 200 nested, then 100 + 100 + 50 (a short page ends it).
    assert len(comment_reads(long_meeting)) == 4


def test_a_normal_meeting_costs_one_read(world: World) -> None:
    comment(world, "Решение: Обновить баннеры на сайте, отв. Иван, до 4 декабря")
    comment(world, "Обсудили SEO.")
    comment(world, "Решение: Подготовить отчёт по SEO, отв. Олег, до 11.12")
    world.clear_log()
    snapshot = read(world)
    assert len(snapshot.comments) == 3
    assert len(comment_reads(world)) == 1
    world.clear_log()
    [report] = sync(world)
    assert len(report.created) == 2
    assert len(comment_reads(world)) == 1


def test_the_sandbox_pages_as_the_real_apis_do(world: World) -> None:
    """Trello nests the newest 50 comments by default (``actions_limit`` at most 1000); Jira
    embeds the first 100 with the true ``total`` and its comment endpoint clamps pages to 100."""
    chatter(world, 120)
    ref = world.meeting  # type: ignore[attr-defined]
    url = world.server.url
    if world.flavour == "trello":
        card = f"{url}/1/cards/{ref.id}"
        nested = requests.get(card, params={**AUTH, "actions": "commentCard"}, timeout=5).json()
        assert len(nested["actions"]) == 50
        assert requests.get(card, params={**AUTH, "actions": "commentCard",
                                          "actions_limit": "1001"}, timeout=5).status_code == 400
        newest = requests.get(f"{card}/actions", params={**AUTH, "filter": "commentCard",
                                                         "limit": "100"}, timeout=5).json()
        older = requests.get(f"{card}/actions", params={
            **AUTH, "filter": "commentCard", "limit": "100", "before": newest[-1]["id"]},
            timeout=5).json()
        assert [len(newest), len(older)] == [100, 20]
        assert not {a["id"] for a in newest} & {a["id"] for a in older}
        return
    api = f"{url}/rest/api/{'3' if world.flavour == 'jira-cloud' else '2'}/issue/{ref.key}"
    field = requests.get(api, params={"fields": "comment"}, headers=jira_auth(world),
                         timeout=5).json()["fields"]["comment"]
    assert (len(field["comments"]), field["total"]) == (100, 120)
    page = requests.get(f"{api}/comment", params={"startAt": "10", "maxResults": "500"},
                        headers=jira_auth(world), timeout=5).json()
    assert (page["startAt"], page["maxResults"], len(page["comments"]), page["total"]) == (
        10, 100, 100, 120)
