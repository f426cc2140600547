"""Decisions written on the meeting item, as a team member writes them, become tasks once."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import decisions as decisions_service
from planerka_sync.service.decisions import sync_decisions
from tests.integration.test_prepare import World, jira_auth, writes

AFTER_MEETING = datetime(2026, 11, 30, 9, tzinfo=UTC)  # Monday noon in Moscow
AUTH = {"key": "k", "token": "t"}
SETTLE_AFTER = timedelta(minutes=15)  # tracker.settle_after's default


@contextmanager
def after_meeting(flavour: str, db_url: str) -> Iterator[World]:
    """A sandbox with the meeting prepared, the clock just after it (decisions are read)."""
    server = SandboxServer(make_emulator(flavour)).start()
    try:
        world = World(flavour, server, db_url)
        [outcome] = world.prepare()
        world.meeting = outcome.ref  # type: ignore[attr-defined]
        world.now = AFTER_MEETING
        yield world
    finally:
        server.stop()


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with after_meeting(request.param, f"sqlite:///{tmp_path / 'state.db'}") as world:
        yield world


def sync(world: World) -> list[decisions_service.MeetingReport]:
    app = world.app()
    try:
        return sync_decisions(app)
    finally:
        app.store.close()


# --- writing decisions the way a team member does, through the tracker's API -----------------


def trello_member_id(world: World, username: str) -> str:
    member = requests.get(f"{world.server.url}/1/members/{username}", params=AUTH, timeout=5)
    return member.json()["id"]


def add_decision_item(world: World, text: str, member: str | None = None,
                      due: str | None = None) -> None:
    """Trello: an item of the meeting card's "Решения и сроки" checklist."""
    card = world.meeting.id  # type: ignore[attr-defined]
    checklists = requests.get(f"{world.server.url}/1/cards/{card}/checklists", params=AUTH,
                              timeout=5).json()
    target = next(c for c in checklists if c["name"] == "Решения и сроки")
    params = {**AUTH, "name": text}
    if member:
        params["idMember"] = trello_member_id(world, member)
    if due:
        params["due"] = due
    requests.post(f"{world.server.url}/1/checklists/{target['id']}/checkItems", params=params,
                  timeout=5).raise_for_status()


def add_task_item(world: World, text: str, account: str, due: date) -> None:
    """Jira Cloud: an ADF task item, with mention and date nodes, under the decisions heading."""
    key = world.meeting.key  # type: ignore[attr-defined]
    url = f"{world.server.url}/rest/api/3/issue/{key}"
    issue = requests.get(url, params={"fields": "description"}, headers=jira_auth(world),
                         timeout=5).json()
    doc = issue["fields"]["description"]
    stamp = str(int(datetime(due.year, due.month, due.day, tzinfo=UTC).timestamp() * 1000))
    item = {"type": "taskItem", "attrs": {"localId": f"d-{len(doc['content'])}", "state": "TODO"},
            "content": [{"type": "text", "text": f"{text} "},
                        {"type": "mention", "attrs": {"id": account, "text": "@someone"}},
                        {"type": "text", "text": " "},
                        {"type": "date", "attrs": {"timestamp": stamp}}]}
    doc["content"].append({"type": "taskList", "attrs": {"localId": "decisions"},
                           "content": [item]})
    requests.put(url, json={"fields": {"description": doc}}, headers=jira_auth(world),
                 timeout=5).raise_for_status()


def comment(world: World, text: str) -> None:
    ref = world.meeting  # type: ignore[attr-defined]
    if world.flavour == "trello":
        requests.post(f"{world.server.url}/1/cards/{ref.id}/actions/comments",
                      params={**AUTH, "text": text}, timeout=5).raise_for_status()
        return
    body: object = text
    if world.flavour == "jira-cloud":
        body = {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]}
            for line in text.splitlines()]}
    api = "3" if world.flavour == "jira-cloud" else "2"
    requests.post(f"{world.server.url}/rest/api/{api}/issue/{ref.key}/comment",
                  json={"body": body}, headers=jira_auth(world), timeout=5).raise_for_status()


def write_two_decisions(world: World) -> None:
    """One native decision (check item / task item / comment) and one comment line."""
    if world.flavour == "trello":
        add_decision_item(world, "Запустить новогоднюю рассылку", member="ivan",
                          due="2026-12-05T12:00:00.000Z")
    elif world.flavour == "jira-cloud":
        add_task_item(world, "Запустить новогоднюю рассылку", "557058:ivan", date(2026, 12, 5))
    else:
        comment(world, "Решение: Запустить новогоднюю рассылку [~ivan] до 5 декабря")
    comment(world, "Обсудили SEO.\nРешение: Подготовить отчёт по SEO, отв. Олег, до 11.12")


# --- reading the tasks back through the tracker's API ------------------------------------------


def tasks(world: World) -> list[dict]:
    if world.flavour == "trello":
        board = requests.get(f"{world.server.url}/1/members/me/boards",
                             params={**AUTH, "lists": "open"}, timeout=5).json()[0]
        todo = next(lst for lst in board["lists"] if lst["name"] == "To Do")
        cards = requests.get(f"{world.server.url}/1/lists/{todo['id']}/cards",
                             params={**AUTH, "members": "true", "attachments": "true"},
                             timeout=5).json()
        return [{"title": c["name"], "owner": [m["username"] for m in c["members"]],
                 "due": (c["due"] or "")[:10], "text": c["desc"],
                 "links": [a["url"] for a in c["attachments"]]} for c in cards]
    fields = ["summary", "assignee", "duedate", "labels", "issuelinks"]
    query = {"jql": "labels = planerka ORDER BY created ASC", "fields": fields}
    if world.flavour == "jira-cloud":
        found = requests.post(f"{world.server.url}/rest/api/3/search/jql", json=query,
                              headers=jira_auth(world), timeout=5).json()["issues"]
    else:
        found = requests.get(f"{world.server.url}/rest/api/2/search",
                             params={**query, "fields": ",".join(fields)},
                             headers=jira_auth(world), timeout=5).json()["issues"]
    meeting_key = world.meeting.key  # type: ignore[attr-defined]
    return [{"title": i["fields"]["summary"],
             "owner": [(i["fields"]["assignee"] or {}).get("accountId")
                       or (i["fields"]["assignee"] or {}).get("name")],
             "due": i["fields"]["duedate"] or "",
             "links": [(link.get("outwardIssue") or link.get("inwardIssue") or {}).get("key")
                       for link in i["fields"].get("issuelinks", [])]}
            for i in found if i["key"] != meeting_key]


def owner(world: World, person: str) -> str:
    return f"557058:{person}" if world.flavour == "jira-cloud" else person


def confirmation_comments(world: World) -> list[str]:
    ref = world.meeting  # type: ignore[attr-defined]
    if world.flavour == "trello":
        actions = requests.get(f"{world.server.url}/1/cards/{ref.id}/actions",
                               params={**AUTH, "filter": "commentCard"}, timeout=5).json()
        texts = [a["data"]["text"] for a in actions]
    else:
        api = "3" if world.flavour == "jira-cloud" else "2"
        comments = requests.get(f"{world.server.url}/rest/api/{api}/issue/{ref.key}/comment",
                                headers=jira_auth(world), timeout=5).json()["comments"]
        texts = [str(c["body"]) for c in comments]
    return [t for t in texts if "planerka:confirmation" in t]


# --- the tests ---------------------------------------------------------------------------------


def test_decisions_become_assigned_dated_linked_tasks(world: World) -> None:
    write_two_decisions(world)
    [report] = sync(world)
    assert len(report.created) == 2
    found = sorted(tasks(world), key=lambda t: t["title"])
    assert [t["title"] for t in found] == ["Запустить новогоднюю рассылку",
                                           "Подготовить отчёт по SEO"]
    assert [t["owner"] for t in found] == [[owner(world, "ivan")], [owner(world, "oleg")]]
    assert [t["due"] for t in found] == ["2026-12-05", "2026-12-11"]
    meeting = world.meeting  # type: ignore[attr-defined]
    for task in found:
        assert (meeting.url if world.flavour == "trello" else meeting.key) in task["links"]
    [confirmation] = confirmation_comments(world)
    assert "Запустить новогоднюю рассылку" in confirmation and "SEO" in confirmation
    # Each task's title once: as its link on Trello, after its key on Jira.
    assert confirmation.count("Запустить новогоднюю рассылку") == 1


def test_a_second_sync_creates_nothing_and_edits_no_comment(world: World) -> None:
    write_two_decisions(world)
    sync(world)
    world.clear_log()
    [report] = sync(world)
    assert report.created == [] and not report.comment_posted
    assert writes(world.log()) == []
    assert len(tasks(world)) == 2 and len(confirmation_comments(world)) == 1


def test_more_decisions_edit_the_same_confirmation_comment(world: World) -> None:
    write_two_decisions(world)
    sync(world)
    comment(world, "Решение: Согласовать бюджет на январь, отв. Мария, срок 15.12")
    [report] = sync(world)
    assert [r.title for r in report.created] == ["Согласовать бюджет на январь"]
    [confirmation] = confirmation_comments(world)
    assert "Согласовать бюджет на январь" in confirmation
    assert len(tasks(world)) == 3


def test_a_line_that_cannot_be_parsed_is_reported_then_retried_when_fixed(world: World) -> None:
    comment(world, "Решение: Переснять видео для рекламы, отв. Петя")
    [report] = sync(world)
    assert report.created == [] and len(report.failed) == 1
    [confirmation] = confirmation_comments(world)
    assert "Переснять видео для рекламы" in confirmation and "Петя" in confirmation
    comment(world, "Решение: Переснять видео для рекламы, отв. Дмитрий")
    [report] = sync(world)
    assert [r.owner_person_id for r in report.created] == ["dmitry"]


def test_a_dropped_create_then_a_rerun_leaves_one_task(world: World) -> None:
    comment(world, "Решение: Обновить баннеры на сайте, отв. Иван, до 4 декабря")
    create = r"/1/cards$" if world.flavour == "trello" else r"/issue$"
    world.fault(method="POST", path=create, drop=True, count=1)
    sync(world)  # the task is created, the answer is lost
    sync(world)
    assert [t["title"] for t in tasks(world)] == ["Обновить баннеры на сайте"]


def test_a_server_error_then_a_rerun_leaves_one_task(world: World) -> None:
    comment(world, "Решение: Обновить баннеры на сайте, отв. Иван, до 4 декабря")
    create = r"/1/cards$" if world.flavour == "trello" else r"/issue$"
    world.fault(method="POST", path=create, status=503, count=1)
    [report] = sync(world)
    assert report.created == [] and report.failed == [] and len(report.in_doubt) == 1
    [report] = sync(world)  # a 503 may hide an applied create: not sent again at once
    assert report.created == [] and tasks(world) == []
    world.now += SETTLE_AFTER
    [report] = sync(world)  # the tracker has had its time and still shows no task
    assert len(report.created) == 1
    assert [t["title"] for t in tasks(world)] == ["Обновить баннеры на сайте"]


def test_killed_between_create_and_commit_then_a_rerun_leaves_one_task(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    comment(world, "Решение: Обновить баннеры на сайте, отв. Иван, до 4 декабря")

    def die(*_: object) -> None:
        raise KeyboardInterrupt  # the process is killed right after the tracker created it

    monkeypatch.setattr(decisions_service, "_record_task", die)
    with pytest.raises(KeyboardInterrupt):
        sync(world)
    monkeypatch.undo()
    sync(world)
    assert [t["title"] for t in tasks(world)] == ["Обновить баннеры на сайте"]


def comment_ids(world: World) -> list[str]:
    ref = world.meeting  # type: ignore[attr-defined]
    if world.flavour == "trello":
        actions = requests.get(f"{world.server.url}/1/cards/{ref.id}/actions",
                               params={**AUTH, "filter": "commentCard"}, timeout=5).json()
        return [a["id"] for a in actions if "planerka:confirmation" not in a["data"]["text"]]
    api = "3" if world.flavour == "jira-cloud" else "2"
    comments = requests.get(f"{world.server.url}/rest/api/{api}/issue/{ref.key}/comment",
                            headers=jira_auth(world), timeout=5).json()["comments"]
    return [c["id"] for c in comments if "planerka:confirmation" not in str(c["body"])]


def edit_comment(world: World, comment_id: str, text: str) -> None:
    ref = world.meeting  # type: ignore[attr-defined]
    if world.flavour == "trello":
        requests.put(f"{world.server.url}/1/actions/{comment_id}/text",
                     params={**AUTH, "value": text}, timeout=5).raise_for_status()
        return
    body: object = text
    if world.flavour == "jira-cloud":
        body = {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}]}
    api = "3" if world.flavour == "jira-cloud" else "2"
    requests.put(f"{world.server.url}/rest/api/{api}/issue/{ref.key}/comment/{comment_id}",
                 json={"body": body}, headers=jira_auth(world), timeout=5).raise_for_status()


def delete_comment(world: World, comment_id: str) -> None:
    ref = world.meeting  # type: ignore[attr-defined]
    if world.flavour == "trello":
        url = f"{world.server.url}/1/actions/{comment_id}"
        requests.delete(url, params=AUTH, timeout=5).raise_for_status()
        return
    api = "3" if world.flavour == "jira-cloud" else "2"
    requests.delete(f"{world.server.url}/rest/api/{api}/issue/{ref.key}/comment/{comment_id}",
                    headers=jira_auth(world), timeout=5).raise_for_status()


def test_dry_run_plans_and_writes_nothing(world: World) -> None:
    write_two_decisions(world)
    world.clear_log()
    app = world.app()
    try:
        [report] = sync_decisions(app, dry_run=True)
    finally:
        app.store.close()
    assert sorted(r.title for r in report.planned) == ["Запустить новогоднюю рассылку",
                                                       "Подготовить отчёт по SEO"]
    assert writes(world.log()) == [] and tasks(world) == []
    assert len(sync(world)[0].created) == 2  # and the real run still creates both


def test_an_edited_decision_updates_its_task(world: World) -> None:
    comment(world, "Решение: Обновить баннеры на сайте, отв. Иван, до 4 декабря")
    sync(world)
    [comment_id] = comment_ids(world)
    edit_comment(world, comment_id, "Решение: Обновить баннеры на сайте, отв. Мария, до 8 декабря")
    [report] = sync(world)
    assert [r.title for r in report.updated] == ["Обновить баннеры на сайте"]
    [task] = tasks(world)
    assert task["owner"] == [owner(world, "maria")] and task["due"] == "2026-12-08"


def test_a_removed_line_leaves_its_task_and_is_mentioned(world: World) -> None:
    comment(world, "Решение: Обновить баннеры на сайте, отв. Иван, до 4 декабря")
    sync(world)
    [comment_id] = comment_ids(world)
    delete_comment(world, comment_id)
    [report] = sync(world)
    assert [r.title for r in report.removed] == ["Обновить баннеры на сайте"]
    assert [t["title"] for t in tasks(world)] == ["Обновить баннеры на сайте"]
    [confirmation] = confirmation_comments(world)
    assert "Убраны из планёрки" in confirmation


def test_trello_check_item_shows_its_task_link(tmp_path: Path) -> None:
    server = SandboxServer(make_emulator("trello")).start()
    try:
        world = World("trello", server, f"sqlite:///{tmp_path / 'state.db'}")
        [outcome] = world.prepare()
        world.meeting, world.now = outcome.ref, AFTER_MEETING  # type: ignore[attr-defined]
        add_decision_item(world, "Запустить рассылку", member="ivan",
                          due="2026-12-05T12:00:00.000Z")
        [report] = sync(world)
        [row] = report.created
        items = requests.get(f"{server.url}/1/cards/{outcome.ref.id}/checklists", params=AUTH,
                             timeout=5).json()
        names = [i["name"] for c in items if c["name"] == "Решения и сроки"
                 for i in c["checkItems"]]
        assert names == [f"Запустить рассылку → {row.task_url}"]
        assert sync(world)[0].created == []  # the annotated line is the same decision
    finally:
        server.stop()


def test_a_rejected_task_fails_alone_with_its_reason(world: World) -> None:
    write_two_decisions(world)
    if world.flavour == "trello":
        world.fault(method="POST", path=r"/1/cards$", status=400, count=1,
                    body="invalid value for idMembers")
    else:  # one bulk create: Jira refuses Oleg's element (an account it does not know) alone
        config = world.app().config
        people = [p.model_copy(update={"jira": "nobody-here"}) if p.id == "oleg" else p
                  for p in config.people]
        world.config_changes = {"people": people}
    [report] = sync(world)
    assert len(report.created) == 1 and len(report.failed) == 1
    reason = report.failed[0].error or ""
    assert "400" in reason and ("idMembers" in reason or "assignee" in reason)
    [confirmation] = confirmation_comments(world)
    assert report.failed[0].text in confirmation


def test_an_owner_without_an_account_here_is_answered_not_left_unassigned(world: World) -> None:
    config = world.app().config
    field = "trello" if world.flavour == "trello" else "jira"
    people = [p.model_copy(update={field: None}) if p.id == "oleg" else p for p in config.people]
    world.config_changes = {"people": people}
    comment(world, "Решение: Подготовить отчёт по SEO, отв. Олег, до 11.12")
    [report] = sync(world)
    assert report.created == [] and len(report.failed) == 1
    assert f"people[].{field}" in (report.failed[0].error or "")
    [confirmation] = confirmation_comments(world)
    assert "Олег" in confirmation and "нет аккаунта" in confirmation
    assert tasks(world) == []


def test_an_impossible_date_is_answered_with_its_reason(world: World) -> None:
    comment(world, "Решение: Обновить баннеры на сайте, отв. Иван, до 31.02")
    [report] = sync(world)
    assert report.created == [] and len(report.failed) == 1
    assert "31.02" in (report.failed[0].error or "")
    assert tasks(world) == []


def comment_as(world: World, person: str, text: str) -> None:
    """A comment written by ``person`` with their own account, not planerka-sync's."""
    ref = world.meeting  # type: ignore[attr-defined]
    if world.flavour == "trello":
        emulator = world.server.emulator
        with emulator.lock:  # the sandbox's credentials: planerka's token and the person's
            emulator.db["credentials"] = [
                {"key": "sandbox-key", "token": "sandbox-token", "member": "anna"},
                {"key": "sandbox-key", "token": f"{person}-t", "member": person},
                {"key": "k", "token": "t", "member": "anna"}]  # this file's other helpers
        requests.post(f"{world.server.url}/1/cards/{ref.id}/actions/comments",
                      params={"key": "sandbox-key", "token": f"{person}-t", "text": text},
                      timeout=5).raise_for_status()
        return
    cloud = world.flavour == "jira-cloud"
    user = f"{person}@example.org" if cloud else person
    auth = base64.b64encode(f"{user}:secret".encode()).decode()
    body: object = text if not cloud else {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.splitlines()]}
    requests.post(f"{world.server.url}/rest/api/{3 if cloud else 2}/issue/{ref.key}/comment",
                  json={"body": body}, headers={"Authorization": f"Basic {auth}"},
                  timeout=5).raise_for_status()


def test_a_pasted_planerka_tag_does_not_hide_a_decision(world: World) -> None:
    write_two_decisions(world)
    sync(world)  # planerka's own confirmation comment now exists, tagged
    [own] = confirmation_comments(world)
    tag = next(line for line in own.splitlines() if "planerka:confirmation:" in line)
    comment_as(world, "maria", "Решение: Сделать пост о распродаже, отв. Мария, до 10.12\n"
                               + tag.strip())
    [report] = sync(world)
    assert [r.title for r in report.created] == ["Сделать пост о распродаже"]
    assert len(confirmation_comments(world)) == 2  # hers, quoting the tag, and ours, edited


def test_invisible_direction_controls_never_reach_a_title(world: World) -> None:
    comment(world, "Решение: Обновить\u202e баннеры\u200b на сайте\u2066, отв. Иван, до 4.12")
    [report] = sync(world)
    assert [r.title for r in report.created] == ["Обновить баннеры на сайте"]
