"""The PNG charts of the headline metrics: real PNGs, the same bytes for the same input; the
scorecard chart's structure (panels, "no data", dates, locale-formatted numbers, target) read
from its matplotlib Figure, and its pixels checked where each panel is."""

from __future__ import annotations

import io
import math
import struct
import sys
import zlib
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.kpi import Unit, format_value
from planerka_sync.domain.texts import Locale, short_date
from planerka_sync.render.chart import (
    LINE_COLOR,
    SCORECARD_PERIODS,
    SCORECARD_WIDTH_PX,
    ChartPanel,
    _y_ticks,
    scorecard_chart_png,
    scorecard_figure,
    scorecard_periods,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = date(2026, 9, 7)


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    found, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        kind = png[offset + 4:offset + 8]
        data = png[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + data)
        found.append((kind, data))
        offset += 12 + length
    return found


def test_matplotlib_is_imported_only_when_drawing() -> None:
    import subprocess

    code = ("import sys, planerka_sync.render.chart, planerka_sync.domain.kpi, "
            "planerka_sync.kpi_sources.http_json; print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# --- the scorecard chart ------------------------------------------------------------------------

NBSP = "\u00a0"
WEEKS = [START + timedelta(weeks=i) for i in range(16)]
LABELS: dict[Locale, list[str]] = {
    "ru": ["Визиты", "Конверсия сайта", "Соотношение LTV/CAC", "ROI маркетинга"],
    "en": ["Visits", "Conversion rate", "LTV/CAC ratio", "Marketing ROI"],
}
NO_DATA = {"ru": "нет данных", "en": "no data"}
# 16 weeks: visits with a gap, conversion around its 3 % target, no LTV/CAC at all, ROI patchy.
# Week 14 (WEEKS[13]) has no value anywhere: it gets no tick.
VISITS = [17000, 17500, 18200, 19100, 18800, 20400, 21000, None, 19800, 20600, 21900, 22400,
          21700, None, 23100, 23800]
CONVERSION = [0.02, 0.021, 0.021, 0.024, 0.026, 0.025, 0.029, 0.031, 0.028, 0.033, 0.034, 0.03,
              0.036, None, 0.038, 0.035]
ROI = [0.3, 0.35, 0.42, None, 0.38, -0.05, 0.12, 0.55, None, 0.61, 0.48, None, 0.7, None, 0.66,
       1.05]


def marketing(locale: Locale) -> list[ChartPanel]:
    visits, conversion, ltv_cac, roi = LABELS[locale]
    return [
        ChartPanel(visits, "count", None, list(zip(WEEKS, VISITS, strict=True))),
        ChartPanel(conversion, "%", None, list(zip(WEEKS, CONVERSION, strict=True)), target=0.03),
        ChartPanel(ltv_cac, "ratio", None, [(day, None) for day in WEEKS], target=3.0),
        ChartPanel(roi, "%", 0, list(zip(WEEKS, ROI, strict=True))),
    ]


# The periods the chart shows: the last 13 with any value (week 14 has none).
SHOWN = [day for day in WEEKS if day != WEEKS[13]][-SCORECARD_PERIODS:]


def by_gid(axes: Any, gid: str) -> list[Any]:
    return [a for a in [*axes.lines, *axes.texts] if a.get_gid() == gid]


def labels_of(texts: Sequence[Any]) -> list[str]:
    return [t.get_text() for t in texts]


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_one_panel_per_headline_metric(locale: Locale) -> None:
    figure = scorecard_figure(marketing(locale), "KPI", locale)
    assert [axes.get_title(loc="left") for axes in figure.axes] == LABELS[locale]
    assert [axes.get_gid() for axes in figure.axes] == ["data", "data", "no-data", "data"]
    assert [t.get_text() for t in figure.texts] == ["KPI"]  # the suptitle (3.7: no getter)


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_metric_without_data_says_so_instead_of_an_empty_plot(locale: Locale) -> None:
    figure = scorecard_figure(marketing(locale), "KPI", locale)
    empty = figure.axes[2]
    assert not empty.axison  # no axes, no ticks, no -0.05...0.05 scale
    assert len(empty.lines) == 0 and empty.get_legend() is None
    assert labels_of(empty.texts) == [NO_DATA[locale]]
    # Values only before the shown periods count as none.
    old = ChartPanel("old", "count", None, [(WEEKS[0], 5.0)])
    figure = scorecard_figure([*marketing(locale), old], "KPI", locale)
    assert figure.axes[-1].get_gid() == "no-data" and not figure.axes[-1].axison


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_dates_only_for_periods_with_data_under_the_lowest_panel(locale: Locale) -> None:
    assert scorecard_periods(marketing(locale)) == SHOWN
    assert len(SHOWN) == SCORECARD_PERIODS == 13
    figure = scorecard_figure(marketing(locale), "KPI", locale)
    visits, conversion, _, roi = figure.axes
    dates = [short_date(day, locale) for day in SHOWN]
    assert labels_of(roi.get_xticklabels()) == dates
    assert (dates[0], dates[-1]) == (("21.09.2026", "21.12.2026") if locale == "ru"
                                     else ("2026-09-21", "2026-12-21"))
    # The panels above share the ticks, without repeating the dates.
    for axes in (visits, conversion):
        assert list(axes.get_xticks()) == list(range(len(SHOWN)))
        assert all(label == "" for label in labels_of(axes.get_xticklabels()))


def test_no_tick_for_a_period_without_any_value() -> None:
    figure = scorecard_figure(marketing("en"), "KPI", "en")
    assert WEEKS[13].isoformat() not in labels_of(figure.axes[-1].get_xticklabels())
    # The visits' gap week is still a period of the others: a tick, a gap in the line.
    values = by_gid(figure.axes[0], "values")[0].get_ydata()
    assert math.isnan(values[SHOWN.index(WEEKS[7])])
    assert by_gid(figure.axes[0], "bridge")  # the dotted bridge across it


def test_y_labels_and_the_latest_value_in_the_readers_format() -> None:
    ru = scorecard_figure(marketing("ru"), "KPI", "ru")
    en = scorecard_figure(marketing("en"), "KPI", "en")
    assert labels_of(ru.axes[0].get_yticklabels()) == [f"{n}{NBSP}000" for n in (18, 20, 22, 24)]
    assert labels_of(en.axes[0].get_yticklabels()) == ["18,000", "20,000", "22,000", "24,000"]
    assert labels_of(ru.axes[1].get_yticklabels()) == [
        f"{n}{NBSP}%" for n in ("2,0", "2,5", "3,0", "3,5", "4,0")]
    assert labels_of(en.axes[1].get_yticklabels()) == ["2.0%", "2.5%", "3.0%", "3.5%", "4.0%"]
    assert labels_of(by_gid(ru.axes[0], "last-value")) == [f"23{NBSP}800"]
    assert labels_of(by_gid(en.axes[0], "last-value")) == ["23,800"]
    assert labels_of(by_gid(ru.axes[1], "last-value")) == [f"3,5{NBSP}%"]
    assert labels_of(by_gid(en.axes[3], "last-value")) == ["105%"]  # the panel's 0 decimals
    assert labels_of(ru.axes[3].get_yticklabels())[0] == f"\u221250{NBSP}%"  # a true minus


def test_the_target_line_when_a_target_is_given() -> None:
    for locale, words in (("ru", f"цель 3,0{NBSP}%"), ("en", "target 3.0%")):
        figure = scorecard_figure(marketing(locale), "KPI", locale)
        conversion = figure.axes[1]
        (line,) = by_gid(conversion, "target")
        assert list(line.get_ydata()) == [0.03, 0.03] and line.get_linestyle() == "--"
        assert labels_of(conversion.get_legend().get_texts()) == [words]
        assert not by_gid(figure.axes[0], "target") and figure.axes[0].get_legend() is None


@pytest.mark.parametrize(("value", "unit"), [(0.0, "count"), (0.0, "%"), (0.0, "ratio"),
                                             (20000.0, "count"), (-0.2, "%"), (3.0, "ratio")])
def test_a_flat_series_gets_a_readable_scale(value: float, unit: Unit) -> None:
    points = [(day, value) for day in WEEKS[:5]]
    axes = scorecard_figure([ChartPanel("x", unit, None, points)], "KPI", "en").axes[0]
    low, high = axes.get_ylim()
    assert low <= value <= high
    # Not matplotlib's ±0.05 around a lone value, and no negative scale for non-negative data.
    assert high - low >= 5 * (0.001 if unit == "%" else 0.01 if unit == "ratio" else 1)
    ticks = list(axes.get_yticks())
    assert (value >= 0 and ticks[0] >= 0) or value < 0
    labels = labels_of(axes.get_yticklabels())
    assert len(set(labels)) == len(labels) >= 2


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=13),
    unit=st.sampled_from(["%", "₽", "count", "ratio", "s"]),
    decimals=st.none() | st.integers(0, 3),
)
def test_y_ticks_cover_the_values_with_distinct_labels(
    values: list[float], unit: Unit, decimals: int | None
) -> None:
    ticks = _y_ticks(values, unit, decimals)
    assert 2 <= len(ticks) <= 7
    slack = (ticks[1] - ticks[0]) * 1e-6  # float noise, a millionth of a step
    assert ticks[0] - slack <= min(values) and max(values) <= ticks[-1] + slack
    assert ticks == sorted(ticks)
    if min(values) >= 0:
        assert ticks[0] >= 0
    labels = [format_value(t, unit, "en", decimals) for t in ticks]
    assert len(set(labels)) == len(labels)


def test_at_most_thirteen_periods() -> None:
    many = [ChartPanel("x", "count", None, [(START + timedelta(weeks=i), float(i))
                                            for i in range(30)])]
    periods = scorecard_periods(many)
    assert len(periods) == 13 and periods[-1] == START + timedelta(weeks=29)
    recent = [ChartPanel("x", "count", None, [p for p in many[0].points if p[0] in periods])]
    assert scorecard_chart_png(recent, "KPI", "en") == scorecard_chart_png(many, "KPI", "en")


def test_many_metrics_in_two_columns_each_with_its_dates() -> None:
    panels = [ChartPanel(f"m{i}", "count", None, [(day, float(i + k)) for k, day in
                                                  enumerate(WEEKS[:6])]) for i in range(8)]
    figure = scorecard_figure(panels, "KPI", "en")
    assert len(figure.axes) == 8
    dated = [axes for axes in figure.axes if any(labels_of(axes.get_xticklabels()))]
    assert [a.get_title(loc="left") for a in dated] == ["m6", "m7"]  # the bottom row


@pytest.mark.parametrize("panels", [[], [ChartPanel("x", "count", None, [])],
                                    [ChartPanel("x", "%", None, [(START, None)])],
                                    [ChartPanel("x", "%", None, [(START, math.nan)])]])
def test_nothing_to_draw_still_draws(panels: list[ChartPanel]) -> None:
    png = scorecard_chart_png(panels, "KPI", "ru")
    assert png.startswith(PNG_SIGNATURE)
    figure = scorecard_figure(panels, "KPI", "ru")
    assert all(not axes.lines for axes in figure.axes)
    assert any(t.get_text() == "нет данных" for t in [*figure.texts, *(
        t for axes in figure.axes for t in axes.texts)])


def line_pixels(image: Any, box: tuple[int, int, int, int]) -> int:
    """Pixels within the box close to the line's colour (antialiased edges are lighter)."""
    target = tuple(int(LINE_COLOR[i:i + 2], 16) for i in (1, 3, 5))
    data = image.convert("RGB").crop(box).tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    return sum(1 for pixel in pixels
               if all(abs(c - t) <= 30 for c, t in zip(pixel, target, strict=True)))


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_the_png_shows_lines_where_there_is_data_and_none_where_not(locale: Locale) -> None:
    from PIL import Image

    png = scorecard_chart_png(marketing(locale), "KPI", locale)
    image = Image.open(io.BytesIO(png))
    assert image.width == SCORECARD_WIDTH_PX and 400 <= image.height <= 900
    figure = scorecard_figure(marketing(locale), "KPI", locale)
    assert (image.width, image.height) == tuple(round(v) for v in figure.bbox.size)
    for axes in figure.axes:
        extent = axes.get_window_extent()
        box = (math.floor(extent.x0), math.floor(image.height - extent.y1),
               math.ceil(extent.x1), math.ceil(image.height - extent.y0))
        found = line_pixels(image, box)
        if axes.get_gid() == "data":
            assert found > 200, axes.get_title(loc="left")
        else:
            assert found == 0, axes.get_title(loc="left")


def test_scorecard_same_input_same_bytes() -> None:
    png = scorecard_chart_png(marketing("ru"), "KPI", "ru")
    assert png == scorecard_chart_png(list(marketing("ru")), "KPI", "ru")
    assert png != scorecard_chart_png(marketing("en"), "KPI", "en")
    assert png != scorecard_chart_png(marketing("ru"), "KPI 2", "ru")
    parts = chunks(png)
    assert not any(kind in (b"tEXt", b"iTXt", b"zTXt", b"tIME") and b"Software" in data
                   for kind, data in parts)
    assert all(kind != b"tIME" for kind, _ in parts)


def test_a_users_matplotlibrc_changes_nothing(tmp_path: Path) -> None:
    import os
    import subprocess

    (tmp_path / "matplotlibrc").write_text(
        "font.size: 20\nlines.linewidth: 9\nfont.family: serif\naxes.facecolor: black\n",
        encoding="utf-8")
    code = ("import sys; from tests.unit.test_chart import marketing; "
            "from planerka_sync.render.chart import scorecard_chart_png; "
            "sys.stdout.buffer.write(scorecard_chart_png(marketing('ru'), 'KPI', 'ru'))")
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                            env=env, cwd=root)
    assert result.stdout == scorecard_chart_png(marketing("ru"), "KPI", "ru")
