"""The PNG chart of the headline metrics: a real PNG, the same bytes for the same input."""

from __future__ import annotations

import struct
import sys
import zlib
from datetime import date, timedelta

from planerka_sync.render.chart import MAX_PERIODS, kpi_chart_png, last_periods

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = date(2026, 9, 7)


def weekly(count: int, base: float, gap_at: int | None = None) -> list[tuple[date, float | None]]:
    return [(START + timedelta(weeks=i), None if i == gap_at else base + i)
            for i in range(count)]


SERIES = {"Визиты": weekly(12, 1000), "Конверсия, %": weekly(12, 2.5, gap_at=10),
          "LTV/CAC": weekly(5, 2.8), "ROI, %": weekly(12, 40)}


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


def test_a_small_png() -> None:
    png = kpi_chart_png(SERIES, "Показатели (KPI)")
    assert png.startswith(PNG_SIGNATURE)
    parts = chunks(png)
    assert parts[0][0] == b"IHDR" and parts[-1][0] == b"IEND"
    width, height = struct.unpack(">II", parts[0][1][:8])
    assert (width, height) == (800, 400)
    # No "Software" (matplotlib's version) nor any timestamp chunk.
    assert not any(kind in (b"tEXt", b"iTXt", b"zTXt", b"tIME") and b"Software" in data
                   for kind, data in parts)
    assert all(kind != b"tIME" for kind, _ in parts)


def test_same_input_same_bytes() -> None:
    assert kpi_chart_png(SERIES, "KPI") == kpi_chart_png(dict(SERIES), "KPI")
    assert kpi_chart_png(SERIES, "KPI") != kpi_chart_png(SERIES, "KPI 2")


def test_at_most_the_last_eight_periods() -> None:
    periods = last_periods(SERIES)
    assert len(periods) == MAX_PERIODS == 8
    assert periods[0] == START + timedelta(weeks=4) and periods[-1] == START + timedelta(weeks=11)
    # Periods older than the window do not change the picture.
    recent = {name: [p for p in points if p[0] in periods] for name, points in SERIES.items()}
    assert kpi_chart_png(recent, "KPI") == kpi_chart_png(SERIES, "KPI")
    assert last_periods({"x": weekly(3, 1)}) == [START + timedelta(weeks=i) for i in range(3)]


def test_empty_and_single_series_still_draw() -> None:
    assert kpi_chart_png({}, "KPI").startswith(PNG_SIGNATURE)
    assert kpi_chart_png({"x": [(START, None)]}, "KPI").startswith(PNG_SIGNATURE)


def test_matplotlib_is_imported_only_when_drawing() -> None:
    import subprocess

    code = ("import sys, planerka_sync.render.chart, planerka_sync.domain.kpi, "
            "planerka_sync.kpi_sources.http_json; print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
