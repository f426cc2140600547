"""``planerka-sync kpi import FILE.csv``: columns metric, period_end, value[, source].

Comma- or semicolon-separated (Excel in a Russian locale writes ";" with decimal commas). Bad
rows are reported with their line number and skipped; the good ones are kept, so one typo does
not throw away a month of numbers.

The file is read as a stream, never whole: a million-row export costs the memory of one row at
a time, a bit per (metric, day) for the duplicate check and the first ``MAX_PROBLEMS`` problems
in detail (the rest are only counted). A second pass, only when duplicates were found, names
the line each of them repeats.

Encodings: what a spreadsheet writes. A byte-order mark decides first (UTF-8, UTF-16 LE/BE:
Excel's "Unicode text"); without one, charset-normalizer looks at the first ``HEAD_BYTES``,
choosing only among UTF-8, BOM-less UTF-16 and Windows-1251 (Excel's "CSV" in a Russian
locale). Left free to pick any code page it calls a few Cyrillic letters cp1250 or cp1252,
which would store mojibake without a word. When it has no answer: UTF-8 if the head decodes
strictly as UTF-8, else Windows-1251. Bytes further on that do not decode in the chosen
encoding make their row a reported problem instead of stopping the import.

Storing them (``service.kpi.import_csv``) is all or nothing: one transaction for the whole
file, written in batches as it streams by. An interrupted import (Ctrl-C, a crash, kill -9)
leaves none of its rows behind, so running it again is always the fix, and the DB never mixes
half of this file with values it was meant to replace.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from planerka_sync.kpi_sources.common import parse_number, parse_period_end, unknown_metric

REQUIRED = ("metric", "period_end", "value")
OPTIONAL = ("source",)
DEFAULT_SOURCE = "csv"
# Fits the store's 32-character source column; Cyrillic too, since a Russian export names its
# sources in Russian ("яндекс.директ").
_SOURCE = re.compile(r"^[a-z0-9а-яё][a-z0-9а-яё_.:-]{0,31}$")
MAX_PROBLEMS = 100  # reported in detail; beyond that only counted
HEAD_BYTES = 64 * 1024  # what the encoding is guessed from

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32LE with BOM"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32BE with BOM"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16LE with BOM"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16BE with BOM"),
)
# charset-normalizer's names of the encodings it may choose, with ours for them.
_GUESSES = {"utf_8": ("utf-8", "UTF-8"), "ascii": ("utf-8", "UTF-8"),
            "utf_16_le": ("utf-16-le", "UTF-16LE"), "utf_16_be": ("utf-16-be", "UTF-16BE"),
            "cp1251": ("cp1251", "Windows-1251")}
_UNDECODABLE = "\ufffd"  # what errors="replace" leaves for bytes the encoding does not know

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


@dataclass(frozen=True)
class Encoding:
    codec: str  # Python's name, for decoding
    label: str  # what the report says


@dataclass
class CsvReport:
    """What reading a file found; filled in while its rows are iterated."""

    encoding: str = ""
    delimiter: str = ""
    rows: int = 0  # valid rows handed out
    skipped: int = 0  # data rows not handed out
    problems: list[CsvProblem] = field(default_factory=list)  # the first max_problems
    more_problems: int = 0  # beyond those, only counted
    fatal: bool = False  # the file as a whole cannot be read: no row at all
    max_problems: int | None = MAX_PROBLEMS

    def problem(self, line: int, message: str, *, skips_row: bool = True) -> None:
        self.skipped += skips_row
        if self.max_problems is None or len(self.problems) < self.max_problems:
            self.problems.append(CsvProblem(line, message))
        else:
            self.more_problems += 1

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.more_problems


def read_csv(
    path: Path | str, known_metrics: Collection[str]
) -> tuple[list[KpiRow], list[CsvProblem]]:
    """Every storable row and every problem (file order): for small files and tests."""
    report = CsvReport(max_problems=None)
    rows = list(iter_csv(path, known_metrics, report))
    return rows, report.problems


def iter_csv(path: Path | str, known_metrics: Collection[str],
             report: CsvReport) -> Iterator[KpiRow]:
    """The rows that can be stored, one at a time; ``report`` collects the rest."""
    try:
        with open(path, "rb") as raw:
            encoding = detect_encoding(raw.read(HEAD_BYTES))
    except OSError as exc:
        _fatal(report, 0, f"cannot read the file: {exc}")
        return
    report.encoding = encoding.label
    duplicates = _Duplicates(known_metrics)
    with _open_text(path, encoding) as text:
        for row in _valid_rows(text, known_metrics, report):
            if duplicates.seen_before(row):
                duplicates.report(row, report)
                continue
            report.rows += 1
            yield row
    if duplicates.waiting:
        # Only now are the first lines of the reported duplicates looked up: remembering
        # every key's line during the pass would cost ~100 bytes per row.
        with _open_text(path, encoding) as text:
            duplicates.name_first_lines(_valid_rows(text, known_metrics, CsvReport(max_problems=0)),
                                        report)


def iter_downloaded(body: bytes, known_metrics: Collection[str] | None,
                    report: CsvReport) -> Iterator[KpiRow]:
    """Every row of a CSV held in memory (a downloaded sheet) that reads well, in file order,
    by the same rules as a file: encodings, delimiters, numbers, dates. Unlike ``iter_csv``,
    a row repeating an earlier one's (metric, period_end) is handed out too: a sheet's later
    row corrects an earlier one, so the caller decides which wins. ``known_metrics`` None
    hands out rows of any metric name (lower case), for the caller to sort out."""
    encoding = detect_encoding(body[:HEAD_BYTES])
    report.encoding = encoding.label
    text = io.StringIO(body.decode(encoding.codec, errors="replace"), newline="")
    for row in _valid_rows(text, known_metrics, report):
        report.rows += 1
        yield row


def _open_text(path: Path | str, encoding: Encoding) -> IO[str]:
    # newline="" keeps a quoted cell's line break inside the cell (the csv module's rule);
    # errors="replace" turns a stray byte into one reported row, not a dead import.
    return open(path, encoding=encoding.codec, errors="replace", newline="")


def detect_encoding(head: bytes) -> Encoding:
    """The encoding of a file that starts with ``head`` (see the module's docstring)."""
    for bom, codec, label in _BOMS:
        if head.startswith(bom):
            return Encoding(codec, label)
    import charset_normalizer

    head = _whole_lines(head)
    best = charset_normalizer.from_bytes(head, cp_isolation=list(_GUESSES)).best()
    if best is not None and best.encoding in _GUESSES:
        return Encoding(*_GUESSES[best.encoding])
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return Encoding("cp1251", "Windows-1251")
    return Encoding("utf-8", "UTF-8")


def _whole_lines(head: bytes) -> bytes:
    """A full head cut after its last line break, so that the cut does not split a UTF-8
    character and make valid UTF-8 look invalid."""
    if len(head) < HEAD_BYTES:
        return head
    end = head.rfind(b"\n")
    return head[:end + 1] if end > 0 else head


def _valid_rows(text: IO[str], known: Collection[str] | None,
                report: CsvReport) -> Iterator[KpiRow]:
    """Every row that reads well, duplicates included; ``report`` gets the others."""
    first = text.readline()
    if not first:
        _fatal(report, 1, "the file is empty; expected a header: metric,period_end,value")
        return
    report.delimiter = _delimiter(first)
    reader = csv.reader(itertools.chain([first], text), delimiter=report.delimiter)
    columns = _columns(next(reader), report)
    if columns is None:
        return
    for line, cells in _data_lines(reader):
        if any(_UNDECODABLE in cell for cell in cells):
            report.problem(line, f"bytes that are not {report.encoding} text; save the file "
                                 f"as UTF-8 and import it again")
            continue
        try:
            row = _row(line, cells, columns, known)
        except ValueError as exc:
            report.problem(line, str(exc))
            continue
        yield row


def _fatal(report: CsvReport, line: int, message: str) -> None:
    report.fatal = True
    report.problem(line, message, skips_row=False)


class _Duplicates:
    """Which (metric, period_end) keys the file has had, in one bit each: bounded memory for
    any number of rows (a bitmap per 512 days that occur; 64 bytes per metric each, so even
    every day from year 1 to 9999 of 40 metrics is 18 MB)."""

    _DAYS = 512  # per bitmap

    def __init__(self, known: Collection[str]) -> None:
        self._index = {metric: i for i, metric in enumerate(sorted(known))}
        self._bitmaps: dict[int, bytearray] = {}
        # key -> indexes of the reported problems still waiting for the key's first line
        self.waiting: dict[int, list[int]] = {}

    def seen_before(self, row: KpiRow) -> bool:
        """Whether the row's key came before; marks it as seen."""
        day = row.period_end.toordinal()
        bitmap = self._bitmaps.get(day // self._DAYS)
        if bitmap is None:
            bitmap = self._bitmaps[day // self._DAYS] = bytearray(
                self._DAYS * len(self._index) // 8 + 1)
        bit = day % self._DAYS * len(self._index) + self._index[row.metric]
        byte, mask = bit >> 3, 1 << (bit & 7)
        seen = bool(bitmap[byte] & mask)
        bitmap[byte] |= mask
        return seen

    def report(self, row: KpiRow, report: CsvReport) -> None:
        index = len(report.problems)
        report.problem(row.line, _duplicate(row, "an earlier line"))
        if index < len(report.problems):  # shown in detail: worth naming the first line
            self.waiting.setdefault(self._key(row), []).append(index)

    def name_first_lines(self, rows: Iterable[KpiRow], report: CsvReport) -> None:
        """Rewrite the waiting problems with the line of their key's first valid row."""
        for row in rows:
            for index in self.waiting.pop(self._key(row), []):
                line = report.problems[index].line
                report.problems[index] = CsvProblem(line, _duplicate(row, f"line {row.line}"))
            if not self.waiting:
                return

    def _key(self, row: KpiRow) -> int:
        return row.period_end.toordinal() * len(self._index) + self._index[row.metric]


def _duplicate(row: KpiRow, first: str) -> str:
    return f"{row.metric} for {row.period_end} is already on {first}"


def _delimiter(first_line: str) -> str:
    return ";" if ";" in first_line and "," not in first_line else ","


def _columns(header: list[str], report: CsvReport) -> dict[str, int] | None:
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        _fatal(report, 1, f"missing column {', '.join(missing)}; expected "
                          f"metric,period_end,value[,source], got {','.join(names)}")
        return None
    # Reported but not fatal: a typo in "source" must not be ignored silently.
    for name in names:
        if name not in REQUIRED + OPTIONAL:
            report.problem(1, f"unknown column {name!r} ignored", skips_row=False)
    return {name: names.index(name) for name in REQUIRED + OPTIONAL if name in names}


def _data_lines(reader: _Reader) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line they start on as an editor shows it (the header is line 1)."""
    start = reader.line_num + 1
    for cells in reader:
        if any(cell.strip() for cell in cells):  # blank lines are not errors
            yield start, cells
        start = reader.line_num + 1


def _row(line: int, cells: list[str], columns: dict[str, int],
         known: Collection[str] | None) -> KpiRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    metric = cell("metric").lower()
    if not metric:
        raise ValueError("no metric")
    if known is not None and metric not in known:
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
        raise ValueError(f"bad source {source!r}: up to 32 of a-z а-я 0-9 _ . : -")
    return KpiRow(metric, period_end, value, source, line)
