"""The Power-Up's API on a running `serve`: who may call it, what it answers, and the limits
every endpoint of `serve` keeps (CORS, body size, per-source rate)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from planerka_sync.sandbox.trello import sign_webhook
from planerka_sync.service.kpi import record
from tests.web.world import APP_SECRET, STRANGER_TOKEN, WebWorld, wait_until, web_world


@pytest.fixture(scope="module")
def world() -> Iterator[WebWorld]:
    with web_world() as built:
        yield built


def card_path(world: WebWorld, card: str, board: str | None = None) -> str:
    return f"/api/boards/{board or world.board_id}/cards/{card}/planerka"


def member_lookups(world: WebWorld) -> int:
    return sum(1 for e in world.log() if e["path"] == "/1/members/me")


def test_a_meeting_card_shows_its_decisions_and_counts(world: WebWorld) -> None:
    state = world.api("GET", card_path(world, world.meeting_card_id)).json()
    assert state["kind"] == "meeting"
    meeting = state["meeting"]
    assert meeting["counts"] == {"captured": 1, "created": 1, "errors": 0}
    [decision] = meeting["decisions"]
    assert decision["title"] == "Запустить email-рассылку"
    assert decision["owner"] == "Иван Петров"
    assert decision["due"] == "2026-12-20"
    assert decision["task_url"].startswith("https://trello.com/c/")


def test_a_task_card_shows_owner_due_and_its_meeting(world: WebWorld) -> None:
    state = world.api("GET", card_path(world, world.task_card_id)).json()
    assert state["kind"] == "task"
    assert state["task"]["owner"] == "Иван Петров"
    assert state["task"]["due"] == "2026-12-20"
    meeting = world.api("GET", card_path(world, world.meeting_card_id)).json()["meeting"]
    assert state["task"]["meeting_url"] == meeting["url"]
    assert meeting["url"].startswith("https://trello.com/c/")
    assert state["task"]["meeting_title"].startswith("Планёрка отдела маркетинга — ")


def test_a_card_planerka_did_not_make_is_other(world: WebWorld) -> None:
    assert world.api("GET", card_path(world, "0" * 24)).json()["kind"] == "other"


def test_without_a_token_the_api_answers_401(world: WebWorld) -> None:
    answer = world.api("GET", card_path(world, world.meeting_card_id), token=None)
    assert answer.status_code == 401
    assert "Authorization: Bearer" in answer.json()["error"]
    assert world.api("GET", card_path(world, world.meeting_card_id),
                     token="forged").status_code == 401


def test_a_trello_member_who_is_not_on_the_board_gets_403(world: WebWorld) -> None:
    answer = world.api("GET", card_path(world, world.meeting_card_id), token=STRANGER_TOKEN)
    assert answer.status_code == 403
    assert "not a member of this board" in answer.json()["error"]


def test_another_board_is_not_served(world: WebWorld) -> None:
    answer = world.api("GET", card_path(world, world.meeting_card_id, board="1" * 24))
    assert answer.status_code == 404


def test_the_token_check_is_cached(world: WebWorld) -> None:
    world.running.web.members._cache.clear()  # type: ignore[union-attr]
    world.clear_log()
    for _ in range(3):
        assert world.api("GET", card_path(world, world.task_card_id)).status_code == 200
    assert member_lookups(world) == 1
    for _ in range(2):
        world.api("GET", card_path(world, world.task_card_id), token=STRANGER_TOKEN)
    assert member_lookups(world) == 2  # a refusal is cached too


def test_cors_is_limited_to_trellos_origin(world: WebWorld) -> None:
    path = card_path(world, world.task_card_id)
    trello = world.api("GET", path, headers={"Origin": "https://trello.com"})
    assert trello.headers["Access-Control-Allow-Origin"] == "https://trello.com"
    evil = world.api("GET", path, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    refusal = world.api("GET", path, token=None, headers={"Origin": "https://trello.com"})
    assert refusal.status_code == 401  # readable by the Power-Up, not a bare network error
    assert refusal.headers["Access-Control-Allow-Origin"] == "https://trello.com"
    preflight = requests.options(f"{world.url}{path}", timeout=5, headers={
        "Origin": "https://trello.com", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    refused = requests.options(f"{world.url}{path}", timeout=5,
                               headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_the_convert_button_turns_new_decisions_into_tasks_now(world: WebWorld) -> None:
    world.options(deliver_webhooks=False)  # only the button may do it here
    try:
        world.add_decision_comment("Decision: prepare the Q1 budget @oleg by 2026-12-18")
        answer = world.api("POST", f"/api/boards/{world.board_id}/cards/"
                                   f"{world.meeting_card_id}/convert?locale=en")
    finally:
        world.options(deliver_webhooks=True)
    assert answer.status_code == 200
    result = answer.json()
    assert result["created_now"] == 1
    assert result["created"] == result["captured"] >= 2
    assert result["message"].startswith("1 task(s) created now.")
    assert "Prepare the Q1 budget" in world.task_titles()


def test_the_convert_button_on_a_task_card_is_404(world: WebWorld) -> None:
    answer = world.api("POST", f"/api/boards/{world.board_id}/cards/{world.task_card_id}/convert")
    assert answer.status_code == 404


def test_kpi_popup_data_has_rows_and_a_chart(world: WebWorld) -> None:
    app = world.make_app()
    try:
        # This week's period and the one before (the series meets weekly).
        today = app.clock().astimezone(ZoneInfo(app.config.timezone)).date()
        record(app, app.config.meetings[0].id, {"sessions": 12000, "conversions": 240},
               today - timedelta(days=7), "test")
        record(app, app.config.meetings[0].id, {"sessions": 15000, "conversions": 300},
               today, "test")
    finally:
        app.store.close()
    data = world.api("GET", f"/api/boards/{world.board_id}/kpi?locale=en").json()
    rows = {row["metric"]: row for row in data["rows"]}
    assert rows["sessions"]["value"] == "15,000"
    assert rows["sessions"]["previous"] == "12,000"
    assert rows["sessions"]["change"] == "+25.0%"
    png = base64.b64decode(data["chart_png"].removeprefix("data:image/png;base64,"))
    assert png.startswith(b"\x89PNG")
    ru = world.api("GET", f"/api/boards/{world.board_id}/kpi?locale=ru").json()
    assert {row["metric"]: row for row in ru["rows"]}["sessions"]["value"] == "15\u00a0000"
    # Every agenda block, in order, as the comment shows them; a metric in one block only.
    assert [b["title"] for b in ru["blocks"]][:2] == ["1. Трафик сайта", "2. Конверсии"]
    assert len(ru["blocks"]) == 10
    shown = [row["metric"] for block in ru["blocks"] for row in block["rows"]]
    assert len(shown) == len(set(shown)) and "sessions" in shown


def test_the_powerup_files_are_served_and_nothing_outside_them(world: WebWorld) -> None:
    index = requests.get(f"{world.url}/powerup/index.html", timeout=5)
    assert index.status_code == 200
    assert index.headers["Content-Type"].startswith("text/html")
    assert "power-up" in index.text.lower()
    for sneaky in ("/powerup/../pyproject.toml", "/powerup/%2e%2e/cli.py"):
        assert requests.get(f"{world.url}{sneaky}", timeout=5).status_code == 404


def test_health_and_metrics_are_served_too(world: WebWorld) -> None:
    assert requests.get(f"{world.url}/healthz", timeout=5).json() == {"status": "ok"}
    metrics = requests.get(f"{world.url}/metrics", timeout=5).text
    assert "# TYPE tracker_requests_total counter" in metrics


# --- limits: a world of its own each, with tight settings --------------------------------------


def test_a_body_over_the_limit_is_refused_before_it_is_read() -> None:
    with web_world(register_webhook=False, serve={"max_body_kb": 1}) as world:
        answer = requests.post(f"{world.url}/webhooks/trello", data=b"x" * 2048, timeout=5,
                               headers={"X-Trello-Webhook": "irrelevant"})
        assert answer.status_code == 413
        small = requests.post(f"{world.url}/webhooks/trello", data=b"{}", timeout=5,
                              headers={"X-Trello-Webhook": "irrelevant"})
        assert small.status_code == 401  # within the limit: on to the signature check


def test_each_source_has_its_own_rate_limit() -> None:
    with web_world(register_webhook=False, serve={"events_per_minute": 2}) as world:
        url = f"{world.url}/webhooks/trello"

        def signed_delivery() -> int:
            return requests.post(url, data=b"{}", timeout=5, headers={
                "X-Trello-Webhook": sign_webhook(APP_SECRET, b"{}", url)}).status_code

        assert [signed_delivery() for _ in range(3)] == [200, 200, 429]
        # Unsigned requests are refused without spending it, and counted per address.
        codes = [requests.post(url, data=b"{}", timeout=5).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        limited = requests.post(url, data=b"{}", timeout=5)
        assert int(limited.headers["Retry-After"]) >= 1
        # Jira's deliveries are counted apart from Trello's.
        assert requests.post(f"{world.url}/webhooks/jira", data=b"{}",
                             timeout=5).status_code == 401


def test_the_worker_reads_a_burst_of_events_about_one_meeting_once() -> None:
    with web_world() as world:
        worker = world.running.web.worker
        wait_until(lambda: worker.idle, timeout=5)
        world.clear_log()
        for n in range(4):
            world.add_decision_comment(f"Решение: задача номер {n + 1} @anna до 28.12.2026")
        wait_until(lambda: len(world.task_titles()) == 5, timeout=5)
        wait_until(lambda: worker.idle, timeout=5)
        reads = [e for e in world.log() if e["method"] == "GET"
                 and e["path"] == f"/1/cards/{world.meeting_card_id}"]
        assert len(reads) < 4, reads
