"""``planerka-sync kpi import FILE.csv``: columns metric, period_end, value[, source].

Comma- or semicolon-separated (Excel in a Russian locale writes ";" with decimal commas), UTF-8
with or without a BOM. Bad rows are reported with their line number and skipped; the good ones
are kept, so one typo does not throw away a month of numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from planerka_sync.kpi_sources.common import parse_number, parse_period_end, unknown_metric

REQUIRED = ("metric", "period_end", "value")
OPTIONAL = ("source",)
DEFAULT_SOURCE = "csv"
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,31}$")  # fits the store's source column


_Reader = Any  # the csv module's reader type is private ("_csv.reader")


@dataclass(frozen=True)
class KpiRow:
    metric: str
    period_end: date
    value: float
    source: str
    line: int


@dataclass(frozen=True)
class CsvProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def read_csv(
    path: Path | str, known_metrics: Collection[str]
) -> tuple[list[KpiRow], list[CsvProblem]]:
    """Rows that can be stored, and a problem per line that cannot (file order)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [CsvProblem(0, f"cannot read the file: {exc}")]
    # newline="" keeps a quoted cell's line break inside the cell (the csv module's rule).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = next(reader, None)
    if header is None:
        return [], [CsvProblem(1, "the file is empty; expected a header: metric,period_end,value")]
    columns, problems = _columns(header)
    if columns is None:
        return [], problems
    rows: list[KpiRow] = []
    seen: dict[tuple[str, date], int] = {}
    for line, cells in _data_lines(reader):
        try:
            row = _row(line, cells, columns, known_metrics)
        except ValueError as exc:
            problems.append(CsvProblem(line, str(exc)))
            continue
        first = seen.setdefault((row.metric, row.period_end), line)
        if first != line:
            problems.append(CsvProblem(line, f"{row.metric} for {row.period_end} is already on "
                                             f"line {first}"))
            continue
        rows.append(row)
    return rows, problems


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return ";" if ";" in first_line and "," not in first_line else ","


def _columns(header: list[str]) -> tuple[dict[str, int] | None, list[CsvProblem]]:
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        return None, [CsvProblem(1, f"missing column {', '.join(missing)}; expected "
                                    f"metric,period_end,value[,source], got {','.join(names)}")]
    unknown = [n for n in names if n not in REQUIRED + OPTIONAL]
    # Reported but not fatal: a typo in "source" must not be ignored silently.
    problems = [CsvProblem(1, f"unknown column {n!r} ignored") for n in unknown]
    return {name: names.index(name) for name in REQUIRED + OPTIONAL if name in names}, problems


def _data_lines(reader: _Reader) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line they start on as an editor shows it (the header is line 1)."""
    start = reader.line_num + 1
    for cells in reader:
        if any(cell.strip() for cell in cells):  # blank lines are not errors
            yield start, cells
        start = reader.line_num + 1


def _row(line: int, cells: list[str], columns: dict[str, int], known: Collection[str]) -> KpiRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    metric = cell("metric").lower()
    if not metric:
        raise ValueError("no metric")
    if metric not in known:
        raise ValueError(unknown_metric(metric, known))
    if not cell("value"):
        raise ValueError(f"{metric}: no value")
    try:
        value = parse_number(cell("value"))
        period_end = parse_period_end(cell("period_end"))
    except ValueError as exc:
        raise ValueError(f"{metric}: {exc}") from None
    source = cell("source").lower() or DEFAULT_SOURCE
    if not _SOURCE.match(source):
        raise ValueError(f"bad source {source!r}: up to 32 of a-z 0-9 _ . : -")
    return KpiRow(metric, period_end, value, source, line)
