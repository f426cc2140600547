"""Due times over real HTTP: a Trello task is due at the end of the team's working day on its
date in the team's zone (18:00 Moscow = 15:00Z by default, `working_day_end` otherwise), and a
due read back from Trello is the team's date, so nothing changes on the next sync. Jira keeps
the date alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import requests

from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service.decisions import MeetingReport
from tests.integration.test_decisions import (
    AUTH,
    add_decision_item,
    comment,
    sync,
    tasks,
)
from tests.integration.test_prepare import World, writes

AFTER_MEETING = datetime(2026, 11, 30, 9, tzinfo=UTC)  # Monday 12:00 Moscow, 04:00 New York


def meeting_world(server: SandboxServer, tmp_path: Path, flavour: str = "trello",
                  timezone: str | None = None, **config_changes: object) -> World:
    """The meeting of 30 Nov prepared (in ``timezone``), the clock just after it in Moscow."""
    world = World(flavour, server, f"sqlite:///{tmp_path / 'state.db'}", timezone=timezone,
                  config_changes=dict(config_changes))
    [outcome] = world.prepare()
    world.meeting = outcome.ref  # type: ignore[attr-defined]
    world.now = AFTER_MEETING
    return world


def task_cards(world: World) -> list[dict]:
    """The task cards of the "To Do" list: name and due exactly as Trello holds them."""
    board = requests.get(f"{world.server.url}/1/members/me/boards",
                         params={**AUTH, "lists": "open"}, timeout=5).json()[0]
    todo = next(lst for lst in board["lists"] if lst["name"] == "To Do")
    return requests.get(f"{world.server.url}/1/lists/{todo['id']}/cards",
                        params={**AUTH, "fields": "name,due"}, timeout=5).json()


def read_back(world: World) -> dict[str, date | None]:
    """Task title -> due, as the status pull reads them from Trello."""
    app = world.app()
    try:
        return {state.title: state.due for state in app.tracker.task_states(None)}
    finally:
        app.store.close()


def card_writes(world: World) -> list[dict]:
    return [e for e in writes(world.log()) if e["path"].startswith("/1/cards")]


def only_report(reports: list[MeetingReport]) -> MeetingReport:
    [report] = reports
    return report


def test_a_task_is_due_at_six_in_the_evening_moscow_time(
    trello_sandbox: SandboxServer, tmp_path: Path
) -> None:
    world = meeting_world(trello_sandbox, tmp_path)
    comment(world, "Решение: Подготовить отчёт по SEO, отв. Олег, до 11.12")
    assert len(only_report(sync(world)).created) == 1
    [card] = task_cards(world)
    assert card["due"] == "2026-12-11T15:00:00.000Z"  # 18:00 MSK (+03:00)
    assert read_back(world) == {"Подготовить отчёт по SEO": date(2026, 12, 11)}


def test_the_due_time_follows_working_day_end(
    trello_sandbox: SandboxServer, tmp_path: Path
) -> None:
    world = meeting_world(trello_sandbox, tmp_path, working_day_end=time(20, 30))
    comment(world, "Решение: Подготовить отчёт по SEO, отв. Олег, до 11.12")
    sync(world)
    [card] = task_cards(world)
    assert card["due"] == "2026-12-11T17:30:00.000Z"  # 20:30 MSK


def test_an_edited_due_date_moves_to_the_end_of_that_day(
    trello_sandbox: SandboxServer, tmp_path: Path
) -> None:
    world = meeting_world(trello_sandbox, tmp_path, working_day_end=time(19, 0))
    add_decision_item(world, "Запустить рассылку", member="ivan", due="2026-12-05T09:00:00.000Z")
    sync(world)
    [card] = task_cards(world)
    assert card["due"] == "2026-12-05T16:00:00.000Z"  # the item's date, 19:00 MSK
    item = checklist_item(world, "Запустить рассылку")
    requests.put(f"{world.server.url}/1/cards/{world.meeting.id}/checkItem/{item['id']}",  # type: ignore[attr-defined]
                 params={**AUTH, "due": "2026-12-08T21:30:00.000Z"},  # 9 Dec, 00:30 Moscow
                 timeout=5).raise_for_status()
    assert [r.title for r in only_report(sync(world)).updated] == ["Запустить рассылку"]
    [card] = task_cards(world)
    assert card["due"] == "2026-12-09T16:00:00.000Z"


def checklist_item(world: World, text: str) -> dict:
    card = world.meeting.id  # type: ignore[attr-defined]
    checklists = requests.get(f"{world.server.url}/1/cards/{card}/checklists", params=AUTH,
                              timeout=5).json()
    return next(i for c in checklists for i in c["checkItems"] if i["name"].startswith(text))


def test_new_york_working_late_is_tomorrow_in_utc_and_reads_back_as_today(
    trello_sandbox: SandboxServer, tmp_path: Path
) -> None:
    """23:00 in New York is 04:00Z the next day: created that way, read back as the team's
    date, and the next sync finds nothing to change."""
    world = meeting_world(trello_sandbox, tmp_path, timezone="America/New_York",
                          working_day_end=time(23, 0))
    # Set in Trello by a person in New York: 11 Dec, 22:30 there, 12 Dec in UTC.
    add_decision_item(world, "Запустить рассылку", member="ivan", due="2026-12-12T03:30:00.000Z")
    comment(world, "Решение: Подготовить отчёт по SEO, отв. Олег, до 11.12")
    assert len(only_report(sync(world)).created) == 2
    assert sorted(card["due"] for card in task_cards(world)) == [
        "2026-12-12T04:00:00.000Z", "2026-12-12T04:00:00.000Z"]
    assert read_back(world) == {"Запустить рассылку": date(2026, 12, 11),
                                "Подготовить отчёт по SEO": date(2026, 12, 11)}
    world.clear_log()
    report = only_report(sync(world))
    assert report.created == [] and report.updated == []
    assert card_writes(world) == []


def test_tasks_made_by_earlier_versions_at_noon_utc_still_match(
    trello_sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Existing tasks are due at 12:00Z: their date in Moscow is the same, so a sync touches
    nothing and the status pull reads the date they always had."""
    world = meeting_world(trello_sandbox, tmp_path)
    add_decision_item(world, "Запустить рассылку", member="ivan", due="2026-12-05T12:00:00.000Z")
    sync(world)
    [card] = task_cards(world)
    requests.put(f"{world.server.url}/1/cards/{card['id']}",
                 params={**AUTH, "due": "2026-12-05T12:00:00.000Z"}, timeout=5).raise_for_status()
    world.clear_log()
    report = only_report(sync(world))
    assert report.created == [] and report.updated == [] and card_writes(world) == []
    assert read_back(world) == {"Запустить рассылку": date(2026, 12, 5)}


def test_jira_keeps_the_date_alone(jira_cloud_sandbox: SandboxServer, tmp_path: Path) -> None:
    world = meeting_world(jira_cloud_sandbox, tmp_path, flavour="jira-cloud",
                          timezone="America/New_York", working_day_end=time(23, 0))
    comment(world, "Решение: Подготовить отчёт по SEO, отв. Олег, до 11.12")
    sync(world)
    assert [t["due"] for t in tasks(world)] == ["2026-12-11"]
