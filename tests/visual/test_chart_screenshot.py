"""The scorecard chart in the HTML report page, in Chromium, at a phone's and a desktop's width,
in Russian and English: fully shown, never wider than the screen, not blank. The screenshots
stay in the artifacts directory (tests/visual/conftest.py) for people to look at."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from planerka_sync.domain.texts import Locale
from planerka_sync.render.chart import SCORECARD_WIDTH_PX, ChartPanel, scorecard_chart_png
from planerka_sync.render.html import html_page
from tests.visual.conftest import Screenshots

PHONE, DESKTOP = 390, 1280
WEEKS = [date(2026, 9, 7) + timedelta(weeks=i) for i in range(13)]
VISITS = [18200, 19100, 18800, 20400, 21000, None, 19800, 20600, 21900, 22400, 21700, 23100,
          23800]
CONVERSION = [0.021, 0.024, 0.026, 0.025, 0.029, 0.031, 0.028, 0.033, 0.034, 0.03, 0.036, 0.038,
              0.035]
ROI = [0.42, None, 0.38, -0.05, 0.12, 0.55, None, 0.61, 0.48, None, 0.7, 0.66, 1.05]
TEXTS: dict[Locale, tuple[str, list[str]]] = {
    "ru": ("Показатели (KPI) — период до 30.11.2026",
           ["Визиты", "Конверсия сайта", "Соотношение LTV/CAC", "ROI маркетинга"]),
    "en": ("Metrics (KPI) — period ending 2026-11-30",
           ["Visits", "Conversion rate", "LTV/CAC ratio", "Marketing ROI"]),
}


def chart(locale: Locale) -> tuple[str, bytes]:
    title, (visits, conversion, ltv_cac, roi) = TEXTS[locale]
    panels = [
        ChartPanel(visits, "count", None, list(zip(WEEKS, VISITS, strict=True))),
        ChartPanel(conversion, "%", None, list(zip(WEEKS, CONVERSION, strict=True)), target=0.03),
        ChartPanel(ltv_cac, "ratio", None, [(day, None) for day in WEEKS], target=3.0),
        ChartPanel(roi, "%", 0, list(zip(WEEKS, ROI, strict=True))),
    ]
    return title, scorecard_chart_png(panels, title, locale)


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
@pytest.mark.parametrize("locale", ["ru", "en"])
def test_the_chart_fits_the_screen(screenshot: Screenshots, locale: Locale, width: int) -> None:
    title, png = chart(locale)
    page = html_page(title, [], lang=locale, images=[(title, png)])
    path = screenshot(page, f"chart-{locale}", width)
    facts = screenshot.facts
    assert facts is not None and path.is_file()
    (image,) = facts.images
    assert image.complete and image.natural_width == SCORECARD_WIDTH_PX
    assert image.natural_height > 0
    # Shown whole: scaled down to the screen (max-width: 100%), never cut off or scrolled to.
    assert image.left >= 0 and image.right <= facts.viewport_width
    assert facts.scroll_width <= facts.viewport_width
    if width == PHONE:
        assert image.width < SCORECARD_WIDTH_PX / 2  # scaled, not overflowing
    else:
        assert image.width == SCORECARD_WIDTH_PX  # the report's column (960 px) holds it 1:1
    assert image.height == pytest.approx(
        image.width * image.natural_height / image.natural_width, abs=1)
    assert facts.ink > 0.03  # not a blank page: the chart's lines, text and grid
