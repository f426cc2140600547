"""The ``sheet`` KPI source over real HTTP against the sheet sandbox (Google Sheets' published and
export links, a CSV server behind a token): a weekly series fills its periods with the numbers
of the seed function, the team's time zone decides the period, failures become per-metric codes
and "source error" text while another source still fills its metric, pulling again replaces
values, the ETag cache saves full answers, and probe() names what is wrong."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from planerka_sync.config import HttpJsonSource
from planerka_sync.kpi_sources.base import Window
from planerka_sync.kpi_sources.sheet import MAX_BYTES, SheetSettings, Source
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox import sheet as sandbox
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.kpi import kpi_report, periods, source_window
from planerka_sync.service.progress import progress
from tests.integration.test_prepare import World
from tests.integration.test_scorecard_surfaces import kpi_comment
from tests.integration.test_status import run

SERIES = "marketing-weekly"
FOLLOWERS = 777  # what the http-json source beside the sheet answers
# 22:30 UTC on Monday 14.12 is 01:30 on Tuesday 15.12 in Moscow: the team's period is already
# the one ending on Monday 21.12, while a UTC calendar would still say the week ending 14.12.
EDGE_NOW = datetime(2026, 12, 14, 22, 30, tzinfo=UTC)
METRICS = ["sessions", "conversions", "bounce_rate", "revenue"]


# --- servers ----------------------------------------------------------------------------------

class _Json(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"followers": FOLLOWERS}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def json_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/kpi.json"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sheets() -> Iterator[SandboxServer]:
    server = SandboxServer(make_emulator("sheet")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    server = SandboxServer(make_emulator("trello")).start()
    try:
        yield World("trello", server, f"sqlite:///{tmp_path / 'state.db'}",
                    timezone="Europe/Moscow")
    finally:
        server.stop()


# --- helpers ------------------------------------------------------------------------------------

def published(server: SandboxServer, doc: str = sandbox.PUBLISHED_ID) -> str:
    return f"{server.url}/spreadsheets/d/e/{doc}/pub?gid=0&single=true&output=csv"


def settings(url: str, cache: Path, **changes: Any) -> SheetSettings:
    return SheetSettings.model_validate(
        {"kind": "sheet", "url": url, "timeout": 5, "cache_dir": str(cache), **changes})


def seed_document(server: SandboxServer, doc_id: str, spec: dict[str, Any]) -> None:
    requests.post(f"{server.url}/_sandbox/documents/{doc_id}", json=spec,
                  timeout=5).raise_for_status()


def answers(server: SandboxServer) -> dict[str, Any]:
    result: dict[str, Any] = requests.get(f"{server.url}/_sandbox/answers", timeout=5).json()
    return result


def stored(app: App, *sources: str) -> list[tuple[str, date, float | None, str | None, str]]:
    """The rows of the state DB's kpi_values for the series, of ``sources`` (default: the
    sheet; the report also stores the tracker's own metrics): (metric, period_end, value,
    error, source)."""
    with app.store.session() as session:
        rows = session.execute(text(
            "SELECT metric, period_end, value, error, source FROM kpi_values "
            "WHERE series_id = :series ORDER BY metric, period_end"), {"series": SERIES})
        return [(m, p if isinstance(p, date) else date.fromisoformat(str(p)), v, e, s)
                for m, p, v, e, s in rows if s in (sources or ("sheet",))]


def generated(metrics: list[str], start: str = "2026-09-01", end: str = "2027-01-31",
              style: str = "ru", extra_rows: list[list[str]] | None = None) -> dict[str, Any]:
    sheet: dict[str, Any] = {"generate": {"metrics": metrics, "from": start, "to": end,
                                          "style": style}}
    if extra_rows:
        sheet["extra_rows"] = extra_rows
    return {"access": "published", "sheets": {"0": sheet}}


# --- (a) a weekly series --------------------------------------------------------------------------

def test_a_weekly_series_fills_each_period_with_the_seed_functions_numbers(
        world: World, sheets: SandboxServer, tmp_path: Path) -> None:
    world.now = datetime(2026, 12, 10, 9, tzinfo=UTC)
    world.config_changes["kpi_sources"] = [settings(published(sheets), tmp_path / "cache")]
    app = world.app()
    try:
        series = app.config.meetings[0]
        spans = periods(app, series, date(2026, 12, 10))
        for span in spans:
            kpi_report(app, series, span.end, chart=False)
        rows = stored(app)
        windows = [source_window(app, span) for span in spans]
    finally:
        app.store.close()

    by_key = {(m, p): (v, e, s) for m, p, v, e, s in rows}
    for window in windows:
        assert window.timezone == "Europe/Moscow"
        assert (window.end - window.start).days == 6  # a week, both ends included
        # Daily rows in date order: the period's last day is its last row.
        for metric in ("sessions", "conversions", "followers", "revenue", "marketing_spend"):
            assert by_key[(metric, window.end)] == (
                sandbox.COUNT_BASE[metric] + (window.end - sandbox.EPOCH).days, None, "sheet")
        # "34,5%" in a Russian sheet is the fraction 0.345.
        value, error, _ = by_key[("bounce_rate", window.end)]
        assert value == pytest.approx((300 + (window.end - sandbox.EPOCH).days % 100) / 1000)
        assert value is not None and 0.3 <= value < 0.4 and error is None
    # The week ending Monday 07.12.2026, worked out by hand: 340 days after 01.01.2026.
    assert by_key[("sessions", date(2026, 12, 7))][0] == 10_340
    assert by_key[("bounce_rate", date(2026, 12, 7))][0] == pytest.approx(0.340)
    # Metrics the sheet has no rows of are not this sheet's: neither a value nor an error.
    assert {m for m, *_ in rows} == set(sandbox.SEED_METRICS)
    assert {p for _, p, *_ in rows} == {w.end for w in windows}


def test_the_teams_time_zone_decides_the_period_and_days_outside_it_do_not_count(
        world: World, sheets: SandboxServer, tmp_path: Path) -> None:
    # After the generated rows: distinctive values for the days just outside the Moscow week
    # 15.12-21.12 (the UTC "today", 14.12, and the day after, 22.12); each would win as the
    # sheet's last row if it were counted. 16.12's correction inside the week does win.
    seed_document(sheets, sandbox.PUBLISHED_ID, generated(METRICS, extra_rows=[
        ["sessions", "14.12.2026", "999 999"], ["sessions", "22.12.2026", "888 888"],
        ["conversions", "16.12.2026", "4 321"], ["revenue", "15.12.2026", "1 000,5"],
        ["revenue", "14.12.2026", "7"], ["bounce_rate", "22.12.2026", "99,9%"]]))
    world.now = EDGE_NOW
    world.config_changes["kpi_sources"] = [settings(published(sheets), tmp_path / "cache")]
    app = world.app()
    try:
        report = kpi_report(app, app.config.meetings[0], chart=False)  # "today": Moscow's
        rows = stored(app)
    finally:
        app.store.close()

    assert report.errors == {}
    end = date(2026, 12, 21)
    assert report.scorecard.current.end == end
    values = {(m, p): v for m, p, v, _, _ in rows}
    assert values == {
        ("sessions", end): sandbox.seed_value("sessions", end),
        ("conversions", end): 4321.0,  # the later row within the week
        ("revenue", end): 1000.5,
        ("bounce_rate", end): pytest.approx(sandbox.seed_value("bounce_rate", end)),
    }
    assert 999_999.0 not in values.values() and 888_888.0 not in values.values()


# --- (b) failures, with another source beside the sheet ----------------------------------------

def break_sheet(case: str, sheets: SandboxServer) -> str:
    """Set the sandbox up for the case; the sheet's URL for it."""
    if case == "quota":
        requests.post(f"{sheets.url}/_sandbox/options", json={"quota_per_minute": 0},
                      timeout=5).raise_for_status()
    if case == "5xx":
        requests.post(f"{sheets.url}/_sandbox/faults",
                      json={"path": "^/pub-content/", "status": 503, "count": 5},
                      timeout=5).raise_for_status()
    if case == "private":
        return f"{sheets.url}/spreadsheets/d/{sandbox.PRIVATE_ID}/export?format=csv&gid=0"
    if case == "auth":
        return f"{sheets.url}/files/{sandbox.FILE_NAME}"
    return published(sheets)


CASES = {  # case -> (code, how the team reads it in Russian and in English)
    "auth": ("denied:401", "источник отказал в доступе (401)", "the source denied access (401)"),
    "private": ("denied", "источник отказал в доступе", "the source denied access"),
    "quota": ("quota", "исчерпана квота источника", "the source's quota is used up"),
    "5xx": ("http:503", "источник ответил ошибкой 503", "the source answered 503"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_failures_are_per_metric_codes_and_source_error_text_while_another_source_fills_its_own(
        world: World, sheets: SandboxServer, json_url: str, tmp_path: Path, case: str) -> None:
    url = break_sheet(case, sheets)
    token = {"token": "not-the-token"} if case == "auth" else {}
    world.now = datetime(2026, 12, 10, 9, tzinfo=UTC)
    world.config_changes["kpi_sources"] = [
        # followers come from the JSON endpoint, not from the sheet
        settings(url, tmp_path / "cache", metrics={"followers": ""}, **token),
        HttpJsonSource(url=json_url, timeout=5, pointers={"followers": "/followers"})]
    app = world.app()
    try:
        report = kpi_report(app, app.config.meetings[0], date(2026, 12, 14), chart=False)
        rows = stored(app, "sheet", "http-json")
    finally:
        app.store.close()

    code, ru, en = CASES[case]
    end = date(2026, 12, 14)
    sheet_metrics = set(Source(settings(url, tmp_path)).provides()) - {"followers"}
    assert {m: getattr(e, "code", e) for m, e in report.errors.items()} == dict.fromkeys(
        sheet_metrics, code)
    assert "Визиты: " + ru in report.failures("ru")
    # The titles are the scorecard's (the team's language); the error text the locale's.
    assert "Визиты: " + en in report.failures("en")
    assert not any(f.startswith("Подписчики") for f in report.failures("ru"))
    by_metric = {m: (v, e, s) for m, p, v, e, s in rows if p == end}
    assert by_metric["followers"] == (FOLLOWERS, None, "http-json")
    assert by_metric["sessions"] == (None, code, "sheet")
    for failure in report.errors.values():
        assert "not-the-token" not in failure and sandbox.PUBLISHED_ID not in failure


def test_after_a_good_read_a_failure_is_reported_for_the_metrics_the_sheet_has(
        sheets: SandboxServer, tmp_path: Path) -> None:
    source = Source(settings(published(sheets), tmp_path / "cache"))
    window = Window(date(2026, 12, 8), date(2026, 12, 14), "Europe/Moscow")
    wanted = list(source.provides())
    assert set(source.pull(window, wanted).values) == set(sandbox.SEED_METRICS)
    requests.post(f"{sheets.url}/_sandbox/faults", json={"path": "^/pub-content/",
                  "status": 502}, timeout=5).raise_for_status()
    failed = source.pull(window, wanted)
    assert failed.values == {}
    assert {m: f.code for m, f in failed.failures.items()} == dict.fromkeys(
        sandbox.SEED_METRICS, "http:502")  # not arpu & co: the sheet never had them


def test_the_kpi_comment_says_source_error_for_the_sheet_and_shows_the_other_sources_value(
        world: World, sheets: SandboxServer, json_url: str, tmp_path: Path) -> None:
    url = break_sheet("5xx", sheets)
    requests.post(f"{sheets.url}/_sandbox/faults", json={"path": "^/pub-content/",
                  "status": 503, "count": 50}, timeout=5).raise_for_status()
    world.config_changes["kpi_sources"] = [
        settings(url, tmp_path / "cache", metrics={"followers": ""}),
        HttpJsonSource(url=json_url, timeout=5, pointers={"followers": "/followers"})]
    world.now = datetime(2026, 12, 10, 9, tzinfo=UTC)
    world.prepare()
    world.now = datetime(2026, 12, 14, 6, tzinfo=UTC)  # 09:00 in Moscow, the meeting at 10:00
    run(world, progress)
    comment = kpi_comment(world)
    assert "нет данных за период: источник ответил ошибкой 503" in comment
    followers = next(line for line in comment.splitlines() if "Подписчики" in line)
    assert "777" in followers and "ошибк" not in followers


# --- (c) pulling again replaces ------------------------------------------------------------------

def test_pulling_a_period_again_replaces_its_values_and_a_304_reuses_the_kept_copy(
        world: World, sheets: SandboxServer, tmp_path: Path) -> None:
    seed_document(sheets, sandbox.PUBLISHED_ID, generated(METRICS))
    world.now = datetime(2026, 12, 10, 9, tzinfo=UTC)
    world.config_changes["kpi_sources"] = [settings(published(sheets), tmp_path / "cache")]
    end = date(2026, 12, 14)
    app = world.app()
    try:
        series = app.config.meetings[0]
        kpi_report(app, series, end, chart=False)
        first = stored(app)
        kpi_report(app, series, end, chart=False)  # unchanged sheet: a 304, the kept body
        second = stored(app)
        assert answers(sheets)["full"] == 1 and answers(sheets)["not_modified"] == 1
        # Someone corrects the week's sessions: a new ETag, a full answer, the value replaced.
        seed_document(sheets, sandbox.PUBLISHED_ID, generated(METRICS, extra_rows=[
            ["sessions", "14.12.2026", "12 000"]]))
        kpi_report(app, series, end, chart=False)
        third = stored(app)
    finally:
        app.store.close()

    assert answers(sheets)["full"] == 2 and answers(sheets)["not_modified"] == 1
    assert first == second
    assert len(third) == len(first) == len(METRICS)  # one row per metric and period
    assert {(m, p) for m, p, *_ in third} == {(m, end) for m in METRICS}
    values = {m: v for m, _, v, _, _ in third}
    assert values["sessions"] == 12_000
    assert values["conversions"] == sandbox.seed_value("conversions", end)


def test_the_cache_file_is_named_by_the_urls_hash_and_holds_neither_url_nor_token(
        sheets: SandboxServer, tmp_path: Path) -> None:
    url = f"{sheets.url}/files/{sandbox.FILE_NAME}?key=very-secret-key"
    source = Source(settings(url, tmp_path / "cache", token=sandbox.FILE_TOKEN))
    window = Window(date(2026, 12, 8), date(2026, 12, 14), "Europe/Moscow")
    assert source.pull(window, ["sessions"]).values == {
        "sessions": sandbox.seed_value("sessions", date(2026, 12, 14))}
    [kept] = (tmp_path / "cache").iterdir()
    assert kept.name == hashlib.sha256(url.encode()).hexdigest()
    data = kept.read_bytes()
    assert b"very-secret-key" not in data and sandbox.FILE_TOKEN.encode() not in data
    assert b"/files/" not in data and b"metric,period_end,value" in data
    assert kept.stat().st_mode & 0o077 == 0  # the user's alone
    assert source.pull(window, ["sessions"]).values  # from the kept copy after a 304
    assert answers(sheets)["not_modified"] == 1
    log = requests.get(f"{sheets.url}/_sandbox/requests", timeout=5).json()
    assert [entry["status"] for entry in log] == [200, 304]


# --- (d) probe ------------------------------------------------------------------------------------

def test_probe_passes_on_good_settings_and_names_a_wrong_token_or_id(
        sheets: SandboxServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good = [settings(published(sheets), cache),
            settings(f"{sheets.url}/spreadsheets/d/{sandbox.SHARED_ID}/export?format=csv", cache),
            settings(f"{sheets.url}/files/{sandbox.FILE_NAME}", cache, token=sandbox.FILE_TOKEN)]
    for each in good:
        assert Source(each).probe() is None, each.url

    wrong_token = Source(settings(f"{sheets.url}/files/{sandbox.FILE_NAME}", cache,
                                  token="wrong-token-123")).probe()
    assert wrong_token is not None and wrong_token.code == "denied:401"
    assert "token" in wrong_token and "wrong-token-123" not in wrong_token

    wrong_id = Source(settings(published(sheets, "2PACX-1vNoSuchPublishedSheet000"),
                               cache)).probe()
    assert wrong_id is not None and wrong_id.code == "http:404"
    assert "published" in wrong_id and "2PACX" not in wrong_id

    private = Source(settings(
        f"{sheets.url}/spreadsheets/d/{sandbox.PRIVATE_ID}/export?format=csv", cache)).probe()
    assert private is not None and private.code == "denied"
    assert "publish the sheet to the web as CSV" in private

    not_csv = Source(settings(published(sheets).replace("&output=csv", ""), cache)).probe()
    assert not_csv is not None and not_csv.code == "unreadable" and "not CSV" in not_csv


# --- more of what the remote does -----------------------------------------------------------------

def pull_once(url: str, cache: Path, **changes: Any) -> Any:
    window = Window(date(2026, 12, 8), date(2026, 12, 14), "Europe/Moscow")
    return Source(settings(url, cache, **changes)).pull(window, ["sessions", "bounce_rate"])


def test_a_sign_in_page_answered_with_200_is_denied_too(sheets: SandboxServer,
                                                         tmp_path: Path) -> None:
    seed_document(sheets, "1SandboxSignInPageSheetId000000000",
                  {"access": "private", "sign_in_page": True,
                   "sheets": {"0": {"csv": "metric,period_end,value\r\n"}}})
    pulled = pull_once(f"{sheets.url}/spreadsheets/d/1SandboxSignInPageSheetId000000000/"
                       f"export?format=csv", tmp_path)
    assert {f.code for f in pulled.failures.values()} == {"denied"}
    assert "publish the sheet to the web as CSV" in pulled.failures["sessions"]


def test_a_hanging_sheet_times_out_and_a_huge_one_is_refused(sheets: SandboxServer,
                                                              tmp_path: Path) -> None:
    requests.post(f"{sheets.url}/_sandbox/faults",
                  json={"path": "^/pub-content/", "hang": 3}, timeout=5).raise_for_status()
    pulled = pull_once(published(sheets), tmp_path, timeout=1)
    assert {f.code for f in pulled.failures.values()} == {"timeout"}

    seed_document(sheets, "2PACX-1vSandboxHugeSheet0000000000",
                  {"access": "published", "sheets": {"0": {
                      "csv": "metric,period_end,value\r\n", "pad_bytes": MAX_BYTES + 10}}})
    pulled = pull_once(published(sheets, "2PACX-1vSandboxHugeSheet0000000000"), tmp_path)
    assert {f.code for f in pulled.failures.values()} == {"unreadable"}
    assert str(MAX_BYTES) in pulled.failures["sessions"]


def test_a_connection_refused_is_unreachable_and_a_lost_row_is_missing(
        sheets: SandboxServer, tmp_path: Path) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Json) as closed:
        port = closed.server_address[1]
    pulled = pull_once(f"http://127.0.0.1:{port}/sheet.csv", tmp_path)
    assert {f.code for f in pulled.failures.values()} == {"unreachable"}

    # bounce_rate has rows, but the week's are gone; the unknown metric is a note.
    seed_document(sheets, sandbox.PUBLISHED_ID, {"access": "published", "sheets": {"0": {
        "csv": "metric,period_end,value\r\nsessions,14.12.2026,10\r\n"
               "bounce_rate,01.12.2026,\"40,0%\"\r\nvisitz,14.12.2026,5\r\n"}}})
    pulled = pull_once(published(sheets), tmp_path)
    assert pulled.values == {"sessions": 10.0}
    assert pulled.failures["bounce_rate"].code == "missing"
    assert any("'visitz'" in note and "line 4" in note for note in pulled.notes)


def test_a_local_file_in_excel_russian_csv(tmp_path: Path) -> None:
    path = tmp_path / "kpi.csv"
    path.write_bytes("metric;period_end;value\r\nsessions;14.12.2026;1 234\r\n"
                     "bounce_rate;13.12.2026;41,5 %\r\n".encode("cp1251"))
    pulled = pull_once(str(path), tmp_path / "cache")
    assert pulled.values == {"sessions": 1234.0, "bounce_rate": pytest.approx(0.415)}
    missing = pull_once(str(tmp_path / "nope.csv"), tmp_path / "cache")
    assert {f.code for f in missing.failures.values()} == {"unreachable"}


def test_the_emulator_checks_googles_parameters(sheets: SandboxServer) -> None:
    base = f"{sheets.url}/spreadsheets/d"
    assert requests.get(f"{base}/e/{sandbox.PUBLISHED_ID}/pub?output=xlsx2",
                        timeout=5).status_code == 400
    assert requests.get(f"{base}/e/{sandbox.PUBLISHED_ID}/pub?output=csv&gid=42",
                        timeout=5).status_code == 400
    assert requests.get(f"{base}/{sandbox.SHARED_ID}/export", timeout=5).status_code == 400
    redirect = requests.get(f"{base}/{sandbox.PRIVATE_ID}/export?format=csv", timeout=5,
                            allow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith("https://accounts.google.com/ServiceLogin")
    answer = requests.get(f"{base}/e/{sandbox.PUBLISHED_ID}/pub?output=csv&gid=0", timeout=5)
    assert answer.history[0].status_code == 307 and answer.headers["ETag"]
    assert answer.headers["Content-Type"].startswith("text/csv")
    again = requests.get(answer.url, headers={"If-None-Match": answer.headers["ETag"]},
                         timeout=5)
    assert again.status_code == 304 and again.content == b""
    since = requests.get(answer.url, timeout=5,
                         headers={"If-Modified-Since": answer.headers["Last-Modified"]})
    assert since.status_code == 304
    no_token = requests.get(f"{sheets.url}/files/{sandbox.FILE_NAME}", timeout=5)
    assert no_token.status_code == 401 and "Bearer" in no_token.headers["WWW-Authenticate"]
    requests.post(f"{sheets.url}/_sandbox/options", json={"quota_per_minute": 1}, timeout=5)
    requests.post(f"{sheets.url}/_sandbox/clock", json={"advance": 120}, timeout=5)
    url = f"{base}/{sandbox.SHARED_ID}/export?format=csv"
    assert requests.get(url, timeout=5).status_code == 200
    limited = requests.get(url, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    requests.post(f"{sheets.url}/_sandbox/clock", json={"advance": 61}, timeout=5)
    assert requests.get(url, timeout=5).status_code == 200
