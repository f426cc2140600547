"""Where metric values come from: typed pairs, a CSV file, an http endpoint serving JSON."""

from __future__ import annotations

import codecs
import json
import socket
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from planerka_sync.kpi_sources.common import KpiInputError, parse_number, parse_period_end
from planerka_sync.kpi_sources.csv_source import (
    MAX_PROBLEMS,
    CsvReport,
    detect_encoding,
    iter_csv,
    read_csv,
)
from planerka_sync.kpi_sources.http_json import MAX_BYTES, PointerError, fetch, resolve_pointer
from planerka_sync.kpi_sources.manual import parse_pairs

KNOWN = {"sessions", "conversions", "bounce_rate", "revenue", "marketing_spend"}


# --- numbers and dates --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("1234", 1234.0),
    ("1234.5", 1234.5),
    ("1234,5", 1234.5),
    ("1 234,5", 1234.5),
    ("1\u00a0234,5", 1234.5),
    ("1,234.5", 1234.5),
    ("1.234,5", 1234.5),
    ("1,234,567", 1234567.0),
    ("0,123", 0.123),
    ("−3,5", -3.5),
    ("41,5%", 0.415),
    ("12.5 %", 0.125),
    ("1e3", 1000.0),
])
def test_numbers_as_people_write_them(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "abc", "1,2,3.4.5", "nan", "inf", "1e999", "12 apples",
                                  "--1"])
def test_not_numbers(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a number|out of range"):
        parse_number(text)


def test_a_lone_thousands_comma_is_ambiguous() -> None:
    with pytest.raises(ValueError, match="ambiguous number '1,234'"):
        parse_number("1,234")


def test_period_end_in_iso_or_russian_form() -> None:
    assert parse_period_end("2026-11-30") == parse_period_end("30.11.2026") == date(2026, 11, 30)
    with pytest.raises(ValueError, match="not a date"):
        parse_period_end("2026-02-30")


# --- manual pairs -------------------------------------------------------------------------------


def test_manual_pairs() -> None:
    values = parse_pairs(["sessions=12345", "bounce_rate=41,5%", " Revenue = 1 000 000,50 "],
                         KNOWN)
    assert values == {"sessions": 12345.0, "bounce_rate": pytest.approx(0.415),
                      "revenue": 1000000.5}


def test_manual_pairs_report_every_bad_pair_by_name() -> None:
    with pytest.raises(KpiInputError) as caught:
        parse_pairs(["sesions=10", "revenue", "conversions=abc", "bounce_rate=", "sessions=1",
                     "sessions=2"], KNOWN)
    problems = caught.value.problems
    assert problems[0] == "'sesions=10': unknown metric 'sesions'; did you mean sessions?"
    assert problems[1] == "'revenue': expected metric=value"
    assert problems[2] == "'conversions=abc': not a number: 'abc'"
    assert problems[3] == "'bounce_rate=': no value after '='"
    assert problems[4] == "'sessions=2': sessions is given twice"
    assert len(problems) == 5


# --- CSV ----------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "kpi.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_bad_rows_are_reported_by_line_and_the_good_ones_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "\n".join([
        "metric,period_end,value,source",
        "sessions,2026-11-30,12345,ga4",
        "sessoins,2026-11-30,1,ga4",  # unknown metric
        "conversions,2026-11-30,twelve,",  # bad number
        "revenue,2026-13-01,100,",  # bad date
        "",
        'revenue,30.11.2026,"1 000 000,5",',
        "sessions,2026-11-30,12000,ga4",  # duplicate of line 2
        "",
    ]))
    rows, problems = read_csv(path, KNOWN)
    assert [(r.metric, r.period_end, r.value, r.source, r.line) for r in rows] == [
        ("sessions", date(2026, 11, 30), 12345.0, "ga4", 2),
        ("revenue", date(2026, 11, 30), 1000000.5, "csv", 7),
    ]
    assert [str(p) for p in problems] == [
        "line 3: unknown metric 'sessoins'; did you mean sessions?",
        "line 4: conversions: not a number: 'twelve'",
        "line 5: revenue: not a date: '2026-13-01' (use YYYY-MM-DD or DD.MM.YYYY)",
        "line 8: sessions for 2026-11-30 is already on line 2",
    ]


def test_csv_from_russian_excel(tmp_path: Path) -> None:
    path = tmp_path / "ru.csv"
    path.write_bytes("\ufeffMetric;Period_end;Value\nbounce_rate;30.11.2026;41,5%\n"
                     .encode())
    rows, problems = read_csv(path, KNOWN)
    assert problems == [] and rows[0].value == pytest.approx(0.415)


def test_csv_line_numbers_count_quoted_line_breaks(tmp_path: Path) -> None:
    path = write(tmp_path, 'metric,period_end,value,source\n"sessions",2026-11-30,1,"a\nb"\n'
                           "nope,2026-11-30,1,\n")
    _, problems = read_csv(path, KNOWN)
    assert [str(p) for p in problems][-1].startswith("line 4: unknown metric 'nope'")
    assert str(problems[0]).startswith("line 2: bad source")


def test_csv_header_problems(tmp_path: Path) -> None:
    rows, problems = read_csv(write(tmp_path, "metric,value\nsessions,1\n"), KNOWN)
    assert rows == [] and str(problems[0]).startswith("line 1: missing column period_end")
    rows, problems = read_csv(write(tmp_path, "metric,period_end,value,sorce\n"
                                              "sessions,2026-11-30,1,x\n"), KNOWN)
    assert len(rows) == 1 and [str(p) for p in problems] == ["line 1: unknown column 'sorce' "
                                                             "ignored"]
    rows, problems = read_csv(write(tmp_path, ""), KNOWN)
    assert rows == [] and "empty" in str(problems[0])
    rows, problems = read_csv(tmp_path / "missing.csv", KNOWN)
    assert rows == [] and "cannot read the file" in str(problems[0])


# --- http-json ----------------------------------------------------------------------------------

DOCUMENT = {"data": {"sessions": 12345, "conv": "400", "rev": None, "a/b": 7, "m~n": 8},
            "series": [{"value": 1.5}, {"value": 2.5}], "flag": True}


ANSWERS = {
    "/html": b"<html>oops</html>",
    # A few hundred kilobytes of brackets: small, valid JSON, and deeper than json.loads recurses.
    "/deep": b'{"data": ' + b"[" * 100_000 + b"1" + b"]" * 100_000 + b"}",
    "/huge": b'{"data": {"sessions": 1}, "padding": "' + b"x" * 6_000_000 + b'"}',
}


class _Handler(BaseHTTPRequestHandler):
    release: threading.Event

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/slow":
            self.release.wait(10)  # answers only after the client gave up
        if path == "/fail":
            self.send_error(500)
            return
        body = ANSWERS.get(path) or json.dumps(DOCUMENT).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def json_server() -> Iterator[str]:
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_http_json_values_by_pointer(json_server: str) -> None:
    values, error = fetch(f"{json_server}/metrics?token=secret",
                          {"sessions": "/data/sessions", "conversions": "/data/conv",
                           "revenue": "/series/1/value"}, timeout=5)
    assert values == {"sessions": 12345.0, "conversions": 400.0, "revenue": 2.5}
    assert error is None


def test_http_json_pointer_problems_leave_only_those_metrics_empty(json_server: str) -> None:
    values, error = fetch(f"{json_server}/metrics",
                          {"sessions": "/data/sessions", "revenue": "/data/rev",
                           "conversions": "/data/nope", "bounce_rate": "/flag"}, timeout=5)
    assert values == {"sessions": 12345.0, "revenue": None, "conversions": None,
                      "bounce_rate": None}
    assert error == ("revenue: not a number: None; conversions: nothing at /data/nope; "
                     "bounce_rate: not a number: True")


def test_http_json_server_error(json_server: str) -> None:
    values, error = fetch(f"{json_server}/fail", {"sessions": "/data/sessions"}, timeout=5)
    assert values == {"sessions": None}
    assert error is not None and error.startswith("HTTP 500")


def test_http_json_timeout(json_server: str) -> None:
    values, error = fetch(f"{json_server}/slow?token=secret", {"sessions": "/data/sessions"},
                          timeout=0.2)
    assert values == {"sessions": None}
    assert error == "no answer within 0.2 s"


def test_http_json_not_json_and_connection_refused(json_server: str) -> None:
    assert fetch(f"{json_server}/html", {"sessions": ""}, timeout=5)[1] == (
        "the response is not JSON")
    values, error = fetch(f"http://127.0.0.1:{closed_port()}/metrics?token=secret",
                          {"sessions": "/a"}, timeout=2)
    assert values == {"sessions": None} and error is not None
    assert error.startswith("cannot connect") and "secret" not in error


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("pointer", "expected"), [
    ("", DOCUMENT),
    ("/data/sessions", 12345),
    ("/data/a~1b", 7),
    ("/data/m~0n", 8),
    ("/series/0/value", 1.5),
])
def test_json_pointer(pointer: str, expected: object) -> None:
    assert resolve_pointer(DOCUMENT, pointer) == expected


@pytest.mark.parametrize("pointer", ["data", "/series/01", "/series/-", "/series/2",
                                     "/data/sessions/x", "/nope"])
def test_json_pointer_leads_nowhere(pointer: str) -> None:
    with pytest.raises(PointerError):
        resolve_pointer(DOCUMENT, pointer)


def test_http_json_nested_too_deep_is_the_sources_error_not_a_crash(json_server: str) -> None:
    values, error = fetch(f"{json_server}/deep?token=secret", {"sessions": "/data/0"}, timeout=5)
    assert values == {"sessions": None}
    assert error == ("the response of 127.0.0.1 is nested too deeply to read; a metrics endpoint "
                     "answers a few levels deep")


def test_http_json_answer_over_the_size_cap_is_refused(json_server: str) -> None:
    values, error = fetch(f"{json_server}/huge", {"sessions": "/data/sessions"}, timeout=5)
    assert values == {"sessions": None}
    assert error == f"response larger than {MAX_BYTES} bytes"


# --- CSV: encodings and big files ---------------------------------------------------------------

RU_EXPORT = ("metric;period_end;value;source\r\n"
             "sessions;30.11.2026;12 345;Яндекс.Метрика\r\n"
             "bounce_rate;30.11.2026;41,5%;вк\r\n"
             "conversions;30.11.2026;сорок;\r\n")


@pytest.mark.parametrize(("encoded", "label"), [
    (RU_EXPORT.encode("cp1251"), "Windows-1251"),
    (codecs.BOM_UTF16_LE + RU_EXPORT.encode("utf-16-le"), "UTF-16LE with BOM"),
    (codecs.BOM_UTF16_BE + RU_EXPORT.encode("utf-16-be"), "UTF-16BE with BOM"),
    (codecs.BOM_UTF8 + RU_EXPORT.encode(), "UTF-8 with BOM"),
    (RU_EXPORT.encode(), "UTF-8"),
])
def test_csv_in_the_encodings_excel_writes(tmp_path: Path, encoded: bytes, label: str) -> None:
    path = tmp_path / "ru.csv"
    path.write_bytes(encoded)
    report = CsvReport()
    rows = list(iter_csv(path, KNOWN, report))
    assert [(r.metric, r.value, r.source) for r in rows] == [
        ("sessions", 12345.0, "яндекс.метрика"), ("bounce_rate", pytest.approx(0.415), "вк")]
    assert [str(p) for p in report.problems] == ["line 4: conversions: not a number: 'сорок'"]
    assert (report.encoding, report.delimiter, report.rows, report.skipped) == (label, ";", 2, 1)


def test_one_cyrillic_letter_is_windows_1251_not_a_western_code_page() -> None:
    head = "metric;period_end;value;source\nsessions;30.11.2026;1;я\n".encode("cp1251")
    assert detect_encoding(head).label == "Windows-1251"
    assert detect_encoding(b"metric,period_end,value\n").label == "UTF-8"


def test_a_byte_the_encoding_does_not_know_costs_its_row_only(tmp_path: Path) -> None:
    # The first 64 KB are ASCII, so the file is taken for UTF-8; a cp1251 byte comes later.
    filler = "".join(f"sessions,{date.fromordinal(730120 + i)},1,\n"
                     for i in range(3000))
    path = tmp_path / "late.csv"
    path.write_bytes(("metric,period_end,value,source\n" + filler).encode()
                     + "revenue,2026-11-30,1,вк\nconversions,2026-11-30,2,\n".encode("cp1251"))
    report = CsvReport()
    rows = list(iter_csv(path, KNOWN, report))
    assert report.encoding == "UTF-8" and len(rows) == 3001 and rows[-1].metric == "conversions"
    assert [str(p) for p in report.problems] == [
        "line 3002: bytes that are not UTF-8 text; save the file as UTF-8 and import it again"]


def test_problems_are_kept_in_detail_up_to_a_bound_and_counted_beyond(tmp_path: Path) -> None:
    bad = "".join(f"sessoins,2026-11-30,{i},\n" for i in range(250))
    path = write(tmp_path, "metric,period_end,value\nsessions,2026-11-30,1\n" + bad
                 + "sessions,2026-11-30,2\n")
    report = CsvReport()
    assert len(list(iter_csv(path, KNOWN, report))) == 1
    assert len(report.problems) == MAX_PROBLEMS and report.more_problems == 151
    assert report.skipped == report.problem_count == 251
    assert str(report.problems[0]).startswith("line 3: unknown metric 'sessoins'")


def test_duplicates_far_apart_name_the_first_line(tmp_path: Path) -> None:
    days = [date.fromordinal(730120 + i) for i in range(20_000)]
    path = write(tmp_path, "metric,period_end,value\n"
                 + "".join(f"revenue,{day},1\n" for day in days)
                 + f"revenue,{days[12_345]},2\nrevenue,{days[0]},3\n")
    report = CsvReport()
    assert sum(1 for _ in iter_csv(path, KNOWN, report)) == 20_000
    assert [str(p) for p in report.problems] == [
        f"line 20002: revenue for {days[12_345]} is already on line 12347",
        f"line 20003: revenue for {days[0]} is already on line 2"]
