"""The HTML report of a real series (Trello sandbox, fake clock, 13 weeks of KPIs, a week with no
data and a failing source) in Chromium, in Russian and English, at a phone's and a desktop's
width: the page never scrolls sideways (wide tables scroll inside themselves), the chart is shown
whole, all ten agenda blocks are there in order; the chart's panels each show a line or say "no
data", with locale-formatted ticks. Screenshots stay in the artifacts directory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from planerka_sync.domain.texts import Locale
from planerka_sync.render.chart import scorecard_figure
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service.kpi import chart_title, headline_panels, kpi_report, record
from planerka_sync.service.report import html_report
from tests.integration.test_prepare import World
from tests.integration.test_scorecard_surfaces import BLOCKS, SERIES, three_weeks
from tests.integration.test_status import run
from tests.visual.conftest import Screenshots

PHONE, DESKTOP = 390, 1280
NO_DATA = {"ru": "нет данных", "en": "no data"}
NBSP = "\u00a0"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    server = SandboxServer(make_emulator("trello")).start()
    try:
        yield World("trello", server, f"sqlite:///{tmp_path / 'state.db'}")
    finally:
        server.stop()


def quarter_of_kpis(world: World) -> None:
    """Twelve weeks of traffic, conversions and money before the three weeks of the story."""
    app = world.app()
    try:
        for week in range(12):
            record(app, SERIES, {
                "sessions": 15000 + week * 400, "conversions": 380 + week * 8,
                "marketing_spend": 380000, "new_customers": 90 + week, "revenue": 900000,
            }, date(2026, 9, 6) + timedelta(weeks=week), "manual")
    finally:
        app.store.close()


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_the_report_reads_on_a_phone_and_a_desktop(screenshot: Screenshots, world: World,
                                                   locale: Locale) -> None:
    quarter_of_kpis(world)
    three_weeks(world, locale)
    page = run(world, html_report)

    headings = re.findall(r"<h3>([^<]+)</h3>", page)
    assert [h for h in headings if h in BLOCKS[locale]] == BLOCKS[locale]
    for width in (PHONE, DESKTOP):
        path = screenshot(page, f"report-{locale}", width)
        facts = screenshot.facts
        assert facts is not None and path.is_file() and facts.ink > 0.02
        assert facts.scroll_width <= facts.viewport_width  # no sideways scrolling
        (chart,) = facts.images
        assert chart.complete and chart.natural_width > 0
        assert chart.left >= 0 and chart.right <= facts.viewport_width


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_the_reports_chart_has_no_empty_panel_and_local_numbers(world: World,
                                                                locale: Locale) -> None:
    quarter_of_kpis(world)
    three_weeks(world, locale)
    app = world.app()
    try:
        card = kpi_report(app, app.config.meetings[0], date(2026, 12, 14),
                          fetch_sources=False).scorecard
    finally:
        app.store.close()
    figure = scorecard_figure(headline_panels(card), chart_title(card, locale), locale)
    panels = [axes for axes in figure.axes if axes.get_title(loc="left")]
    headline = [r.title for r in card.rows() if r.metric.headline]
    assert [a.get_title(loc="left") for a in panels] == headline
    for axes in panels:
        drawn = any(len(line.get_xdata()) for line in axes.get_lines())
        says_no_data = any(t.get_text() == NO_DATA[locale] for t in axes.texts)
        # A line, or "no data": never an empty panel.
        assert drawn != says_no_data, axes.get_title(loc="left")
    visits = panels[0]
    ticks = [t.get_text() for t in visits.get_yticklabels() if t.get_text()]
    big = [t for t in ticks if len(t.replace(NBSP, "").replace(",", "")) > 3]
    assert big, ticks
    if locale == "ru":
        assert all(NBSP in t and "," not in t for t in big), ticks  # 16 000, not 16,000
    else:
        assert all("," in t for t in big), ticks
