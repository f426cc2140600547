"""The PNG chart of the headline metrics attached to the meeting item.

:func:`scorecard_chart_png` draws the scorecard chart: one small panel per headline metric, each
on its own scale, stacked over a shared axis of the last :data:`SCORECARD_PERIODS` periods that
have any data.

matplotlib is imported only here, inside the functions: importing it costs a second or more, and
every other command (and the daemon's idle ticks) should not pay that. The bytes depend only on
the input (no timestamp or version in the PNG), so an unchanged chart hashes the same and is not
uploaded again.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from planerka_sync.domain.kpi import Unit, format_value
from planerka_sync.domain.texts import Locale, short_date

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
# PNG text chunks matplotlib would write: "Software" carries its version. None drops a key.
_NO_METADATA: dict[str, Any] = {"Software": None}


# --- the scorecard chart ------------------------------------------------------------------------

SCORECARD_PERIODS = 13  # a quarter of weeks, as an EOS-style scorecard shows
SCORECARD_WIDTH_PX = 900  # Jira's and Trello's previews and the HTML report (max 960 px) alike
LINE_COLOR = "#1f5fbf"
TARGET_COLOR = "#c2410c"
MUTED_COLOR = "#6e7781"
_PANEL_HEIGHT_IN = 1.5  # a panel with data; a "no data" one takes a third of it
_NO_DATA_SHARE = 1 / 3
_HEADER_IN, _FOOTER_IN = 0.5, 0.55  # the title above, the dates below
_MAX_ROWS = 6  # more panels than this go into two columns
_Y_BINS = 4  # about this many gaps between the y ticks
_SCORECARD_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans", "font.size": 10, "figure.facecolor": "white",
    "axes.grid": True, "axes.grid.axis": "y", "grid.color": "#d0d7de", "grid.linewidth": 0.8,
    "axes.edgecolor": "#8c959f", "axes.spines.top": False, "axes.spines.right": False,
    "xtick.color": "#57606a", "ytick.color": "#57606a", "xtick.labelcolor": "#24292f",
    "ytick.labelcolor": "#24292f",
}
_CHART_WORDS: dict[str, dict[Locale, str]] = {
    "no_data": {"ru": "нет данных", "en": "no data"},
    "target": {"ru": "цель", "en": "target"},
}


@dataclass(frozen=True)
class ChartPanel:
    """One headline metric's panel."""

    label: str  # the metric's title in the reader's language
    unit: Unit  # "%" values are fractions: 0.034 is 3.4 %
    decimals: int | None  # None: the unit's usual number of decimals
    points: Sequence[tuple[date, float | None]]  # one per period, oldest first; None: no data
    target: float | None = None  # a dashed horizontal line, labelled "цель" / "target"


def scorecard_chart_png(panels: Sequence[ChartPanel], title: str, locale: Locale) -> bytes:
    """The scorecard chart as PNG bytes, the same bytes for the same input.

    One panel per metric, each on its own y scale, over the last :data:`SCORECARD_PERIODS`
    periods in which at least one metric has a value (a period with no value anywhere gets no
    tick). A metric without a value in those periods shows "нет данных" / "no data" instead of
    an empty plot. Numbers are formatted as in the comment (``format_value``), dates with
    ``short_date``; ``width`` is :data:`SCORECARD_WIDTH_PX`, the height grows with the panels."""
    from matplotlib import style

    with style.context(["default", _SCORECARD_STYLE]):
        figure = _scorecard(panels, title, locale)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata=_NO_METADATA)
    return buffer.getvalue()


def scorecard_figure(panels: Sequence[ChartPanel], title: str, locale: Locale) -> Figure:
    """The same chart as a laid-out matplotlib Figure (for tests: its axes, lines and texts)."""
    from matplotlib import style

    with style.context(["default", _SCORECARD_STYLE]):
        figure = _scorecard(panels, title, locale)
        figure.canvas.draw()  # lays it out as savefig would: window extents are the PNG's
    return figure


def scorecard_periods(panels: Sequence[ChartPanel]) -> list[date]:
    """The last :data:`SCORECARD_PERIODS` periods in which any panel has a value, oldest first."""
    days = sorted({day for panel in panels for day, value in panel.points if _shown(value)})
    return days[-SCORECARD_PERIODS:]


def _shown(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _scorecard(panels: Sequence[ChartPanel], title: str, locale: Locale) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    periods = scorecard_periods(panels)
    values = [_values_at(panel, periods) for panel in panels]
    has_data = [any(v is not None for v in row) for row in values]
    columns = 1 if len(panels) <= _MAX_ROWS else 2
    rows = max(1, math.ceil(len(panels) / columns))
    # A row of "no data" panels only needs room for its title and the words.
    heights = [1.0 if any(has_data[i] for i in range(r * columns, min(len(panels),
                                                                      (r + 1) * columns)))
               else _NO_DATA_SHARE for r in range(rows)]
    height_in = _HEADER_IN + _FOOTER_IN + _PANEL_HEIGHT_IN * sum(heights)
    layout = ConstrainedLayoutEngine(h_pad=0.06, w_pad=0.1, hspace=0.06, wspace=0.06)
    figure = Figure(figsize=(SCORECARD_WIDTH_PX / DPI, height_in), dpi=DPI, layout=layout)
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left", color="#24292f")
    if not panels:
        figure.text(0.5, 0.5, _CHART_WORDS["no_data"][locale], ha="center", va="center",
                    fontsize=11, color=MUTED_COLOR)
        return figure
    grid = figure.add_gridspec(rows, columns, height_ratios=heights)
    # The dates go under the lowest panel with data in each column; the others share its ticks.
    lowest: dict[int, int] = {}
    for index, shown in enumerate(has_data):
        if shown:
            lowest[index % columns] = index
    for index, panel in enumerate(panels):
        axes = figure.add_subplot(grid[index // columns, index % columns])
        axes.set_title(panel.label, loc="left", fontsize=11, fontweight="bold", color="#24292f",
                       pad=5)
        if not has_data[index]:
            _no_data(axes, locale)
            continue
        _plot(axes, panel, values[index], locale)
        dates = [short_date(day, locale) for day in periods]
        axes.set_xticks(range(len(periods)), dates if lowest[index % columns] == index else [])
        axes.set_xlim(-0.4, len(periods) - 0.6)
        if lowest[index % columns] == index:
            _fit_dates(axes, dates, columns)
    return figure


def _values_at(panel: ChartPanel, periods: Sequence[date]) -> list[float | None]:
    by_day = {day: value for day, value in panel.points if _shown(value)}
    return [by_day.get(day) for day in periods]


def _no_data(axes: Axes, locale: Locale) -> None:
    axes.set_axis_off()
    axes.set_gid("no-data")
    axes.text(0.5, 0.45, _CHART_WORDS["no_data"][locale], transform=axes.transAxes,
              ha="center", va="center", fontsize=11, color=MUTED_COLOR, style="italic")


def _plot(axes: Axes, panel: ChartPanel, values: Sequence[float | None], locale: Locale) -> None:
    axes.set_gid("data")
    xs = [i for i, v in enumerate(values) if v is not None]
    ys = [v for v in values if v is not None]
    if len(xs) < len(values) and len(xs) > 1:
        # Across a gap, a faint dotted bridge keeps the trend readable; the gap stays visible.
        axes.plot(xs, ys, linestyle=":", linewidth=1.2, color=LINE_COLOR, alpha=0.45,
                  gid="bridge")
    axes.plot(range(len(values)), [math.nan if v is None else v for v in values],
              color=LINE_COLOR, linewidth=2, marker="o", markersize=4.5, gid="values")
    ticks = _y_ticks([*ys, *([] if panel.target is None else [panel.target])], panel.unit,
                     panel.decimals)
    axes.set_yticks(ticks, [format_value(t, panel.unit, locale, panel.decimals) for t in ticks])
    low_tick, high_tick = ticks[0], ticks[-1]
    margin = high_tick * 0.08 - low_tick * 0.08  # not (high - low): that may overflow
    axes.set_ylim(low_tick - margin, high_tick + margin)
    axes.tick_params(axis="both", length=0, pad=4)
    if low_tick < 0 < high_tick:
        axes.axhline(0, color="#6e7781", linewidth=1, zorder=1.2, gid="zero")
    if panel.target is not None:
        # Labelled in the panel's title row (as a one-entry legend), where no point can hide it.
        shown = format_value(panel.target, panel.unit, locale, panel.decimals)
        axes.axhline(panel.target, color=TARGET_COLOR, linestyle=(0, (5, 3)), linewidth=1.4,
                     zorder=1.5, gid="target", label=f"{_CHART_WORDS['target'][locale]} {shown}")
        axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9,
                    borderaxespad=0.0, borderpad=0.2, handlelength=2.4, labelcolor=TARGET_COLOR)
    # The latest value beside its point. Room for it is kept by a transparent copy at the
    # plot's right edge: its overhang does not depend on the plot's width, so the constrained
    # layout settles in one pass (the label itself, placed in data coordinates, would not).
    shown = format_value(ys[-1], panel.unit, locale, panel.decimals)
    look: dict[str, Any] = {"xytext": (7, 0), "textcoords": "offset points", "ha": "left",
                            "va": "center", "fontsize": 11, "fontweight": "bold",
                            "color": LINE_COLOR}
    label = axes.annotate(shown, xy=(xs[-1], ys[-1]), gid="last-value", **look)
    label.set_in_layout(False)
    axes.annotate(shown, xy=(1, ys[-1]), xycoords=("axes fraction", "data"), alpha=0.0,
                  gid="room", **look)


def _fit_dates(axes: Axes, dates: Sequence[str], columns: int) -> None:
    """Slanted when the dates do not fit side by side at this width."""
    axis_px = SCORECARD_WIDTH_PX / columns - 150  # minus the y labels and the last value
    font_pt = 9.0
    label_px = max((len(d) for d in dates), default=0) * font_pt * DPI / 72 * 0.62
    slanted = label_px * len(dates) > axis_px * 0.9
    for label in axes.get_xticklabels():
        label.set_fontsize(font_pt)
        if slanted:
            label.set_rotation(35)
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")


def _decimal_places(unit: Unit, decimals: int | None) -> int:
    """How many decimals ``format_value`` shows for this unit: the y ticks step by at least one
    unit of the last shown digit, so no two tick labels read the same."""
    found = re.search(r"\.(\d+)", format_value(0.0, unit, "en", decimals))
    return len(found.group(1)) if found else 0


def _y_ticks(values: Sequence[float], unit: Unit, decimals: int | None) -> list[float]:
    """Round tick values covering ``values``: a step of 1, 2, 2.5 or 5 times a power of ten, never
    finer than the shown decimals; a flat series gets a small span around its value (not the
    ±0.05 matplotlib puts around a single 0), and non-negative data no negative tick."""
    scale = 100.0 if unit == "%" else 1.0  # ticks are chosen in the numbers people read
    quantum = 10.0 ** -_decimal_places(unit, decimals)
    low, high = min(values) * scale, max(values) * scale
    if not math.isfinite(high - low):  # beyond any real metric: just the extremes
        return [min(values), max(values)]
    if high - low < quantum:
        pad = max(abs(high) * 0.1, 5 * quantum)
        low, high = (0.0 if low >= 0 and low - pad < 0 else low - pad), high + pad
    step = _nice_step((high - low) / _Y_BINS, quantum)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    if first == last:
        last += 1
    return [(k * step) / scale for k in range(first, last + 1)]


def _nice_step(rough: float, quantum: float) -> float:
    """The smallest round step >= rough that is a whole multiple of ``quantum``."""
    multiples = rough / quantum
    if multiples <= 1:
        return quantum
    power = 10 ** math.floor(math.log10(multiples))
    for factor in (1, 2, 2.5, 5, 10):
        candidate = factor * power
        if candidate >= multiples * (1 - 1e-9) and float(candidate).is_integer():
            return candidate * quantum
    return 10 * power * quantum
