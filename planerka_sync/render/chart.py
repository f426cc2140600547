"""The PNG chart of the headline metrics attached to the meeting item.

matplotlib is imported only here, inside the function: importing it costs a second or more, and
every other command (and the daemon's idle ticks) should not pay that. The bytes depend only on
the input (no timestamp or version in the PNG), so an unchanged chart hashes the same and is not
uploaded again.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

MAX_PERIODS = 8
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.0, 100  # 800 x 400 px
_MAX_COLUMNS = 3

Series = Sequence[tuple[date, float | None]]


def kpi_chart_png(series: Mapping[str, Series], title: str) -> bytes:
    """One small panel per metric (each with its own scale: visits and ROI share no axis) over
    the last :data:`MAX_PERIODS` periods of any series; a missing value is a gap in the line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    periods = last_periods(series)
    # The library's defaults under our few settings, not the user's matplotlibrc: the same
    # input gives the same bytes on every machine with the same matplotlib.
    with style.context(["default", _STYLE]):
        figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        FigureCanvasAgg(figure)
        figure.suptitle(title, fontsize=11)
        _panels(figure, series, periods)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata=_NO_METADATA)
    return buffer.getvalue()


# PNG text chunks matplotlib would write: "Software" carries its version. None drops a key.
_NO_METADATA: dict[str, Any] = {"Software": None}
_STYLE: dict[str, Any] = {"font.family": "DejaVu Sans", "font.size": 8, "axes.grid": True,
                          "grid.alpha": 0.3, "figure.facecolor": "white"}


def last_periods(series: Mapping[str, Series]) -> list[date]:
    """The last periods present in any series, oldest first."""
    days = sorted({day for points in series.values() for day, _ in points})
    return days[-MAX_PERIODS:]


def _panels(figure: Any, series: Mapping[str, Series], periods: list[date]) -> None:
    if not series:
        return
    # Rows first, then as few columns as fill them: 4 panels are 2 x 2, not 3 + 1.
    rows = math.ceil(len(series) / _MAX_COLUMNS)
    columns = math.ceil(len(series) / rows)
    labels = [day.strftime("%d.%m") for day in periods]
    for index, (name, points) in enumerate(series.items()):
        axes = figure.add_subplot(rows, columns, index + 1)
        by_day = dict(points)
        values = [_nan(by_day.get(day)) for day in periods]
        axes.plot(range(len(periods)), values, marker="o", linewidth=1.5)
        axes.set_title(name, fontsize=9)
        axes.set_xticks(range(len(periods)), labels, fontsize=7, rotation=45)
    figure.tight_layout()


def _nan(value: float | None) -> float:
    return math.nan if value is None else value
