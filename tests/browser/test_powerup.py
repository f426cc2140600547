"""The Trello Power-Up in headless Chromium, against a running `planerka-sync serve`.

The connector is loaded from the service itself (`{url}/powerup/index.html?key=...`). Trello's
client library cannot be fetched here, so `https://p.trellocdn.com/power-up.min.js` is answered
with `trello_double.js`: it records `TrelloPowerUp.initialize(...)`, hands the Power-Up a `t`
for a given board/card/member/token/locale, and lets the test call each capability as Trello
would. Everything else is real: the Power-Up's own scripts in a real browser, the service, its
sandbox Trello. Screenshots go to `test-artifacts/powerup-*.png`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from planerka_sync.service.kpi import record
from tests.web.world import web_world

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
DOUBLE = Path(__file__).with_name("trello_double.js")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
POWERUP_FILES = Path(__file__).resolve().parents[2] / "plugins" / "trello-powerup"
ELSEWHERE = "http://powerup.invalid/planerka"  # a static host other than the service
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCALES = ["ru", "en"]
# Comments typed on the meeting card during the meeting (the owner is a demo team member).
DECISION_LINES = {
    "ru": "Решение: подготовить отчёт {marker}, отв. @maria, через неделю",
    "en": "Decision: prepare the report {marker}, owner: @maria, by Friday",
}
# ... and one whose owner is nobody on the team: it cannot become a task.
UNOWNED_LINES = {
    "ru": "Решение: согласовать бюджет {marker}, отв. @nobody, через неделю",
    "en": "Decision: approve the budget {marker}, owner: @nobody, by Friday",
}
TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "convert": "Превратить решения в задачи",
        "board": "Планёрка · KPI",
        "section": "Решения планёрки",
        "done": "Готово",
        "no_kpi": "Пока нет данных KPI",
        "authorize": "Разрешить доступ",
    },
    "en": {
        "convert": "Convert decisions now",
        "board": "Planning KPIs",
        "section": "Meeting decisions",
        "done": "Done",
        "no_kpi": "No KPI data yet",
        "authorize": "Authorize",
    },
}
KPI_STATUS = {
    "ru": {"on_track": "✓ в норме", "off_track": "✗ не в норме"},
    "en": {"on_track": "✓ on track", "off_track": "✗ off track"},
}
BADGE_WORDS = {
    "ru": {"owner": "Отв.:", "due": "Срок:", "captured": "Решений:", "created": "Задач создано:",
           "errors": "Ошибок:"},
    "en": {"owner": "Owner:", "due": "Due:", "captured": "Decisions captured:",
           "created": "Tasks created:", "errors": "Errors:"},
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required when CI is set)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        _unavailable(f"{CHROMIUM} is not installed (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
        raise
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    with web_world("trello") as running:
        yield running


def _serve_from_disk(route: Route) -> None:
    """The Power-Up's folder copied to another host, as an admin may do."""
    name = route.request.url.split("?")[0].split("#")[0].rsplit("/", 1)[-1]
    file = POWERUP_FILES / name
    if not file.is_file():
        route.fulfill(status=404, body="")
        return
    kinds = {".html": "text/html", ".js": "application/javascript", ".css": "text/css",
             ".svg": "image/svg+xml"}
    route.fulfill(status=200, content_type=kinds.get(file.suffix, "application/octet-stream"),
                  body=file.read_bytes())


def _serve_trello_cdn(route: Route) -> None:
    """Trello's CDN: the client library is the double, its stylesheet an empty one."""
    if route.request.url.endswith(".js"):
        route.fulfill(status=200, content_type="application/javascript",
                      body=DOUBLE.read_text(encoding="utf-8"))
    else:
        route.fulfill(status=200, content_type="text/css", body="")


@dataclass
class Tab:
    """A page that believes Trello is around it, and the script errors it has thrown."""

    page: Page
    errors: list[str] = field(default_factory=list)


class Tabs:
    """Opens tabs for one test and closes their browser contexts afterwards."""

    def __init__(self, browser: Browser, world: Any) -> None:
        self.browser = browser
        self.world = world
        self.contexts: list[BrowserContext] = []

    def open(self, url: str, *, locale: str, token: str | None, width: int = 900,
             height: int = 600) -> Tab:
        context = self.browser.new_context(viewport={"width": width, "height": height},
                                           locale="ru-RU" if locale == "ru" else "en-US")
        self.contexts.append(context)
        settings = {"board": self.world.board_id, "member": "member-1", "locale": locale,
                    "token": token, "authorizedToken": self.world.token}
        context.add_init_script(f"window.__TRELLO_DOUBLE__ = {json.dumps(settings)};")
        context.route("https://p.trellocdn.com/**", _serve_trello_cdn)
        context.route(f"{ELSEWHERE}/**", _serve_from_disk)
        tab = Tab(context.new_page())
        tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
        tab.page.goto(url)
        tab.page.wait_for_function("() => window.__trelloDouble !== undefined")
        return tab

    def connector(self, locale: str, *, authorised: bool = True) -> Tab:
        tab = self.open(f"{self.world.url}/powerup/index.html?key={self.world.key}",
                        locale=locale, token=self.world.token if authorised else None)
        tab.page.wait_for_function("() => window.__trelloDouble.initialized !== null")
        return tab

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def tabs(browser: Browser, world: Any) -> Iterator[Tabs]:
    opened = Tabs(browser, world)
    try:
        yield opened
    finally:
        opened.close()


def _run(page: Page, capability: str, card: str | None) -> Any:
    return page.evaluate(
        """async ([capability, card]) => {
            const result = await window.__trelloDouble.run(capability, card);
            // Callbacks cannot cross into Python: keep what Trello would draw.
            return JSON.parse(JSON.stringify(result === undefined ? null : result));
        }""",
        [capability, card],
    )


def _draw(page: Page, title: str, badges: list[dict[str, Any]]) -> None:
    page.evaluate("([title, badges]) => window.__trelloDouble.drawCard(title, badges)",
                  [title, badges])


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"powerup-{name}.png"), full_page=True)


def _api(world: Any, path: str, locale: str) -> dict[str, Any]:
    response = requests.get(f"{world.url}{path}", params={"locale": locale}, timeout=10,
                            headers={"Authorization": f"Bearer {world.token}"})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def _card_state(world: Any, card: str, locale: str) -> dict[str, Any]:
    return _api(world, f"/api/boards/{world.board_id}/cards/{card}/planerka", locale)


def _texts(badges: list[dict[str, Any]]) -> list[str]:
    return [str(badge.get("text", "")) for badge in badges]



@contextmanager
def _webhooks_paused(world: Any) -> Iterator[None]:
    """The sandbox stops delivering Trello webhooks to the service for a while."""
    world.options(deliver_webhooks=False)
    try:
        yield
    finally:
        world.options(deliver_webhooks=True)


def _record_kpis(world: Any) -> None:
    """Two periods of traffic, as `planerka-sync kpi record` would store them."""
    app = world.make_app()
    try:
        today = app.clock().date()
        series = world.config.meetings[0].id
        record(app, series, {"sessions": 18000, "conversions": 420},
               today - timedelta(days=7), "test")
        record(app, series, {"sessions": 20000, "conversions": 500}, today, "test")
    finally:
        app.store.close()


def _trello(world: Any, method: str, path: str, **params: Any) -> Any:
    response = requests.request(method, f"{world.sandbox_url}/1{path}", timeout=10,
                                params={"key": world.key, "token": world.token, **params})
    response.raise_for_status()
    return response.json()


def _move_card(world: Any, card: str, list_name: str) -> None:
    lists = _trello(world, "GET", f"/boards/{world.board_id}/lists")
    [target] = [item["id"] for item in lists if item["name"] == list_name]
    _trello(world, "PUT", f"/cards/{card}", idList=target)


def _done_task(world: Any) -> dict[str, Any] | None:
    task: dict[str, Any] = _card_state(world, world.task_card_id, "en")["task"]
    return task if task["done"] else None


def _wait_for(check: Callable[[], Any], *, what: str, timeout: float = 10.0) -> Any:
    """The service learns of Trello changes through webhooks, asynchronously."""
    deadline = time.monotonic() + timeout
    while (found := check()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_card_badges_show_task_and_meeting_state(tabs: Tabs, world: Any, locale: str) -> None:
    tab = tabs.connector(locale)
    words = BADGE_WORDS[locale]

    task = _card_state(world, world.task_card_id, locale)["task"]
    task_badges = _run(tab.page, "card-badges", world.task_card_id)
    texts = _texts(task_badges)
    if task["owner"]:
        assert f"{words['owner']} {task['owner']}" in texts
    if task["due"]:
        due = next(b for b in task_badges if str(b["text"]).startswith(words["due"]))
        assert due.get("color") == ("red" if task["overdue"] and not task["done"] else None)
    done = [b for b in task_badges if b["text"] == TEXTS[locale]["done"]]
    assert done == ([{"text": TEXTS[locale]["done"], "color": "green"}] if task["done"] else [])

    meeting = _card_state(world, world.meeting_card_id, locale)["meeting"]
    meeting_badges = _run(tab.page, "card-badges", world.meeting_card_id)
    texts = _texts(meeting_badges)
    counts = meeting["counts"]
    assert f"{words['captured']} {counts['captured']}" in texts
    assert f"{words['created']} {counts['created']}" in texts
    errors = [b for b in meeting_badges if str(b["text"]).startswith(words["errors"])]
    assert errors == ([{"text": f"{words['errors']} {counts['errors']}", "color": "red"}]
                      if counts["errors"] > 0 else [])

    _draw(tab.page, task["title"], task_badges)
    _draw(tab.page, meeting["title"], meeting_badges)
    assert tab.page.locator(".double-badge").count() == len(task_badges) + len(meeting_badges)
    _shot(tab.page, f"badges-{locale}")
    assert tab.errors == []


@pytest.mark.parametrize("locale", LOCALES)
def test_nothing_shows_before_the_member_authorises(tabs: Tabs, world: Any, locale: str) -> None:
    tab = tabs.connector(locale, authorised=False)
    assert _run(tab.page, "card-badges", world.meeting_card_id) == []
    assert _run(tab.page, "card-badges", world.task_card_id) == []
    assert _run(tab.page, "card-buttons", world.meeting_card_id) == []
    assert tab.errors == []


@pytest.mark.parametrize("locale", LOCALES)
def test_convert_button_turns_a_new_decision_into_a_task(tabs: Tabs, world: Any,
                                                          locale: str) -> None:
    tab = tabs.connector(locale)
    assert _run(tab.page, "card-buttons", world.task_card_id) == []
    buttons = _run(tab.page, "card-buttons", world.meeting_card_id)
    assert [b["text"] for b in buttons] == [TEXTS[locale]["convert"]]

    marker = f"powerup-{locale}"
    with _webhooks_paused(world):  # so that only the button can turn the line into a task
        world.add_decision_comment(DECISION_LINES[locale].format(marker=marker))
        assert not any(marker in title for title in world.task_titles())
        tab.page.evaluate(
            "([card, text]) => window.__trelloDouble.click('card-buttons', card, text)",
            [world.meeting_card_id, TEXTS[locale]["convert"]])
    alerts = tab.page.evaluate("() => window.__trelloDouble.alerts")
    assert len(alerts) == 1
    assert alerts[0]["display"] == "success", alerts[0]
    assert alerts[0]["message"]
    assert any(marker in title for title in world.task_titles()), world.task_titles()

    meeting = _card_state(world, world.meeting_card_id, locale)["meeting"]
    created = [d for d in meeting["decisions"] if marker in (d["title"] or d["text"])]
    assert [d["state"] for d in created] == ["created"]
    _draw(tab.page, meeting["title"], _run(tab.page, "card-badges", world.meeting_card_id))
    tab.page.evaluate("""(message) => {
        const note = document.createElement('div');
        note.id = 'double-alert';
        note.textContent = message;
        note.style.cssText = 'margin:12px;padding:8px 12px;background:#1f845a;color:#fff;'
            + 'font:14px sans-serif;border-radius:4px;display:inline-block';
        document.body.appendChild(note);
    }""", alerts[0]["message"])
    _shot(tab.page, f"convert-{locale}")
    assert tab.errors == []


def _open_kpi_popup(tabs: Tabs, world: Any, locale: str, shot: str) -> dict[str, Any]:
    """Clicks the board button, opens the popup it asks for, checks it against the API."""
    connector = tabs.connector(locale)
    buttons = _run(connector.page, "board-buttons", None)
    assert [b["text"] for b in buttons] == [TEXTS[locale]["board"]]
    connector.page.evaluate("(text) => window.__trelloDouble.click('board-buttons', null, text)",
                            TEXTS[locale]["board"])
    popups = connector.page.evaluate("() => window.__trelloDouble.popups")
    assert len(popups) == 1
    assert popups[0]["url"].startswith(f"{world.url}/powerup/kpi.html")

    summary = _api(world, f"/api/boards/{world.board_id}/kpi", locale)
    popup = tabs.open(popups[0]["url"], locale=locale, token=world.token, width=320,
                      height=popups[0]["height"] or 520)
    popup.page.wait_for_selector("table.kpis, p.empty")
    assert popup.page.locator("h3.kpi-title").inner_text() == summary["title"]
    rows = popup.page.locator("table.kpis tbody tr")
    if summary["rows"]:
        assert rows.count() == len(summary["rows"])
        for index, row in enumerate(summary["rows"]):
            cells = rows.nth(index).locator("td")
            assert cells.nth(0).inner_text() == row["label"]
            assert cells.nth(1).inner_text() == row["value"]
            # Only a judged metric gets a word; the others a dash, as in the comment.
            assert cells.nth(4).inner_text() == KPI_STATUS[locale].get(row["status"], "—")
        # Every agenda block in order, each with its title, as the API sends them.
        headings = popup.page.locator("h4.kpi-block")
        assert headings.all_inner_texts() == [b["title"] for b in summary["blocks"]]
        assert headings.count() == 10
    else:
        assert popup.page.locator("p.empty").inner_text() == TEXTS[locale]["no_kpi"]
    chart = popup.page.locator("img.chart")
    if summary["chart_png"]:
        assert chart.get_attribute("src") == summary["chart_png"]
        popup.page.wait_for_function(
            "() => document.querySelector('img.chart').naturalWidth > 0")
    else:
        assert chart.count() == 0
    _shot(popup.page, shot)
    assert connector.errors == [] and popup.errors == []
    return summary


@pytest.mark.parametrize("locale", LOCALES)
def test_board_button_opens_the_kpi_popup(tabs: Tabs, world: Any, locale: str) -> None:
    _open_kpi_popup(tabs, world, locale, f"kpi-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_kpi_popup_shows_the_recorded_summary_and_chart(tabs: Tabs, world: Any,
                                                        locale: str) -> None:
    _record_kpis(world)
    summary = _open_kpi_popup(tabs, world, locale, f"kpi-data-{locale}")
    assert {row["metric"] for row in summary["rows"]} >= {"sessions", "conversions"}
    assert summary["chart_png"]


@pytest.mark.parametrize("locale", LOCALES)
def test_card_back_section_lists_the_meeting_decisions(tabs: Tabs, world: Any,
                                                       locale: str) -> None:
    connector = tabs.connector(locale)
    assert _run(connector.page, "card-back-section", world.task_card_id) is None
    section = _run(connector.page, "card-back-section", world.meeting_card_id)
    assert section["title"] == TEXTS[locale]["section"]
    assert section["content"]["type"] == "iframe"
    assert section["content"]["url"].startswith(f"{world.url}/powerup/section.html")

    meeting = _card_state(world, world.meeting_card_id, locale)["meeting"]
    assert meeting["decisions"], "the prepared meeting card should carry decisions"
    tab = tabs.open(section["content"]["url"], locale=locale, token=world.token,
                    height=section["content"]["height"] + 200)
    tab.page.wait_for_selector("table.decisions")
    rows = tab.page.locator("table.decisions tbody tr")
    assert rows.count() == len(meeting["decisions"])
    for index, decision in enumerate(meeting["decisions"]):
        row = rows.nth(index)
        assert row.locator("td.title").inner_text() == (decision["title"] or decision["text"])
        assert row.locator("td.owner").inner_text() == (decision["owner"] or "—")
        link = row.locator("td.task a")
        if decision["task_url"]:
            assert link.get_attribute("href") == decision["task_url"]
        else:
            assert link.count() == 0
    _shot(tab.page, f"section-{locale}")
    assert tab.errors == []


@pytest.mark.parametrize("locale", LOCALES)
def test_card_back_section_asks_for_authorisation(tabs: Tabs, world: Any, locale: str) -> None:
    connector = tabs.connector(locale, authorised=False)
    section = _run(connector.page, "card-back-section", world.meeting_card_id)
    assert section["title"] == TEXTS[locale]["section"]

    tab = tabs.open(section["content"]["url"], locale=locale, token=None)
    button = tab.page.locator("button#authorize")
    button.wait_for()
    assert button.inner_text() == TEXTS[locale]["authorize"]
    _shot(tab.page, f"authorize-{locale}")
    button.click()
    tab.page.wait_for_selector("table.decisions, p.empty")
    calls = tab.page.evaluate("() => window.__trelloDouble.authorizeCalls")
    assert calls == [{"options": {"scope": "read"}, "appKey": world.key}]
    assert tab.errors == []


@pytest.mark.parametrize("locale", LOCALES)
def test_a_line_that_cannot_become_a_task_shows_as_an_error(tabs: Tabs, world: Any,
                                                             locale: str) -> None:
    marker = f"nobody-{locale}"
    with _webhooks_paused(world):
        world.add_decision_comment(UNOWNED_LINES[locale].format(marker=marker))
        tab = tabs.connector(locale)
        tab.page.evaluate(
            "([card, text]) => window.__trelloDouble.click('card-buttons', card, text)",
            [world.meeting_card_id, TEXTS[locale]["convert"]])
    assert not any(marker in title for title in world.task_titles())

    meeting = _card_state(world, world.meeting_card_id, locale)["meeting"]
    assert meeting["counts"]["errors"] > 0
    words = BADGE_WORDS[locale]
    badges = _run(tab.page, "card-badges", world.meeting_card_id)
    assert {"text": f"{words['errors']} {meeting['counts']['errors']}", "color": "red"} in badges

    section = _run(tab.page, "card-back-section", world.meeting_card_id)
    page = tabs.open(section["content"]["url"], locale=locale, token=world.token)
    page.page.wait_for_selector("table.decisions")
    failed = [d for d in meeting["decisions"] if marker in d["text"]]
    assert [d["state"] for d in failed] == ["parse_error"]
    row = page.page.locator("tr.decision", has_text=marker)
    assert row.locator("td.task a").count() == 0
    assert failed[0]["error"] and failed[0]["error"] in row.locator("td.state").inner_text()
    _shot(page.page, f"section-errors-{locale}")
    assert tab.errors == [] and page.errors == []


def test_a_task_moved_to_done_gets_the_done_badge(tabs: Tabs, world: Any) -> None:
    _move_card(world, world.task_card_id, "Done")
    task = _wait_for(lambda: _done_task(world), what="the task to be reported done")
    for locale in LOCALES:
        tab = tabs.connector(locale)
        badges = _run(tab.page, "card-badges", world.task_card_id)
        assert {"text": TEXTS[locale]["done"], "color": "green"} in badges
        assert all(b.get("color") != "red" for b in badges)
        _draw(tab.page, task["title"], badges)
        _shot(tab.page, f"badges-done-{locale}")
        assert tab.errors == []


def test_a_connector_hosted_elsewhere_sends_its_iframes_to_the_service(tabs: Tabs,
                                                                       world: Any) -> None:
    # Not yet authorised: the section is offered on every card, so both iframes are asked for.
    tab = tabs.open(f"{ELSEWHERE}/index.html?key={world.key}&service={world.url}/",
                    locale="en", token=None)
    tab.page.wait_for_function("() => window.__trelloDouble.initialized !== null")
    init = tab.page.evaluate("() => window.__trelloDouble.initialized.options")
    assert init == {"appKey": world.key, "appName": "Planerka"}

    section = _run(tab.page, "card-back-section", world.meeting_card_id)
    tab.page.evaluate("(text) => window.__trelloDouble.click('board-buttons', null, text)",
                      TEXTS["en"]["board"])
    [popup] = tab.page.evaluate("() => window.__trelloDouble.popups")
    for url, page in ((section["content"]["url"], "section.html"), (popup["url"], "kpi.html")):
        assert url.startswith(f"{ELSEWHERE}/{page}?")
        assert parse_qs(urlsplit(url).query) == {"service": [world.url], "key": [world.key]}

    frame = tabs.open(section["content"]["url"], locale="en", token=None)
    frame.page.locator("button#authorize").wait_for()
    assert frame.page.evaluate("() => window.__trelloDouble.iframeOptions") == init
    assert tab.errors == [] and frame.errors == []
