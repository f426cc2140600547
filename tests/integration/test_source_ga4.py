"""The google-analytics-4 KPI source end to end: the official google-analytics-data client (REST
transport) against the GA4 sandbox over HTTP, with a service-account key the test makes (its
token_uri is the sandbox, which checks the signed JWT and then requires the access token it
issued). Expected numbers are computed here from the seed function the sandbox documents."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlalchemy import text

from planerka_sync.config import HttpJsonSource
from planerka_sync.kpi_sources.base import Window
from planerka_sync.kpi_sources.ga4 import Ga4Settings, Source
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.doctor import check
from planerka_sync.service.kpi import kpi_report, periods, source_window, today
from planerka_sync.service.progress import progress
from tests.integration.test_prepare import World
from tests.integration.test_scorecard_surfaces import kpi_comment
from tests.integration.test_status import run

SERIES = "marketing-weekly"
PROPERTY = "123456789"
EMAIL = "planerka-kpi@marketing-1234.iam.gserviceaccount.com"
# 22:30 UTC on Monday 14.12.2026 is 01:30 on Tuesday 15.12 in Moscow: the team's current period
# (Mondays' meetings) is Tue 15.12 .. Mon 21.12; in UTC it would still be the week to 14.12.
NOW = datetime(2026, 12, 14, 22, 30, tzinfo=UTC)
CURRENT = (date(2026, 12, 15), date(2026, 12, 21))
# Days just outside the current window, each a thousand times an ordinary day.
SPIKES = {date(2026, 12, 14): 1000.0, date(2026, 12, 22): 1000.0}
GA4_METRICS = {"sessions", "unique_visitors", "bounce_rate", "time_on_site_s", "page_depth",
               "conversions", "organic_sessions"}


# --- what GA4 must answer, from the sandbox's documented seed function -------------------------


def expected(start: date, end: date, spikes: dict[date, float], key_events: tuple[str, ...]
             = ("purchase", "sign_up")) -> dict[str, float]:
    sessions = engaged = views = duration = new_users = keys = organic = 0.0
    day = start
    while day <= end:
        f = spikes.get(day, 1.0)
        for i in range(3):  # Organic Search, Direct, Paid Search
            s = f * (10 * (i + 1) + day.day)
            sessions += s
            engaged += s - f * (i + 1 + day.weekday())
            views += 3 * s
            duration += 60 * s + f * 10 * day.day
            new_users += f * (5 * (i + 1) + day.day)
            events = {"purchase": f * (i + 1), "sign_up": f * (day.day % 3)}
            keys += sum(events[e] for e in key_events)
            organic += s if i == 0 else 0.0
        day += timedelta(days=1)
    return {"sessions": sessions, "unique_visitors": new_users + 7 + 14 + 21,
            "bounce_rate": (sessions - engaged) / sessions, "time_on_site_s": duration / sessions,
            "page_depth": views / sessions, "conversions": keys, "organic_sessions": organic}


# --- the service account, the sandboxes and the app ---------------------------------------------


@dataclass
class Key:
    private_pem: str
    public_pem: str

    def json(self, token_uri: str, email: str = EMAIL) -> str:
        return json.dumps({
            "type": "service_account", "project_id": "marketing-1234",
            "private_key_id": "0123456789abcdef", "private_key": self.private_pem,
            "client_email": email, "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri})


def new_key() -> Key:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return Key(private, public)


@pytest.fixture(scope="module")
def key() -> Key:
    return new_key()


def seed(key: Key, spikes: dict[date, float]) -> dict[str, Any]:
    return {
        "service_accounts": [{"client_email": EMAIL, "public_key_pem": key.public_pem}],
        "tokens": [],
        "properties": {PROPERTY: {"timeZone": "Europe/Moscow", "currencyCode": "RUB",
                                  "keyEvents": ["purchase", "sign_up"], "readers": [EMAIL]}},
        "spikes": {d.isoformat(): f for d, f in spikes.items()},
    }


@pytest.fixture
def ga4(key: Key) -> Iterator[SandboxServer]:
    server = SandboxServer(make_emulator("google-analytics-4", seed(key, SPIKES))).start()
    try:
        yield server
    finally:
        server.stop()


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"followers": 900}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def metrics_url() -> Iterator[str]:
    """Another source beside GA4: an http-json endpoint with the followers."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/metrics.json"
    finally:
        httpd.shutdown()
        httpd.server_close()


def settings(ga4: SandboxServer, key: Key, **changes: Any) -> Ga4Settings:
    raw = {"kind": "google-analytics-4", "property": PROPERTY, "endpoint": ga4.url,
           "credentials": key.json(f"{ga4.url}/token"), "key_events": ["purchase", "sign_up"],
           "timeout": 5, **changes}
    return Ga4Settings.model_validate(raw)


@pytest.fixture
def world(tmp_path: Path, ga4: SandboxServer, key: Key, metrics_url: str) -> Iterator[World]:
    tracker = SandboxServer(make_emulator("trello")).start()
    try:
        beside = HttpJsonSource(url=metrics_url, timeout=5, pointers={"followers": "/followers"})
        yield World("trello", tracker, f"sqlite:///{tmp_path / 'state.db'}", now=NOW,
                    timezone="Europe/Moscow",
                    config_changes={"kpi_sources": [settings(ga4, key), beside]})
    finally:
        tracker.stop()


def stored(app: App) -> list[dict[str, Any]]:
    """The state DB's kpi_values rows of the series, as SQL sees them."""
    with app.store.session() as session:
        rows = session.execute(text(
            "SELECT metric, period_end, value, source, error FROM kpi_values "
            "WHERE series_id = :series ORDER BY period_end, metric"), {"series": SERIES})
        return [dict(r._mapping) for r in rows]


def by_period(rows: list[dict[str, Any]], source: str = "google-analytics-4",
              ) -> dict[date, dict[str, Any]]:
    out: dict[date, dict[str, Any]] = {}
    for row in rows:
        if row["source"] == source:
            day = row["period_end"]
            day = date.fromisoformat(day) if isinstance(day, str) else day
            out.setdefault(day, {})[row["metric"]] = row["value"] if row["value"] is not None \
                else row["error"]
    return out


def fault(server: SandboxServer, **spec: Any) -> None:
    requests.post(f"{server.url}/_sandbox/faults", json={"path": ":runReport", **spec},
                  timeout=5).raise_for_status()


def rpc(code: int, status: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, **extra}}


# --- (a) a weekly series' periods, each filled with its own days ---------------------------------


def test_each_weekly_period_gets_the_totals_of_its_own_days_in_the_team_zone(
        world: World, ga4: SandboxServer) -> None:
    app = world.app()
    try:
        series = app.config.meetings[0]
        assert today(app) == CURRENT[0]  # Moscow's Tuesday, not UTC's Monday
        spans = periods(app, series, today(app))
        windows = [source_window(app, p) for p in spans]
        assert (windows[-1].start, windows[-1].end) == CURRENT
        assert (windows[-2].start, windows[-2].end) == (date(2026, 12, 8), date(2026, 12, 14))
        for period in spans:
            report = kpi_report(app, series, period.end, chart=False)
            assert report.errors == {}
        got = by_period(stored(app))
    finally:
        app.store.close()

    assert sorted(got) == [p.end for p in spans]
    for window in windows:
        want = expected(window.start, window.end, SPIKES)
        assert set(got[window.end]) == GA4_METRICS, window  # conversion_rate is derived
        for metric, value in want.items():
            assert got[window.end][metric] == pytest.approx(value, rel=1e-9), (window, metric)
    # The spiked days count in the week that holds them and nowhere else.
    ordinary = expected(*CURRENT, {})
    assert got[CURRENT[1]]["sessions"] == ordinary["sessions"]
    assert got[date(2026, 12, 14)]["sessions"] > 100 * ordinary["sessions"]
    # One token exchange per report; 3 runReports (all, organic, key events) per period.
    log = requests.get(f"{ga4.url}/_sandbox/requests", timeout=5).json()
    assert [e["path"] for e in log].count("/token") == len(spans)
    assert sum(e["path"].endswith(":runReport") for e in log) == 3 * len(spans)
    assert {e["status"] for e in log} == {200}


def test_the_scorecard_shows_ga4_numbers_and_the_derived_conversion_rate(world: World) -> None:
    app = world.app()
    try:
        series = app.config.meetings[0]
        report = kpi_report(app, series, chart=False)
    finally:
        app.store.close()
    want = expected(*CURRENT, SPIKES)
    rows = {row.metric.id: row for row in report.scorecard.rows()}
    assert rows["sessions"].trend[-1] == want["sessions"]
    assert rows["conversion_rate"].trend[-1] == pytest.approx(
        want["conversions"] / want["sessions"])
    assert rows["followers"].trend[-1] == 900  # the source beside it


def test_pull_notes_a_property_that_counts_days_in_another_zone(
        ga4: SandboxServer, key: Key) -> None:
    source = Source(settings(ga4, key))
    pulled = source.pull(Window(*CURRENT, "Asia/Yekaterinburg"), ["sessions"])
    assert pulled.values["sessions"] == expected(*CURRENT, SPIKES)["sessions"]
    assert any("Europe/Moscow" in n and "time zone" in n for n in pulled.notes)
    same = source.pull(Window(*CURRENT, "Europe/Moscow"), ["sessions"])
    assert same.notes == []


# --- (b) auth, quota and server errors: per-metric failures, the other source unharmed ----------

QUOTA_429 = rpc(429, "RESOURCE_EXHAUSTED", "Exhausted property tokens per day for a property.")
QUOTA_403 = rpc(403, "PERMISSION_DENIED", "Quota exceeded for quota metric 'Requests'.",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                          "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com"}])
DENIED_403 = rpc(403, "PERMISSION_DENIED", "User does not have sufficient permissions for this "
                 "property.")
UNAUTH_401 = rpc(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
SERVER_500 = rpc(500, "INTERNAL", "Internal error encountered.")
UNAVAILABLE = rpc(503, "UNAVAILABLE", "The service is currently unavailable.")
WORDS = {
    "denied:401": ("источник отказал в доступе (401)", "the source denied access (401)"),
    "denied:403": ("источник отказал в доступе (403)", "the source denied access (403)"),
    "quota": ("исчерпана квота источника", "the source's quota is used up"),
    "http:500": ("источник ответил ошибкой 500", "the source answered 500"),
    "http:503": ("источник ответил ошибкой 503", "the source answered 503"),
}


@pytest.mark.parametrize(("status", "body", "code"), [
    (401, UNAUTH_401, "denied:401"),
    (403, DENIED_403, "denied:403"),
    (429, QUOTA_429, "quota"),
    (403, QUOTA_403, "quota"),
    (500, SERVER_500, "http:500"),
    (503, UNAVAILABLE, "http:503"),  # retried within the time-out, then given up
], ids=["401", "403", "429", "403-rate-limit", "500", "503-always"])
def test_api_errors_are_failures_of_each_metric_and_the_other_source_still_fills(
        world: World, ga4: SandboxServer, status: int, body: dict, code: str) -> None:
    fault(ga4, status=status, body=body, count=1000)
    app = world.app()
    try:
        series = app.config.meetings[0]
        started = time.monotonic()
        report = kpi_report(app, series, chart=False)
        took = time.monotonic() - started
        rows = stored(app)
    finally:
        app.store.close()
    assert took < 15
    assert set(report.errors) == GA4_METRICS
    assert {getattr(e, "code", None) for e in report.errors.values()} == {code}
    for failure in report.errors.values():
        assert "ya29." not in failure and "PRIVATE KEY" not in failure
    ru, en = WORDS[code]
    # The scorecard's titles are in the team's language (ru); the failure in the one asked.
    assert f"Визиты: {ru}" in report.failures("ru")
    assert f"Визиты: {en}" in report.failures("en")
    assert by_period(rows)[CURRENT[1]] == dict.fromkeys(GA4_METRICS, code)
    assert by_period(rows, "http-json")[CURRENT[1]] == {"followers": 900}


def test_a_503_once_is_retried_and_the_pull_succeeds(ga4: SandboxServer, key: Key) -> None:
    fault(ga4, status=503, body=UNAVAILABLE, count=1)
    pulled = Source(settings(ga4, key)).pull(Window(*CURRENT, "Europe/Moscow"), GA4_METRICS)
    assert pulled.failures == {}
    assert pulled.values["sessions"] == expected(*CURRENT, SPIKES)["sessions"]


def test_a_hanging_api_is_a_timeout_within_the_bound(ga4: SandboxServer, key: Key) -> None:
    fault(ga4, hang=20, count=10)
    started = time.monotonic()
    pulled = Source(settings(ga4, key, timeout=1)).pull(Window(*CURRENT, "Europe/Moscow"),
                                                          GA4_METRICS)
    assert time.monotonic() - started < 6
    assert {f.code for f in pulled.failures.values()} == {"timeout"}


def test_a_hanging_token_endpoint_is_a_timeout_within_the_bound(
        ga4: SandboxServer, key: Key) -> None:
    requests.post(f"{ga4.url}/_sandbox/faults", json={"path": "^/token$", "hang": 20,
                                                      "count": 10}, timeout=5)
    started = time.monotonic()
    failure = Source(settings(ga4, key, timeout=1)).probe()
    assert time.monotonic() - started < 4
    assert failure is not None and failure.code == "timeout"


def test_the_quota_of_the_property_runs_out_as_the_api_says_it(
        ga4: SandboxServer, key: Key) -> None:
    requests.post(f"{ga4.url}/_sandbox/options", json={"tokens_per_day": 2},
                  timeout=5).raise_for_status()
    pulled = Source(settings(ga4, key)).pull(Window(*CURRENT, "Europe/Moscow"), GA4_METRICS)
    # Two requests pass (the unfiltered metrics, then the key events), the third (organic
    # sessions) is refused.
    assert pulled.values["sessions"] == expected(*CURRENT, SPIKES)["sessions"]
    assert pulled.values["conversions"] == expected(*CURRENT, SPIKES)["conversions"]
    assert set(pulled.failures) == {"organic_sessions"}
    assert pulled.failures["organic_sessions"].code == "quota"
    assert "Exhausted property tokens per day" in pulled.failures["organic_sessions"]


def test_the_kpi_comment_names_the_source_error_in_the_team_language(
        world: World, ga4: SandboxServer) -> None:
    world.now = datetime(2026, 12, 10, 9, tzinfo=UTC)
    world.prepare()  # the meeting of Monday 14.12
    fault(ga4, status=429, body=QUOTA_429, count=1000)
    world.now = datetime(2026, 12, 14, 6, tzinfo=UTC)  # 09:00 in Moscow, before the meeting
    run(world, progress)
    comment = kpi_comment(world)
    assert "нет данных за период: исчерпана квота источника" in comment
    assert "900" in comment  # followers, from the source beside GA4


# --- (c) the same period pulled twice: values replaced, never duplicated -------------------------


def test_pulling_a_period_again_replaces_its_values(world: World, ga4: SandboxServer,
                                                    key: Key) -> None:
    app = world.app()
    try:
        series = app.config.meetings[0]
        kpi_report(app, series, chart=False)
        first = stored(app)
        spiked = {**SPIKES, date(2026, 12, 16): 10.0}
        requests.post(f"{ga4.url}/_sandbox/seed", json=seed(key, spiked),
                      timeout=5).raise_for_status()
        kpi_report(app, series, chart=False)
        second = stored(app)
    finally:
        app.store.close()
    keys = [(r["metric"], r["period_end"]) for r in second]
    assert len(keys) == len(set(keys)) == len(first)
    got = by_period(second)[CURRENT[1]]
    assert got["sessions"] == expected(*CURRENT, spiked)["sessions"]
    assert got["sessions"] != by_period(first)[CURRENT[1]]["sessions"]


def test_a_failed_refresh_keeps_the_value_a_period_already_has(
        world: World, ga4: SandboxServer) -> None:
    app = world.app()
    try:
        series = app.config.meetings[0]
        kpi_report(app, series, chart=False)
        fault(ga4, status=500, body=SERVER_500, count=1000)
        report = kpi_report(app, series, chart=False)
        rows = stored(app)
    finally:
        app.store.close()
    assert set(report.errors) == GA4_METRICS
    assert by_period(rows)[CURRENT[1]]["sessions"] == expected(*CURRENT, SPIKES)["sessions"]


# --- (d) probe: None when right, the failure named when not ---------------------------------------


def test_probe_passes_on_good_settings(ga4: SandboxServer, key: Key) -> None:
    assert Source(settings(ga4, key)).probe() is None


def test_probe_names_a_key_the_token_endpoint_refuses(ga4: SandboxServer) -> None:
    stranger = new_key()
    failure = Source(settings(ga4, stranger)).probe()
    assert failure is not None and failure.code == "denied:401"
    assert "Invalid JWT Signature" in failure
    assert "PRIVATE KEY" not in failure


def test_probe_names_a_property_the_account_cannot_read(ga4: SandboxServer, key: Key) -> None:
    failure = Source(settings(ga4, key, property="987654321")).probe()
    assert failure is not None and failure.code == "denied:403"
    assert "987654321" in failure and "Property access management" in failure


def test_probe_names_a_metric_ga4_does_not_know(ga4: SandboxServer, key: Key) -> None:
    failure = Source(settings(ga4, key, metrics={"sessions": "visits"})).probe()
    assert failure is not None and failure.code == "http:400"
    assert "visits is not a valid metric" in failure


def test_probe_names_credentials_that_are_not_a_key(ga4: SandboxServer, key: Key) -> None:
    failure = Source(settings(ga4, key, credentials="/etc/ga4-key.json")).probe()
    assert failure is not None and failure.code == "denied:401"
    assert "not JSON" in failure


def test_check_shows_the_ga4_source_row(world: World, ga4: SandboxServer) -> None:
    rows = run(world, check)
    [row] = [r for r in rows if r.area == "kpi_source" and "Google Analytics 4" in r.what]
    assert row.ok, row.advice
    fault(ga4, status=403, body=DENIED_403, count=1000)
    [row] = [r for r in run(world, check)
             if r.area == "kpi_source" and "Google Analytics 4" in r.what]
    assert not row.ok


# --- the sandbox answers as the API documents it ------------------------------------------------


def access_token(ga4: SandboxServer) -> str:
    """A static token the seed accepts (the key flow is what the tests above drive)."""
    requests.post(f"{ga4.url}/_sandbox/seed", json={"tokens": ["t0"]},
                  timeout=5).raise_for_status()
    return "t0"


def report(ga4: SandboxServer, body: dict[str, Any], token: str | None = "t0",
           property_id: str = PROPERTY, query: str = "") -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{ga4.url}/v1beta/properties/{property_id}:runReport{query}",
                         json=body, headers=headers, timeout=5)


WEEK = {"dateRanges": [{"startDate": "2026-12-08", "endDate": "2026-12-14"}]}


def test_sandbox_report_rows_headers_and_metadata(ga4: SandboxServer) -> None:
    access_token(ga4)
    body = {**WEEK, "metrics": [{"name": "sessions"}, {"name": "bounceRate"}],
            "dimensions": [{"name": "sessionDefaultChannelGroup"}],
            "dimensionFilter": {"filter": {"fieldName": "sessionDefaultChannelGroup",
                                           "inListFilter": {"values": ["Direct",
                                                                       "Organic Search"]}}}}
    answer = report(ga4, body).json()
    assert answer["dimensionHeaders"] == [{"name": "sessionDefaultChannelGroup"}]
    assert answer["metricHeaders"] == [{"name": "sessions", "type": "TYPE_INTEGER"},
                                       {"name": "bounceRate", "type": "TYPE_FLOAT"}]
    assert answer["rowCount"] == 2
    assert answer["metadata"] == {"currencyCode": "RUB", "timeZone": "Europe/Moscow"}
    rows = {r["dimensionValues"][0]["value"]: r["metricValues"] for r in answer["rows"]}
    organic = sum(10 + d for d in range(8, 15))
    assert rows["Organic Search"][0] == {"value": str(organic)}
    assert all(isinstance(v["value"], str) for r in rows.values() for v in r)
    ints = report(ga4, body, query="?$alt=json;enum-encoding=int").json()
    assert ints["metricHeaders"][0]["type"] == 1


def test_sandbox_by_date_and_event(ga4: SandboxServer) -> None:
    access_token(ga4)
    answer = report(ga4, {**WEEK, "metrics": [{"name": "keyEvents"}],
                          "dimensions": [{"name": "date"}, {"name": "eventName"}]}).json()
    cells = {tuple(v["value"] for v in r["dimensionValues"]): r["metricValues"][0]["value"]
             for r in answer["rows"]}
    assert cells[("20261208", "purchase")] == str(1 + 2 + 3)
    assert ("20261208", "page_view") not in cells  # not a key event: keyEvents 0, row left out


@pytest.mark.parametrize(("body", "message"), [
    ({**WEEK, "metrics": [{"name": "visits"}]}, "Field visits is not a valid metric"),
    ({**WEEK, "metrics": [{"name": "sessions"}], "dimensions": [{"name": "city"}]},
     "Field city is not a valid dimension"),
    ({**WEEK, "metrics": [{"name": "sessions"}], "bogus": 1}, 'Unknown name "bogus"'),
    ({"metrics": [{"name": "sessions"}]}, "dateRange"),
    ({**WEEK}, "at least one metric"),
    ({"dateRanges": [{"startDate": "2026-12-14", "endDate": "2026-12-08"}],
      "metrics": [{"name": "sessions"}]}, "is after endDate"),
    ({"dateRanges": [{"startDate": "14.12.2026", "endDate": "today"}],
      "metrics": [{"name": "sessions"}]}, "Accepted formats are YYYY-MM-DD"),
    ({"dateRanges": WEEK["dateRanges"] * 5, "metrics": [{"name": "sessions"}]},
     "limited to 4 dateRanges"),
    ({**WEEK, "metrics": [{"name": "sessions"}] * 11}, "limited to 10 metrics"),
    ({**WEEK, "metrics": [{"name": "sessions"}],
      "dimensionFilter": {"filter": {"fieldName": "eventName",
                                     "stringFilter": {"value": "purchase"}}}},
     "incompatible"),
    ({**WEEK, "metrics": [{"name": "sessions"}],
      "dimensionFilter": {"filter": {"fieldName": "sessions",
                                     "stringFilter": {"value": "1"}}}},
     "Metrics cannot be used in a dimensionFilter"),
], ids=["metric", "dimension", "field", "no-dates", "no-metrics", "reversed", "date-format",
        "5-ranges", "11-metrics", "event-x-sessions", "metric-filter"])
def test_sandbox_refuses_a_bad_request_as_invalid_argument(
        ga4: SandboxServer, body: dict[str, Any], message: str) -> None:
    access_token(ga4)
    answer = report(ga4, body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert message in error["message"]


def test_sandbox_auth_errors_are_google_rpc_statuses(ga4: SandboxServer) -> None:
    access_token(ga4)
    body = {**WEEK, "metrics": [{"name": "sessions"}]}
    missing = report(ga4, body, token=None)
    assert missing.status_code == 401
    assert missing.json()["error"]["status"] == "UNAUTHENTICATED"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = report(ga4, body, token="ya29.forged")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_TYPE_UNSUPPORTED"
    other = report(ga4, body, property_id="555")
    assert other.status_code == 403
    assert other.json()["error"]["status"] == "PERMISSION_DENIED"
    not_a_number = report(ga4, body, property_id="G-ABC123")
    assert not_a_number.status_code == 400


def test_sandbox_token_endpoint_refuses_an_unsigned_grant(ga4: SandboxServer) -> None:
    answer = requests.post(f"{ga4.url}/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_sandbox_mints_a_service_account_key_for_demos(ga4: SandboxServer) -> None:
    minted = requests.post(f"{ga4.url}/_sandbox/service-account", timeout=10)
    assert minted.status_code == 201
    s = Ga4Settings.model_validate({"kind": "google-analytics-4", "property": PROPERTY,
                                    "endpoint": ga4.url, "credentials": minted.text})
    requests.post(f"{ga4.url}/_sandbox/seed", json={}, timeout=5)  # readers "*", key forgotten
    assert Source(s).probe() is not None
    minted = requests.post(f"{ga4.url}/_sandbox/service-account", timeout=10)
    s = s.model_copy(update={"credentials": SecretStr(minted.text)})
    assert Source(s).probe() is None
