"""`prepare` end to end: the real adapters and client libraries against each sandbox over HTTP."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar

from planerka_sync import service
from planerka_sync.demo import demo_config
from planerka_sync.domain.cadence import build_schedule
from planerka_sync.errors import InDoubt, TransientTrackerError
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.store import open_store
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy

# Thursday 26 Nov 2026, noon UTC: the next weekly Monday meeting is 30 Nov, 10:00 Moscow.
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
FIRST = date(2026, 11, 30)
SECOND = date(2026, 12, 7)
KPI_RU = ["1. Трафик сайта", "2. Конверсии", "3. CAC и LTV", "4. ROI", "5. Рекламный бюджет",
          "6. Социальные сети", "7. Email-маркетинг", "8. SEO", "9. UX/UI",
          "10. Аналитика и отчётность"]
SECTIONS_RU = ["Разбор решений прошлых планёрок", *KPI_RU, "Темы от команды", "Круглый стол",
               "Решения и сроки"]
PEOPLE_RU = ["Анна Смирнова", "Иван Петров", "Мария Иванова", "Олег Кузнецов", "Дмитрий Соколов"]
PEOPLE_IDS = ["anna", "ivan", "maria", "oleg", "dmitry"]
WRITES = {"POST", "PUT", "DELETE", "PATCH"}


@dataclass
class World:
    flavour: str
    server: SandboxServer
    db_url: str
    now: datetime = NOW
    series_changes: dict = field(default_factory=dict)
    timezone: str | None = None
    config_changes: dict = field(default_factory=dict)

    def app(self, db_url: str | None = None) -> App:
        config = demo_config(self.flavour, self.server.url)
        series = config.meetings[0].model_copy(update=self.series_changes)
        config = config.model_copy(update={
            "meetings": [series], "timezone": self.timezone or config.timezone,
            **self.config_changes})
        store = open_store(db_url or self.db_url)
        policy = RetryPolicy(attempts=3, sleep=lambda _: None)
        # The sandbox has no quota and the tests run on a fake clock: no client-side limiter.
        return App(config, store, lambda: make_tracker(config, policy, rate_limited=False),
                   clock=lambda: self.now)

    def prepare(self, on: date | None = None, dry_run: bool = False,
                db_url: str | None = None) -> list[service.PrepareOutcome]:
        app = self.app(db_url)
        try:
            return service.prepare(app, on=on, dry_run=dry_run)
        finally:
            app.store.close()

    def log(self) -> list[dict]:
        return requests.get(f"{self.server.url}/_sandbox/requests", timeout=5).json()

    def clear_log(self) -> None:
        requests.delete(f"{self.server.url}/_sandbox/requests", timeout=5)

    def state(self) -> dict:
        return requests.get(f"{self.server.url}/_sandbox/state", timeout=5).json()

    def fault(self, **spec: object) -> None:
        requests.post(f"{self.server.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    server = SandboxServer(make_emulator(request.param)).start()
    try:
        yield World(request.param, server, f"sqlite:///{tmp_path / 'state.db'}")
    finally:
        server.stop()


# --- reading what the tracker holds, through its REST API as a person's client would ----------


def meeting_items(world: World) -> list[dict]:
    """Every meeting item in the tracker, as plain facts (title, text, checklists, ...)."""
    if world.flavour == "trello":
        return trello_meetings(world)
    return jira_meetings(world)


def trello_meetings(world: World) -> list[dict]:
    auth = {"key": "k", "token": "t"}
    board = requests.get(f"{world.server.url}/1/members/me/boards",
                         params={**auth, "fields": "name", "lists": "open"}, timeout=5).json()[0]
    meetings_list = next(lst for lst in board["lists"] if lst["name"] == "Планёрки")
    cards = requests.get(f"{world.server.url}/1/lists/{meetings_list['id']}/cards",
                         params={**auth, "checklists": "all", "attachments": "true",
                                 "members": "true"}, timeout=5).json()
    return [{
        "title": c["name"], "text": c["desc"], "due": c["due"],
        "checklists": {cl["name"]: [i["name"] for i in cl["checkItems"]]
                       for cl in c.get("checklists", [])},
        "members": sorted(m["fullName"] for m in c.get("members", [])),
        "attachments": [a["name"] for a in c.get("attachments", [])],
        "attachment_urls": [a["url"] for a in c.get("attachments", [])],
        "id": c["id"],
    } for c in cards if not c["isTemplate"]]  # the agenda template card lives in this list too


def jira_meetings(world: World) -> list[dict]:
    fields = ["summary", "description", "duedate", "labels", "attachment"]
    query = {"jql": "labels = planerka-marketing-weekly ORDER BY created ASC", "fields": fields}
    if world.flavour == "jira-cloud":
        response = requests.post(f"{world.server.url}/rest/api/3/search/jql", json=query,
                                 headers=jira_auth(world), timeout=5)
    else:
        response = requests.get(f"{world.server.url}/rest/api/2/search",
                                params={**query, "fields": ",".join(fields)},
                                headers=jira_auth(world), timeout=5)
    response.raise_for_status()
    return [{
        "title": issue["fields"]["summary"], "text": jira_text(issue["fields"]["description"]),
        "due": issue["fields"]["duedate"], "labels": issue["fields"]["labels"],
        "attachments": [a["filename"] for a in issue["fields"].get("attachment") or []],
        "id": issue["id"], "key": issue["key"],
    } for issue in response.json()["issues"]]


def jira_text(description: object) -> str:
    if isinstance(description, str):
        # wiki escapes, e.g. Email\-маркетинг, planerka&#58;
        return html.unescape(re.sub(r"\\(.)", r"\1", description))
    parts: list[str] = []

    def walk(node: dict) -> None:
        if node.get("type") == "text":
            parts.append(node["text"])
        if node.get("type") == "mention":
            parts.append(node["attrs"].get("text", ""))
        for child in node.get("content", []):
            walk(child)
        parts.append("\n" if node.get("type") in ("paragraph", "heading", "taskItem") else "")

    if isinstance(description, dict):
        walk(description)
    return "".join(parts)


def writes(log: list[dict]) -> list[str]:
    """Write requests; Jira Cloud's search/jql is a POST that only reads."""
    return [f"{e['method']} {e['path']}" for e in log
            if e["method"] in WRITES and not e["path"].endswith("/search/jql")]


# --- the tests ---------------------------------------------------------------------------------


def test_first_prepare_creates_the_meeting_item_with_every_section(world: World) -> None:
    [outcome] = world.prepare()
    assert outcome.plan.action == "create" and outcome.ref is not None
    [item] = meeting_items(world)
    assert item["title"] == "Планёрка отдела маркетинга — 30.11.2026 10:00"
    text = item["text"]
    for fact in ["пн, 30 ноября 2026, 10:00–11:00 (Москва) · еженедельно", "Переговорная 3",
                 "https://meet.example.org/mkt"]:
        assert fact in text
    if world.flavour == "trello":
        assert item["due"].startswith("2026-11-30T07:00:00")  # 10:00 Moscow
        assert item["members"] == sorted(PEOPLE_RU)
        checklists = item["checklists"]
        assert set(KPI_RU) <= set(checklists)
        assert checklists["1. Трафик сайта"] == ["Визиты", "Уникальные посетители",
                                                 "Время на сайте", "Показатель отказов",
                                                 "Глубина просмотра"]
        assert checklists["Решения и сроки"] == [] and checklists["Темы от команды"] == []
        for title in ["Разбор решений прошлых планёрок", "Круглый стол"]:
            assert title in text  # dynamic sections live in the description
        assert sorted(speaker_order(text)) == sorted(PEOPLE_IDS)
    else:
        assert item["due"] == "2026-11-30"
        assert set(item["labels"]) >= {"planerka", "planerka-marketing-weekly"}
        for title in SECTIONS_RU:
            assert title in text
        for pid, name in zip(PEOPLE_IDS, PEOPLE_RU, strict=True):
            assert name in text or f"[~{pid}]" in text  # DC wiki mentions are usernames
    assert item["attachments"] == ["planerka-marketing-weekly-20261130.ics"]


def test_the_ics_invite_is_the_series_from_this_meeting(world: World) -> None:
    [outcome] = world.prepare()
    [item] = meeting_items(world)
    calendar = Calendar.from_ical(attachment_bytes(world, item))
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2026, 11, 30, 10, tzinfo=ZoneInfo("Europe/Moscow"))
    assert event.decoded("dtstart").astimezone(UTC) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert event["rrule"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO"
    assert str(event["summary"]) == "Планёрка отдела маркетинга"
    assert str(event["uid"]).startswith("planerka-marketing-weekly-")
    assert outcome.ref is not None and str(event["url"]) == outcome.ref.url
    assert [str(z["tzid"]) for z in calendar.walk("VTIMEZONE")] == ["Europe/Moscow"]


@pytest.mark.parametrize(
    ("changes", "zone"),
    [({"skip_dates": [date(2026, 12, 14)]}, None),
     ({"cadence": "biweekly", "weekday": "MO", "first_date": date(2026, 11, 30),
       "skip_dates": [date(2027, 3, 22)]}, "Europe/Berlin")],
    ids=["weekly-moscow", "biweekly-berlin"],
)
def test_every_meeting_attaches_the_same_series_calendar(
    world: World, changes: dict, zone: str | None
) -> None:
    """Downloaded from the tracker as a person would: the first and the second meeting carry one
    series (same UID, DTSTART at the first meeting, RRULE, EXDATE, VTIMEZONE), whose meetings over
    a year, expanded by dateutil from the file alone, are the ones prepare schedules."""
    world.series_changes, world.timezone = changes, zone
    tz = ZoneInfo(zone or "Europe/Moscow")
    schedule = build_schedule(
        changes.get("cadence", "weekly"), at=time(10), zone=tz.key, weekday="MO",
        skip_dates=frozenset(changes["skip_dates"]),
        anchor=changes.get("first_date", date(2024, 1, 1)))
    first, second = schedule.upcoming(NOW, 2)
    world.prepare(on=first.local_date)
    world.now = NOW + timedelta(hours=1)
    world.prepare(on=second.local_date)
    calendars = [Calendar.from_ical(attachment_bytes(world, meeting_for(world, day)))
                 for day in (first.local_date, second.local_date)]
    masters = [c.walk("VEVENT") for c in calendars]
    assert [len(m) for m in masters] == [1, 1]  # no meeting is off its slot: no override
    events = [m[0] for m in masters]
    assert len({str(e["uid"]) for e in events}) == 1
    assert int(events[1]["sequence"]) >= int(events[0]["sequence"])
    for calendar, event in zip(calendars, events, strict=True):
        assert [str(z["tzid"]) for z in calendar.walk("VTIMEZONE")] == [tz.key]
        assert event["dtstart"].params["TZID"] == tz.key
        assert event.decoded("dtstart") == first.starts_at
        exdates = [d.dt for d in event["exdate"].dts]
        assert exdates == [datetime.combine(changes["skip_dates"][0], time(10), tzinfo=tz)]
        expanded = rrulestr("RRULE:" + event["rrule"].to_ical().decode(),
                            dtstart=event.decoded("dtstart"), forceset=True)
        assert isinstance(expanded, rruleset)
        for moment in exdates:
            expanded.exdate(moment)
        year = [d.astimezone(UTC) for d in expanded.between(NOW, NOW + timedelta(days=365))]
        expected = [o.starts_at.astimezone(UTC) for o in schedule.upcoming(NOW, 60)
                    if o.starts_at < NOW + timedelta(days=365)]
        assert year == expected
        assert {d.astimezone(tz).time() for d in year} == {time(10)}


def test_second_prepare_creates_nothing_new(world: World) -> None:
    world.prepare()
    before = meeting_items(world)
    world.clear_log()
    [outcome] = world.prepare()
    assert outcome.plan.action == "unchanged"
    assert writes(world.log()) == []
    assert meeting_items(world) == before


def test_dry_run_sends_no_write(world: World) -> None:
    world.prepare(on=FIRST)
    world.clear_log()
    outcomes = world.prepare(on=SECOND, dry_run=True)
    assert outcomes[0].plan.action == "create"
    assert "Круглый стол" in outcomes[0].agenda_text
    assert world.log() and writes(world.log()) == []
    assert len(meeting_items(world)) == 1


def test_request_budget_per_prepare(world: World) -> None:
    world.prepare(on=FIRST)  # the first prepare of a series may set things up once
    world.clear_log()
    world.prepare(on=SECOND)
    budget = 8 if world.flavour == "trello" else 6
    log = world.log()
    assert len(log) <= budget, [f"{e['method']} {e['path']}" for e in log]
    assert len(meeting_items(world)) == 2


def test_round_table_rotates_between_occurrences(world: World) -> None:
    world.prepare(on=FIRST)
    world.prepare(on=SECOND)
    first = speaker_order(meeting_for(world, FIRST)["text"])
    second = speaker_order(meeting_for(world, SECOND)["text"])
    assert sorted(first) == sorted(PEOPLE_IDS)
    assert second == first[1:] + first[:1]


def test_a_lost_state_db_finds_the_item_instead_of_duplicating_it(
    world: World, tmp_path: Path
) -> None:
    world.prepare()
    [outcome] = world.prepare(db_url=f"sqlite:///{tmp_path / 'new.db'}")
    assert outcome.plan.action in ("update", "unchanged")
    items = meeting_items(world)
    assert len(items) == 1
    assert len(items[0]["attachments"]) == 1


def test_server_error_mid_prepare_then_a_rerun_completes_without_duplicates(world: World) -> None:
    world.fault(method="POST", path="attachments", status=500, count=1)
    with pytest.raises(TransientTrackerError):
        world.prepare()
    assert [i["attachments"] for i in meeting_items(world)] == [[]]
    world.prepare()
    [item] = meeting_items(world)
    assert item["attachments"] == ["planerka-marketing-weekly-20261130.ics"]


def test_dropped_connection_on_create_is_not_retried_blindly(world: World) -> None:
    world.prepare(on=FIRST)
    create = r"/1/cards$" if world.flavour == "trello" else r"/issue$"
    world.fault(method="POST", path=create, drop=True, count=1)
    with pytest.raises(TransientTrackerError):
        world.prepare(on=SECOND)
    assert len(meeting_items(world)) == 2  # created once, the answer lost, not re-sent
    [outcome] = world.prepare(on=SECOND)
    assert outcome.plan.action in ("update", "unchanged")
    items = meeting_items(world)
    assert len(items) == 2
    assert all(len(i["attachments"]) == 1 for i in items)


def test_an_interrupted_trello_template_is_never_copied(tmp_path: Path) -> None:
    server = SandboxServer(make_emulator("trello")).start()
    try:
        world = World("trello", server, f"sqlite:///{tmp_path / 'state.db'}")
        # The template's first check item fails: the template card is left incomplete.
        world.fault(method="POST", path=r"/checkItems$", status=500, count=1, body="boom")
        with pytest.raises(TransientTrackerError):
            world.prepare()
        world.prepare()
        [item] = meeting_items(world)
        assert len(item["checklists"]["1. Трафик сайта"]) == 5
        assert not [c for c in trello_all_cards(world) if "incomplete" in c["name"]]
    finally:
        server.stop()


def test_topics_proposed_in_comments_join_the_agenda(world: World) -> None:
    [outcome] = world.prepare()
    assert outcome.ref is not None
    add_comment(world, outcome.ref.id, outcome.ref.key, "Тема: бюджет на праздничную кампанию")
    [again] = world.prepare()
    assert again.plan.action == "update"
    [item] = meeting_items(world)
    if world.flavour == "trello":
        assert item["checklists"]["Темы от команды"] == ["бюджет на праздничную кампанию"]
    else:
        assert "бюджет на праздничную кампанию" in item["text"]


@pytest.mark.parametrize(
    ("changes", "zone", "now", "expected_utc"),
    [
        # weekly on Monday: Thu 26 Nov -> Mon 30 Nov 10:00 Moscow
        ({}, None, NOW, datetime(2026, 11, 30, 7, tzinfo=UTC)),
        # biweekly on Tuesday in phase with 1 Dec: the next is 1 Dec, then 15 Dec
        ({"cadence": "biweekly", "weekday": "TU", "first_date": date(2026, 11, 17)}, None,
         datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 15, 7, tzinfo=UTC)),
        # monthly on the first Monday: 7 Dec
        ({"cadence": "monthly", "weekday": "1MO"}, None, NOW,
         datetime(2026, 12, 7, 7, tzinfo=UTC)),
        # Berlin springs forward on 29 Mar 2026: 10:00 is 08:00 UTC the day after
        ({}, "Europe/Berlin", datetime(2026, 3, 26, tzinfo=UTC),
         datetime(2026, 3, 30, 8, tzinfo=UTC)),
    ],
    ids=["weekly", "biweekly", "monthly-first-monday", "dst-change"],
)
def test_prepare_targets_the_right_occurrence(
    world: World, changes: dict, zone: str | None, now: datetime, expected_utc: datetime
) -> None:
    world.series_changes, world.timezone, world.now = changes, zone, now
    [outcome] = world.prepare()
    assert outcome.plan.occurrence.starts_at.astimezone(UTC) == expected_utc
    [item] = meeting_items(world)
    local = expected_utc.astimezone(ZoneInfo(zone or "Europe/Moscow"))
    assert item["title"].endswith(f"{local:%d.%m.%Y} 10:00")
    if world.flavour == "trello":
        assert item["due"].startswith(expected_utc.strftime("%Y-%m-%dT%H:%M"))
    else:
        assert item["due"] == local.date().isoformat()


# --- helpers -----------------------------------------------------------------------------------


def trello_all_cards(world: World) -> list[dict]:
    board = requests.get(f"{world.server.url}/1/members/me/boards",
                         params={"key": "k", "token": "t", "fields": "name"}, timeout=5).json()[0]
    return requests.get(f"{world.server.url}/1/boards/{board['id']}/cards/all",
                        params={"key": "k", "token": "t", "fields": "name,closed"},
                        timeout=5).json()


def speaker_order(text: str) -> list[str]:
    """Person ids in round-table order: lines with a time slot name one person each (by full
    name, or by username as Trello's @ivan and Jira DC's [~ivan] mentions do)."""
    found = []
    for line in text.splitlines():
        if re.search(r"\d\d:\d\d–\d\d:\d\d", line):
            found += [pid for pid, name in zip(PEOPLE_IDS, PEOPLE_RU, strict=True)
                      if name in line or re.search(rf"[@~]{pid}\b", line)]
    return found


def meeting_for(world: World, day: date) -> dict:
    wanted = day.strftime("%d.%m.%Y")
    return next(i for i in meeting_items(world) if wanted in i["title"])


def attachment_bytes(world: World, item: dict) -> bytes:
    if world.flavour == "trello":
        url = item["attachment_urls"][0]
        return requests.get(url, params={"key": "k", "token": "t"}, timeout=5).content
    api = "3" if world.flavour == "jira-cloud" else "2"
    issue = requests.get(f"{world.server.url}/rest/api/{api}/issue/{item['key']}",
                         params={"fields": "attachment"}, headers=jira_auth(world),
                         timeout=5).json()
    url = issue["fields"]["attachment"][0]["content"]
    return requests.get(url, headers=jira_auth(world), timeout=5).content


def jira_auth(world: World) -> dict[str, str]:
    if world.flavour == "jira-cloud":
        return {"Authorization": "Basic " + "aXZhbkBleGFtcGxlLm9yZzp0b2tlbg=="}  # ivan:token
    return {"Authorization": "Bearer pat"}


def add_comment(world: World, item_id: str, key: str | None, text: str) -> None:
    if world.flavour == "trello":
        requests.post(f"{world.server.url}/1/cards/{item_id}/actions/comments",
                      params={"key": "k", "token": "t", "text": text}, timeout=5).raise_for_status()
        return
    body: object = text
    if world.flavour == "jira-cloud":
        body = {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}]}
    api = "3" if world.flavour == "jira-cloud" else "2"
    requests.post(f"{world.server.url}/rest/api/{api}/issue/{key}/comment",
                  json={"body": body}, headers=jira_auth(world), timeout=5).raise_for_status()


def test_a_meeting_create_in_doubt_is_waited_for_never_made_twice(world: World) -> None:
    """The create lands but is answered 502, and search lags 150 s behind it (Jira Cloud)."""
    world.prepare(on=FIRST)  # on Trello this also makes the template card
    requests.post(f"{world.server.url}/_sandbox/options", json={"search_lag_seconds": 150},
                  timeout=5).raise_for_status()
    create = r"^/1/cards$" if world.flavour == "trello" else r"/issue$"
    world.fault(method="POST", path=create, status=502, apply=True, count=1)
    with pytest.raises(TransientTrackerError):
        world.prepare(on=SECOND)
    world.now += timedelta(seconds=60)
    if world.flavour != "trello":  # Trello reads the list directly and finds the card at once
        with pytest.raises(InDoubt, match="settle_after") as doubt:
            world.prepare(on=SECOND)  # search does not show the issue yet: nothing is sent
        assert "UTC" not in str(doubt.value) and "(Москва, +03:00)" in str(doubt.value)
        requests.post(f"{world.server.url}/_sandbox/clock", json={"advance": 150},
                      timeout=5).raise_for_status()
        world.now += timedelta(seconds=150)
    [outcome] = world.prepare(on=SECOND)
    assert outcome.plan.action == "update"
    requests.post(f"{world.server.url}/_sandbox/clock", json={"advance": 150},
                  timeout=5).raise_for_status()  # so that this test's search sees the latest
    items = meeting_items(world)
    assert len(items) == 2 and all(len(i["attachments"]) == 1 for i in items)


def test_hints_fit_the_tracker(world: World) -> None:
    """Trello has checklists people add to; on Jira people write comments, so the agenda says
    that instead of pointing at a checklist that is not there."""
    world.prepare()
    [item] = meeting_items(world)
    text = item["text"]
    if world.flavour == "trello":
        assert "пункт в чек-листе «Темы от команды»" in text
        assert "Темы от команды" in item["checklists"]
    else:
        assert "чек-лист" not in text
        assert "Предложите тему комментарием к задаче: «Тема: ...»." in text
        assert "Запишите решения в комментарии, по одному на строку" in text
