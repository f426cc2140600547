"""The sheet source's pure parts: choosing the period's row, the notes, the cache file, the
settings (mapping, URL checks, secrets), and reading what the sandbox's seed writes."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from planerka_sync.kpi_sources.base import Window
from planerka_sync.kpi_sources.csv_source import CsvReport, KpiRow, iter_downloaded
from planerka_sync.kpi_sources.sheet import (
    DEFAULT_METRICS,
    Cached,
    SheetSettings,
    cache_dir,
    cache_path,
    load_cached,
    pick,
    store_cached,
    unknown_notes,
)
from planerka_sync.sandbox import sheet as sandbox
from planerka_sync.templates import builtin_dir, kpi_set

DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))
NAMES = st.sampled_from(["sessions", "conversions", "визиты", "bounce_rate"])
VALUES = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


def window_of(start: date, days: int) -> Window:
    return Window(start, start + timedelta(days=days), "Europe/Moscow")


@st.composite
def sheets(draw: st.DrawFn) -> list[KpiRow]:
    rows = draw(st.lists(st.tuples(NAMES, DAYS, VALUES), max_size=40))
    return [KpiRow(name, day, value, "csv", line) for line, (name, day, value)
            in enumerate(rows, start=2)]


@given(sheets(), DAYS, st.integers(min_value=0, max_value=40))
def test_the_period_takes_each_metrics_last_row_within_it(
        rows: list[KpiRow], start: date, days: int) -> None:
    window = window_of(start, days)
    names = {"sessions": "sessions", "visits_ru": "визиты", "arpu": "arpu"}
    pulled = pick(rows, names, window)
    for metric, name in names.items():
        inside = [r for r in rows if r.metric == name and start <= r.period_end <= window.end]
        if inside:
            assert pulled.values[metric] == inside[-1].value
            assert metric not in pulled.failures
        elif any(r.metric == name for r in rows):
            assert pulled.failures[metric].code == "missing"
            assert str(start) in pulled.failures[metric]
        else:  # never in the sheet: not this sheet's metric
            assert metric not in pulled.values and metric not in pulled.failures
    assert pulled.notes == []  # a metric the sheet never had is another source's: no note


@given(sheets(), DAYS)
def test_rows_outside_the_window_never_count_whatever_their_order(rows: list[KpiRow],
                                                                    start: date) -> None:
    window = window_of(start, 6)
    outside = [KpiRow("sessions", window.end + timedelta(days=1), 999.0, "csv", 900),
               KpiRow("sessions", start - timedelta(days=1), 888.0, "csv", 901)]
    inside = [r for r in rows if r.metric == "sessions" and start <= r.period_end <= window.end]
    pulled = pick(rows + outside, {"sessions": "sessions"}, window)
    if inside:
        assert pulled.values["sessions"] == inside[-1].value
    else:
        assert pulled.failures["sessions"].code == "missing"


def test_unknown_metrics_are_one_note_each_with_a_suggestion() -> None:
    rows = [KpiRow("sesions", date(2026, 12, 1), 1.0, "csv", 4),
            KpiRow("sesions", date(2026, 12, 2), 1.0, "csv", 9),
            KpiRow("nps", date(2026, 12, 2), 1.0, "csv", 11),
            KpiRow("sessions", date(2026, 12, 2), 1.0, "csv", 12)]
    notes = unknown_notes(rows, {"sessions", "conversions"})
    assert notes == ["unknown metric 'sesions' ignored (2 rows, first on line 4); did you mean "
                     "'sessions'?",
                     "unknown metric 'nps' ignored (row, first on line 11) (name it in the "
                     "source's metrics to read it)"]


# --- reading what a sheet shows ---------------------------------------------------------------

@settings(max_examples=60)
@given(st.sampled_from(["ru", "en"]), DAYS,
       st.sampled_from(["sessions", "conversions", "bounce_rate", "engagement_rate", "revenue"]))
def test_the_sandbox_seed_cells_read_back_as_the_seed_function(style: str, day: date,
                                                               metric: str) -> None:
    text = sandbox.generated_csv([metric], day, day, style)
    rows = list(iter_downloaded(text.encode("utf-8"), None, report := CsvReport()))
    assert report.problems == []
    assert [(r.metric, r.period_end) for r in rows] == [(metric, day)]
    assert rows[0].value == sandbox.seed_value(metric, day)


def ru_number(value: int, cents: int) -> str:
    return f"{value:,}".replace(",", "\u00a0") + f",{cents:02d}"


@given(st.lists(st.tuples(NAMES, DAYS, st.integers(0, 10**9), st.integers(0, 99)),
                min_size=1, max_size=20),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251"]), st.sampled_from([",", ";"]))
def test_a_sheet_in_any_encoding_and_delimiter_reads_row_for_row(
        rows: list[tuple[str, date, int, int]], encoding: str, delimiter: str) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["metric", "period_end", "value"])
    for name, day, whole, cents in rows:
        writer.writerow([name, f"{day:%d.%m.%Y}", ru_number(whole, cents)])
    read = list(iter_downloaded(out.getvalue().encode(encoding), None, CsvReport()))
    assert [(r.metric, r.period_end, r.line) for r in read] == [
        (name, day, line) for line, (name, day, _, _) in enumerate(rows, start=2)]
    for r, (_, _, whole, cents) in zip(read, rows, strict=True):
        assert r.value == pytest.approx(whole + cents / 100)


@given(st.integers(0, 1000).map(lambda n: n / 10))
def test_percent_cells_become_fractions(percent: float) -> None:
    for cell in (f"{percent:.1f}%", f"{percent:.1f} %".replace(".", ",")):
        body = f'metric,period_end,value\r\nbounce_rate,2026-12-14,"{cell}"\r\n'.encode()
        [row] = iter_downloaded(body, None, CsvReport())
        assert row.value == pytest.approx(percent / 100)


def test_a_sheet_without_the_columns_is_fatal() -> None:
    report = CsvReport()
    assert list(iter_downloaded(b"date,visits\r\n2026-12-14,5\r\n", None, report)) == []
    assert report.fatal and "missing column metric" in str(report.problems[0])


# --- the cache -----------------------------------------------------------------------------------

@given(st.binary(max_size=2000), st.one_of(st.none(), st.text(max_size=40)),
       st.one_of(st.none(), st.text(max_size=40)))
def test_a_kept_copy_reads_back_as_written(body: bytes, etag: str | None,
                                           modified: str | None) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = cache_path(Path(directory) / "sheets", "https://example.org/a.csv?k=s3cret")
        store_cached(path, Cached(body, etag, modified))
        assert load_cached(path) == Cached(body, etag, modified)


def test_a_damaged_copy_is_no_copy(tmp_path: Path) -> None:
    path = cache_path(tmp_path, "https://example.org/a.csv")
    store_cached(path, Cached(b"metric,period_end,value\r\n", '"abc"', None))
    data = path.read_bytes()
    for broken in (data[:-3], b"junk" + data, data.replace(b'"sha256"', b'"sha"', 1)):
        path.write_bytes(broken)
        assert load_cached(path) is None
    assert load_cached(tmp_path / "absent") is None


def test_the_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir(None) == tmp_path / "planerka-sync" / "sheets"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cache_dir(None) == Path.home() / ".cache" / "planerka-sync" / "sheets"
    assert cache_dir("/srv/cache") == Path("/srv/cache")


# --- settings ------------------------------------------------------------------------------------

PUBLISHED = "https://docs.google.com/spreadsheets/d/e/2PACX-1vQabcdefghijklmnopqrstuvwxyz/pub" \
            "?gid=0&single=true&output=csv"


def sheet(**fields: object) -> SheetSettings:
    return SheetSettings.model_validate({"kind": "sheet", "url": PUBLISHED, **fields})


def test_the_default_mapping_is_every_recordable_metric_of_the_marketing_set() -> None:
    recordable = kpi_set("marketing", builtin_dir()).recordable()
    assert list(DEFAULT_METRICS) == recordable
    assert sheet().mapping() == {m: m for m in recordable}


def test_overrides_rename_add_and_drop() -> None:
    mapping = sheet(metrics={"sessions": "Визиты", "nps": "nps", "followers": ""}).mapping()
    assert mapping["sessions"] == "визиты" and mapping["nps"] == "nps"
    assert "followers" not in mapping and mapping["revenue"] == "revenue"
    with pytest.raises(ValidationError, match="not a metric id"):
        sheet(metrics={"Sessions": "x"})


@pytest.mark.parametrize("url", [
    "https://docs.google.com/spreadsheets/d/1abcdefghijklmnopqrstuvwxyz/edit#gid=0",
    "https://docs.google.com/spreadsheets/d/e/2PACX-1vQabcdefghijklmnopqrstuvwxyz/pubhtml",
    "ftp://example.org/kpi.csv", "  "])
def test_links_that_are_not_a_csv_are_refused_with_advice(url: str) -> None:
    with pytest.raises(ValidationError) as raised:
        sheet(url=url)
    assert any(word in str(raised.value) for word in ("Publish to web", "file path", "empty"))


@pytest.mark.parametrize("url", [PUBLISHED, "/srv/kpi.csv", "kpi.csv", "file:///srv/kpi.csv",
                                 r"C:\kpi\week.csv",
                                 "https://docs.google.com/spreadsheets/d/1abcdefghijklmnopqrstu"
                                 "vwxyz/export?format=csv&gid=0"])
def test_csv_links_and_paths_are_accepted(url: str) -> None:
    assert sheet(url=url).url == url


def test_secrets_and_label_keep_the_link_out_of_messages() -> None:
    s = sheet(url="https://user:pw@bi.example.org/kpi.csv?gid=0&access_token=t0k&output=csv",
              token="bearer-secret")
    assert set(s.secrets()) == {"bearer-secret", "pw", "t0k"}
    assert s.label() == "sheet bi.example.org"
    google = sheet()
    assert google.secrets() == ["2PACX-1vQabcdefghijklmnopqrstuvwxyz"]
    assert "2PACX" not in google.label()
    assert sheet(url="/srv/private/kpi.csv").label() == "sheet kpi.csv"
