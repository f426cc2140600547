"""Every surface tells the same, honest KPI story: a fake clock over three weekly periods, the last
with no visits recorded and a source that fails. The KPI comment on the tracker (read back over
its REST API), the HTML report, ``kpi show`` and the Power-Up's KPI data all say "no data for the
period" for that week, give the last value with its period, name the source error in the team's
language, and list the ten agenda blocks in order with every metric once."""

from __future__ import annotations

import copy
import re
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from planerka_sync.cli import cli
from planerka_sync.config import HttpJsonSource, read_yaml
from planerka_sync.demo import _jira_tracker
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service.cards import kpi_view
from planerka_sync.service.kpi import record
from planerka_sync.service.progress import progress
from planerka_sync.service.report import html_report
from planerka_sync.templates import builtin_dir
from tests.integration.test_prepare import World, jira_auth, jira_text, meeting_items
from tests.integration.test_status import run

AUTH = {"key": "k", "token": "t"}
SERIES = "marketing-weekly"
BLOCKS = {
    "ru": ["1. Трафик сайта", "2. Конверсии", "3. CAC и LTV", "4. ROI", "5. Рекламный бюджет",
           "6. Социальные сети", "7. Email-маркетинг", "8. SEO", "9. UX/UI",
           "10. Аналитика и отчётность"],
    "en": ["1. Site traffic", "2. Conversions", "3. CAC and LTV", "4. ROI", "5. Ad budget",
           "6. Social media", "7. Email marketing", "8. SEO", "9. UX/UI",
           "10. Analytics and reporting"],
}
# What each language must say about visits in the week before 14.12 (nothing recorded), and
# about followers (its source is down); the last visits were 20 000, recorded for 06.12.
SAYS = {
    "ru": ["нет данных за период; последнее значение 20 000 (период до 07.12.2026)",
           "нет данных за период: источник недоступен"],
    "en": ["no data for the period; last value 20,000 (period ending 2026-12-07)",
           "no data for the period: the source is unreachable"],
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["trello", "jira-cloud"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    server = SandboxServer(make_emulator(request.param)).start()
    try:
        source = HttpJsonSource(url=f"http://127.0.0.1:{closed_port()}/metrics", timeout=2,
                                pointers={"followers": "/followers"})
        yield World(request.param, server, f"sqlite:///{tmp_path / 'state.db'}",
                    config_changes={"kpi_sources": [source]})
    finally:
        server.stop()


def three_weeks(world: World, locale: str) -> None:
    """Meetings on Mondays 30.11, 07.12 and 14.12; visits recorded for the first two weeks only,
    followers once by hand; progress runs an hour before the third meeting."""
    world.config_changes["locale"] = locale
    app = world.app()
    try:
        record(app, SERIES, {"sessions": 18000, "conversions": 450}, date(2026, 11, 29), "manual")
        record(app, SERIES, {"sessions": 20000, "conversions": 500, "followers": 900},
               date(2026, 12, 6), "manual")
    finally:
        app.store.close()
    for day in (26, 3, 10):  # prepare runs in the days before each meeting
        world.now = datetime(2026, 11 if day == 26 else 12, day, 9, tzinfo=UTC)
        world.prepare()
    world.now = datetime(2026, 12, 14, 6, tzinfo=UTC)  # 09:00 in Moscow
    run(world, progress)


def kpi_comment(world: World) -> str:
    last = max(meeting_items(world), key=lambda i: meeting_day(i["title"]))
    if world.flavour == "trello":
        actions = requests.get(f"{world.server.url}/1/cards/{last['id']}/actions",
                               params={**AUTH, "filter": "commentCard"}, timeout=5).json()
        texts = [a["data"]["text"] for a in actions]
    else:
        found = requests.get(f"{world.server.url}/rest/api/3/issue/{last['key']}/comment",
                             headers=jira_auth(world), timeout=5).json()["comments"]
        texts = [jira_text(c["body"]) for c in found]
    [kpi] = [t for t in texts if "planerka:kpi" in t]
    # As people see it: markdown escapes (a backslash before "." in "1. SEO") are not shown.
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|])", r"\1", kpi).replace("\u00a0", " ")


def meeting_day(title: str) -> date:
    """The date in a meeting's title: '... — 14.12.2026 10:00' (ru) or '2026-12-14 10:00' (en)."""
    found = re.search(r"(\d\d)\.(\d\d)\.(\d{4})|(\d{4})-(\d\d)-(\d\d)", title)
    assert found is not None, title
    day, month, year, iso_year, iso_month, iso_day = found.groups()
    if iso_year:
        return date(int(iso_year), int(iso_month), int(iso_day))
    return date(int(year), int(month), int(day))


def in_order(text: str, titles: list[str]) -> bool:
    positions = [text.find(title) for title in titles]
    return -1 not in positions and positions == sorted(positions)


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_surface_says_no_data_for_the_week_the_last_value_and_the_source_error(
        world: World, locale: str, tmp_path: Path) -> None:
    three_weeks(world, locale)
    comment = kpi_comment(world)
    report = re.sub(r"<[^>]+>", " ", run(world, html_report)).replace("\u00a0", " ")
    shown = show(world, tmp_path)
    popup = run(world, kpi_view, locale=locale)
    popup_text = " ".join(
        " ".join([block["title"], *(f"{row['label']} {row['value']}" for row in block["rows"]),
                  *block["notes"]]) for block in popup["blocks"]).replace("\u00a0", " ")

    for surface, text in (("comment", comment), ("report", report), ("kpi show", shown),
                          ("power-up", popup_text)):
        for phrase in SAYS[locale]:
            assert phrase in text, (surface, phrase)
        assert in_order(text, BLOCKS[locale]), surface
        assert "20 000 (+11,1" not in text and "20,000 (+11.1" not in text, surface
    assert [b["title"] for b in popup["blocks"]] == BLOCKS[locale]
    metrics = [row["metric"] for block in popup["blocks"] for row in block["rows"]]
    assert len(metrics) == len(set(metrics))


def show(world: World, tmp_path: Path) -> str:
    """`kpi show` for the period of the 14.12 meeting, run by the CLI on the same state DB, with
    the demo config the world runs on (written as a person would write it)."""
    raw = copy.deepcopy(read_yaml(builtin_dir() / "demo.yaml"))
    if world.flavour != "trello":
        raw["tracker"] = _jira_tracker(world.flavour)
    raw["tracker"]["url"] = world.server.url
    raw |= {"database": world.db_url, "locale": world.config_changes["locale"]}
    config = tmp_path / "planerka.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(cli, ["-c", str(config), "kpi", "show", "--period-end",
                                      "2026-12-14"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output.replace("\u00a0", " ")
