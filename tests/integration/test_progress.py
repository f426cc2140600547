"""The progress comment for a seeded history: on time, late, reopened, deleted, overdue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests

from planerka_sync.domain.progress import OnTime
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service.decisions import sync_decisions
from planerka_sync.service.kpi import record
from planerka_sync.service.progress import progress
from planerka_sync.service.report import html_report
from planerka_sync.service.status import pull_status
from tests.integration.test_decisions import AUTH, comment
from tests.integration.test_prepare import World, jira_auth, jira_text, meeting_items, writes
from tests.integration.test_status import decisions, delete, move, run


def at(day: int, hour: int = 9, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    server = SandboxServer(make_emulator(request.param)).start()
    try:
        world = World(request.param, server, f"sqlite:///{tmp_path / 'state.db'}")
        seed_history(world)
        yield world
    finally:
        server.stop()


def tracker_clock(world: World, moment: datetime) -> None:
    """The sandbox's own clock: when a person moves a task, the tracker stamps it."""
    world.server.emulator.now = lambda: moment.timestamp()  # type: ignore[method-assign]


def seed_history(world: World) -> None:
    [first] = world.prepare()  # Monday 30 Nov
    world.meeting = first.ref  # type: ignore[attr-defined]
    world.now = at(30, 9, 11)
    tracker_clock(world, world.now)
    comment(world, "\n".join([
        "Решение: Обновить баннеры, отв. Иван, до 2 декабря",
        "Решение: Подготовить отчёт по SEO, отв. Олег, до 4 декабря",
        "Решение: Запустить рассылку, отв. Мария, до 10 декабря",
        "Решение: Переделать лендинг, отв. Дмитрий, до 3 декабря",
        "Решение: Снять видео, отв. Анна, до 4 декабря",
    ]))
    run(world, sync_decisions)
    tasks = decisions(world)
    tracker_clock(world, at(1))
    move(world, tasks["Обновить баннеры"], "Done")  # on time
    tracker_clock(world, at(6))
    move(world, tasks["Подготовить отчёт по SEO"], "Done")  # two days late
    move(world, tasks["Запустить рассылку"], "Done")
    # The daemon's pull sees it done... (a full one: the sandbox's clock is days ahead of the
    # wall clock here, and an incremental pull's cutoff is counted back from the wall clock)
    run(world, pull_status, full=True)
    move(world, tasks["Запустить рассылку"], "In Progress")  # ...then reopened
    delete(world, tasks["Переделать лендинг"])
    run(world, pull_status)
    world.now = at(5)
    world.prepare()  # the next meeting, Monday 7 Dec
    world.now = at(7, 6)  # an hour before it


def second_meeting_comments(world: World) -> tuple[dict, list[str]]:
    """The second meeting item and the texts of its comments."""
    second = max(meeting_items(world), key=lambda i: i["title"][-16:-6][::-1])
    if world.flavour == "trello":
        actions = requests.get(f"{world.server.url}/1/cards/{second['id']}/actions",
                               params={**AUTH, "filter": "commentCard"}, timeout=5).json()
        return second, [a["data"]["text"] for a in actions]
    api = "3" if world.flavour == "jira-cloud" else "2"
    found = requests.get(f"{world.server.url}/rest/api/{api}/issue/{second['key']}/comment",
                         headers=jira_auth(world), timeout=5).json()["comments"]
    return second, [jira_text(c["body"]) if isinstance(c["body"], str) else str(c["body"])
                    for c in found]


def progress_comments(world: World) -> list[str]:
    _, texts = second_meeting_comments(world)
    return [t for t in texts if "planerka:progress" in t]


def test_progress_comment_tells_what_became_of_each_decision(world: World) -> None:
    [outcome] = run(world, progress)
    summary = outcome.summary
    assert (summary.done, summary.in_progress, summary.not_started) == (2, 1, 1)
    assert summary.deleted == 1 and summary.overdue == 1
    # Due in the week before 7 Dec: banners on time; the SEO report late; the video overdue and
    # open, so late too. The mailing is due on the 10th, the landing page was deleted.
    assert summary.on_time == OnTime(on_time=1, late=2)
    [text] = progress_comments(world)
    assert "в срок 1 из 3 (33" in text  # then "\u00a0%)" (escaped in Jira Cloud's ADF repr)
    for phrase in ["Обновить баннеры", "Подготовить отчёт по SEO", "с опозданием на 2 дня",
                   "Запустить рассылку", "переоткрыта", "Переделать лендинг", "удалена",
                   "Снять видео", "просрочено на 3 дня"]:
        assert phrase in text, phrase


def test_a_rerun_edits_the_same_comment_or_nothing(world: World) -> None:
    run(world, progress)
    world.clear_log()
    [again] = run(world, progress)
    assert not again.posted
    assert writes(world.log()) == []
    tasks = decisions(world)
    tracker_clock(world, at(7, 5))
    move(world, tasks["Снять видео"], "Done")
    [changed] = run(world, progress)
    assert changed.posted
    [text] = progress_comments(world)  # still one comment, now saying it is done
    assert "просрочено на 3 дня" not in text


def test_dry_run_posts_nothing(world: World) -> None:
    world.clear_log()
    [outcome] = run(world, progress, dry_run=True)
    assert outcome.summary.done == 2 and not outcome.posted
    assert writes(world.log()) == [] and progress_comments(world) == []


def test_next_agenda_reviews_every_open_decision_with_owner(world: World) -> None:
    second = max(meeting_items(world), key=lambda i: i["title"][-16:-6][::-1])
    text = second["text"]
    review = text.split("Разбор решений прошлых планёрок", 1)[1].split("1. Трафик сайта")[0]
    assert "Запустить рассылку" in review and "Снять видео" in review
    assert "Обновить баннеры" not in review  # done: not carried over
    assert "открытых решений: 1" in text  # beside the owners at the round table


def kpi_comments_and_charts(world: World) -> tuple[list[str], list[str]]:
    second, texts = second_meeting_comments(world)
    charts = [name for name in second["attachments"] if name.endswith(".png")]
    return [t for t in texts if "planerka:kpi" in t], charts


def record_kpis(world: World, day: date, **values: float) -> None:
    app = world.app()
    try:
        record(app, "marketing-weekly", values, day, "manual")
    finally:
        app.store.close()


def test_kpi_summary_with_one_chart_replaced_not_duplicated(world: World) -> None:
    record_kpis(world, date(2026, 11, 29), sessions=18000, conversions=450)
    record_kpis(world, date(2026, 12, 6), sessions=20000, conversions=500)
    [outcome] = run(world, progress)
    assert outcome.kpi is not None and outcome.kpi.chart is not None
    [text], charts = kpi_comments_and_charts(world)
    assert "Визиты" in text and "20" in text and "+11,1" in text
    assert "Доля решений, выполненных в срок" in text or "в срок" in text
    assert charts == ["planerka-kpi-marketing-weekly-20261207.png"]
    world.clear_log()
    run(world, progress)
    assert writes(world.log()) == []
    record_kpis(world, date(2026, 12, 6), sessions=21000, conversions=500)
    run(world, progress)
    [text], charts = kpi_comments_and_charts(world)
    assert "+16,7" in text
    assert charts == ["planerka-kpi-marketing-weekly-20261207.png"]


def test_html_report_has_throughput_kpis_and_an_embedded_chart(world: World) -> None:
    record_kpis(world, date(2026, 11, 29), sessions=18000, conversions=450)
    record_kpis(world, date(2026, 12, 6), sessions=20000, conversions=500)
    run(world, progress)  # its full status pull tells the report the landing page was deleted
    page = run(world, html_report)
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")
    assert "30.11.2026" in page and "07.12.2026" in page  # a row per meeting
    throughput = page.split("<td>30.11.2026</td>", 1)[1].split("</tr>", 1)[0]
    # Decisions, tasks, done; none was due in the week before 30.11, so no on-time figure.
    assert [int(n) for n in re.findall(r">(\d+)<", throughput)] == [5, 5, 2]
    assert throughput.rstrip().endswith("<td>—</td>")
    second = page.split("07.12.2026</td>", 1)[1].split("</tr>", 1)[0]
    assert "1 из 3 (33\u00a0%)" in second  # the same figure as the progress comment
    assert "Визиты" in page and "data:image/png;base64," in page
    assert "<script" not in page
