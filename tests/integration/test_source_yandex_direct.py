"""The yandex-direct KPI source over real HTTP against the Direct Reports sandbox: a weekly
series' ad-budget metrics per period (the numbers computed here from the sandbox's documented
day function), a time-zone edge, Direct's errors as per-metric failures while an http-json source
beside it still fills its metric, a period pulled twice, offline reports waited for on the
sandbox clock, and ``probe`` for ``check``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from planerka_sync.config import HttpJsonSource
from planerka_sync.demo import demo_config
from planerka_sync.domain.kpi import source_error_text
from planerka_sync.kpi_sources.base import Window
from planerka_sync.kpi_sources.yandex_direct import Source, YandexDirectSettings
from planerka_sync.render.plain import to_plain
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.core import Emulator, Request, route
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.kpi import kpi_report, periods, today
from planerka_sync.store import open_store

SERIES = "marketing-weekly"
SPIKE = 1_000_000.0
# Sunday 6 Dec 2026, 21:30 UTC is Monday 7 Dec, 00:30 in Moscow: the team's week Mon 7..Sun 13
# has begun, while in UTC it is still the Sunday that ends the week before.
NOW = datetime(2026, 12, 6, 21, 30, tzinfo=UTC)
WEEK = (date(2026, 12, 7), date(2026, 12, 13))
GOALS = [1001, 1002]
CAMPAIGNS = [
    {"id": 11, "name": "Поиск", "type": "TEXT_CAMPAIGN", "networks": ["SEARCH"],
     "cost": 1000.10, "clicks": 100, "conversions": 3, "price": 2000.0},
    {"id": 12, "name": "РСЯ", "type": "TEXT_CAMPAIGN", "networks": ["AD_NETWORK"],
     "cost": 500.0, "clicks": 400, "conversions": 1, "price": 1500.0},
    {"id": 13, "name": "ЕПК", "type": "UNIFIED_CAMPAIGN", "networks": ["SEARCH", "AD_NETWORK"],
     "cost": 300.0, "clicks": 50, "conversions": 2, "price": 4000.0},
]
# The days just outside the team's week carry a spike in the search campaign: counted in their
# own weeks, never in Mon 7..Sun 13.
OVERRIDES = [{"date": day, "campaign": 11, "network": "SEARCH", "Cost": SPIKE,
              "Conversions": 1000, "Revenue": SPIKE}
             for day in ("2026-12-06", "2026-12-14")]
SEED = {"goals": GOALS, "campaigns": CAMPAIGNS, "overrides": OVERRIDES}
# Campaign 13 goes to social by its id (over its SEARCH rows' network), the ad network too.
CHANNELS = {"AD_NETWORK": "social", 13: "social"}
CHANNEL_OF = {11: "search", 12: "social", 13: "social"}
DIRECT_METRICS = ("ad_spend_search", "ad_conversions_search", "ad_revenue_search",
                  "ad_spend_social", "ad_conversions_social", "ad_revenue_social",
                  "marketing_spend")  # the last mapped by the tests' config (not a default)


# --- the sandbox's documented day function, computed here independently --------------------


def day_values(campaign: dict[str, Any], network: str, day: date, goal: int) -> dict[str, float]:
    """Cost, conversions and revenue of one campaign on one network and day, for one goal."""
    index = GOALS.index(goal)
    conversions = campaign["conversions"] + (day.day + index) % 3
    values = {"cost": campaign["cost"] + day.day, "conversions": conversions,
              "revenue": conversions * campaign["price"]}
    for override in OVERRIDES:
        if (override["date"] == day.isoformat() and override["campaign"] == campaign["id"]
                and override["network"] == network):
            values = {"cost": override["Cost"], "conversions": override["Conversions"],
                      "revenue": override["Revenue"]}
    return values


def expected(start: date, end: date, goals: list[int]) -> dict[str, float]:
    sums = {f"{what}_{channel}": 0.0 for what in ("spend", "conversions", "revenue")
            for channel in ("search", "social", "all")}
    day = start
    while day <= end:
        for campaign in CAMPAIGNS:
            channel = CHANNEL_OF[campaign["id"]]
            for network in campaign["networks"]:
                per_goal = [day_values(campaign, network, day, g) for g in goals]
                cost = per_goal[0]["cost"]
                conversions = sum(v["conversions"] for v in per_goal)
                revenue = sum(v["revenue"] for v in per_goal)
                for where in (channel, "all"):
                    sums[f"spend_{where}"] += cost
                    sums[f"conversions_{where}"] += conversions
                    sums[f"revenue_{where}"] += revenue
        day += timedelta(days=1)
    return {"ad_spend_search": sums["spend_search"],
            "ad_conversions_search": sums["conversions_search"],
            "ad_revenue_search": sums["revenue_search"],
            "ad_spend_social": sums["spend_social"],
            "ad_conversions_social": sums["conversions_social"],
            "ad_revenue_social": sums["revenue_social"],
            "marketing_spend": sums["spend_all"]}


# --- the world: Direct's sandbox, an http-json endpoint beside it, an App ---------------------


class MetricsEndpoint(Emulator):
    """An analytics endpoint for the http-json source configured beside Direct."""

    flavour = "metrics"

    @route("GET", r"/metrics", auth=False)
    def metrics(self, req: Request) -> dict[str, int]:
        return {"followers": 900}


@dataclass
class World:
    direct: SandboxServer
    metrics: SandboxServer
    db_url: str
    now: datetime = NOW
    apps: list[App] = field(default_factory=list)

    def settings(self, **changes: Any) -> YandexDirectSettings:
        return YandexDirectSettings.model_validate({
            "kind": "yandex-direct", "token": "agency-token", "client_login": "marketing-client",
            "goals": [1002], "channels": CHANNELS, "url": self.direct.url, "timeout": 5,
            "metrics": {"marketing_spend": "Cost@all"}, **changes})

    def app(self, locale: str = "ru", **changes: Any) -> App:
        config = demo_config("trello", "http://127.0.0.1:9")
        series = config.meetings[0].model_copy(update={"weekday": "SU"})  # weeks Mon..Sun
        followers = HttpJsonSource(url=f"{self.metrics.url}/metrics", timeout=5,
                                   pointers={"followers": "/followers"})
        config = config.model_copy(update={
            "meetings": [series], "timezone": "Europe/Moscow", "locale": locale,
            "kpi_sources": [self.settings(**changes), followers]})
        app = App(config, open_store(self.db_url), _no_tracker, clock=lambda: self.now)
        self.apps.append(app)
        return app

    def control(self, what: str, body: Any) -> None:
        requests.post(f"{self.direct.url}/_sandbox/{what}", json=body,
                      timeout=5).raise_for_status()

    def log(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.direct.url}/_sandbox/requests", timeout=5).json()


def _no_tracker() -> Any:
    raise AssertionError("a KPI pull must not need the tracker")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    direct = SandboxServer(make_emulator("yandex-direct", SEED)).start()
    metrics = SandboxServer(MetricsEndpoint()).start()
    found = World(direct, metrics, f"sqlite:///{tmp_path / 'state.db'}")
    try:
        yield found
    finally:
        for app in found.apps:
            app.store.close()
        direct.stop()
        metrics.stop()


def stored(app: App, metric: str | None = None) -> list[tuple[str, date, float | None, str | None,
                                                             str]]:
    """(metric, period end, value, error, source) rows of the state DB's kpi_values."""
    query = "SELECT metric, period_end, value, error, source FROM kpi_values WHERE series_id = :s"
    with app.store.session() as session:
        rows = session.execute(text(query), {"s": SERIES}).all()
    found = [(r[0], r[1] if isinstance(r[1], date) else date.fromisoformat(r[1]), r[2], r[3],
              r[4]) for r in rows]
    return sorted(r for r in found if metric is None or r[0] == metric)


def values_at(app: App, end: date) -> dict[str, float | None]:
    return {m: v for m, day, v, _, _ in stored(app) if day == end}


# --- (a) a weekly series ------------------------------------------------------------------------


def test_the_team_s_week_in_moscow_is_asked_for_not_the_utc_day(world: World) -> None:
    app = world.app()
    assert today(app) == WEEK[0]  # Monday in Moscow, still Sunday in UTC
    report = kpi_report(app, app.config.meetings[0], chart=False)

    assert report.errors == {}
    got = values_at(app, WEEK[1])
    want = expected(*WEEK, goals=[1002])
    for metric in DIRECT_METRICS:
        assert got[metric] == pytest.approx(want[metric]), metric
    assert got["followers"] == 900
    # Neither Sunday 6th nor Monday 14th (the spikes) is in the week's numbers.
    assert got["ad_spend_search"] < SPIKE
    assert got["ad_spend_search"] == pytest.approx(sum(1000.10 + d for d in range(7, 14)))
    assert [e["status"] for e in world.log()] == [200]


def test_every_period_of_the_series_gets_its_own_days(world: World) -> None:
    app = world.app()
    series = app.config.meetings[0]
    spans = periods(app, series, today(app))
    assert spans[-1].start == WEEK[0] and spans[-1].end == WEEK[1]
    assert all(p.end.weekday() == 6 for p in spans)  # Sundays
    for period in spans:
        kpi_report(app, series, period_end=period.end, chart=False)

    for period in spans:
        start = period.start or period.end - timedelta(days=6)
        want = expected(start, period.end, goals=[1002])
        got = values_at(app, period.end)
        for metric in DIRECT_METRICS:
            assert got[metric] == pytest.approx(want[metric]), (period, metric)
    # The spike of Sunday 6th belongs to the week ending that day, and only to it.
    spiked = [p.end for p in spans if values_at(app, p.end)["ad_spend_search"] >= SPIKE]
    assert spiked == [date(2026, 12, 6)]
    assert len(world.log()) == len(spans)


def test_goals_and_vat_change_what_is_asked_for(world: World) -> None:
    app = world.app(goals=[1001, 1002], include_vat=False, metrics={})  # the defaults alone
    kpi_report(app, app.config.meetings[0], chart=False)
    got = values_at(app, WEEK[1])
    want = expected(*WEEK, goals=[1001, 1002])
    assert got["ad_conversions_social"] == pytest.approx(want["ad_conversions_social"])
    assert got["ad_revenue_search"] == pytest.approx(want["ad_revenue_search"])
    assert got["ad_spend_search"] == pytest.approx(want["ad_spend_search"] / 1.22, abs=0.01)
    assert "marketing_spend" not in got


# --- (b) errors as per-metric failures ----------------------------------------------------------


CASES = {
    "wrong token": ({"token": "not-a-token"}, {}, None, "denied:401"),
    "client not the agency's": ({"client_login": "someone-else"}, {}, None, "denied:403"),
    "a proxy's 401": ({}, {}, {"status": 401, "body": "Unauthorized"}, "denied:401"),
    "not enough points": ({}, {"fail_with": 152}, None, "quota"),
    "connection limit": ({}, {"fail_with": 506}, None, "quota"),
    "too many requests": ({}, {}, {"status": 429, "body": "slow down"}, "quota"),
    "server error": ({}, {"fail_with": 1000}, None, "http:500"),
    "gateway": ({}, {}, {"status": 502, "body": "<html>Bad Gateway</html>"}, "http:502"),
    "unreachable": ({"url": "http://127.0.0.1:9"}, {}, None, "unreachable"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("locale", ["ru", "en"])
def test_direct_s_errors_fail_its_metrics_and_the_other_source_still_fills_its_own(
        world: World, case: str, locale: str) -> None:
    changes, options, fault, code = CASES[case]
    if options:
        world.control("options", options)
    if fault:
        world.control("faults", {"path": "/json/v5/reports", **fault})
    app = world.app(locale, **changes)
    report = kpi_report(app, app.config.meetings[0], chart=False)

    assert {m: getattr(e, "code", e) for m, e in report.errors.items()} == \
        dict.fromkeys(DIRECT_METRICS, code)
    rows = {m: (v, error, source) for m, day, v, error, source in stored(app) if day == WEEK[1]}
    for metric in DIRECT_METRICS:
        assert rows[metric] == (None, code, "yandex-direct")
    assert rows["followers"] == (900, None, "http-json")

    said = source_error_text(code, locale)
    title = "Расход — поисковая реклама" if locale == "ru" else "Spend — search ads"
    assert f"{title}: {said}" in report.failures(locale)
    comment = to_plain(report.document).replace("\u00a0", " ")
    no_data = "нет данных за период" if locale == "ru" else "no data for the period"
    assert f"{no_data}: {said}" in comment
    for failure in report.errors.values():
        assert "agency-token" not in failure and "not-a-token" not in failure


def test_a_full_offline_queue_is_a_quota_failure(world: World) -> None:
    world.control("options", {"build_seconds": 3600, "queue_limit": 2})
    source = Source(world.settings(max_wait=0))
    source.clock = lambda: NOW.timestamp()
    monday = WEEK[0]
    answers = [source.pull(Window(monday - timedelta(days=7 * i), WEEK[1] - timedelta(days=7 * i),
                                  "Europe/Moscow"), ["ad_spend_search"]) for i in range(3)]
    assert [a.failures["ad_spend_search"].code for a in answers] == ["timeout", "timeout",
                                                                     "quota"]
    assert "9000" in answers[2].failures["ad_spend_search"]


# --- (c) the same period twice ------------------------------------------------------------------


def test_pulling_a_period_again_replaces_its_values(world: World) -> None:
    app = world.app()
    series = app.config.meetings[0]
    kpi_report(app, series, chart=False)
    first = values_at(app, WEEK[1])["ad_spend_search"]
    # Direct's numbers for the week change (late clicks counted): one more day's override.
    world.control("seed", {**SEED, "overrides": [*OVERRIDES, {
        "date": "2026-12-09", "campaign": 11, "network": "SEARCH", "Cost": 5000.0}]})
    kpi_report(app, series, chart=False)

    rows = stored(app, "ad_spend_search")
    assert [(day, source) for _, day, _, _, source in rows] == [(WEEK[1], "yandex-direct")]
    assert rows[0][2] == pytest.approx(first - (1000.10 + 9) + 5000.0)
    per_metric = [(m, day) for m, day, *_ in stored(app)]
    assert len(per_metric) == len(set(per_metric))

    # A failed third pull keeps the good numbers and says nothing was lost.
    world.control("options", {"fail_with": 1000})
    report = kpi_report(app, series, chart=False)
    assert set(report.errors) == set(DIRECT_METRICS)
    assert stored(app, "ad_spend_search") == rows


# --- offline reports ---------------------------------------------------------------------------


def test_an_offline_report_is_asked_for_again_after_retry_in_under_the_same_name(
        world: World) -> None:
    world.control("options", {"build_seconds": 10, "retry_in": 4})
    source = Source(world.settings())
    source.clock = lambda: NOW.timestamp()
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the sandbox clock moves instead of the test waiting
        waits.append(seconds)
        world.control("clock", {"advance": seconds})

    source.sleep = sleep
    pulled = source.pull(Window(*WEEK, "Europe/Moscow"), ["ad_spend_search", "marketing_spend"])

    assert pulled.failures == {}
    want = expected(*WEEK, goals=[1002])
    assert pulled.values["ad_spend_search"] == pytest.approx(want["ad_spend_search"])
    assert [e["status"] for e in world.log()] == [201, 202, 202, 200]
    assert waits == [4, 4, 4]


def test_a_report_still_being_built_after_max_wait_fails_as_timeout_then_arrives_later(
        world: World) -> None:
    world.control("options", {"build_seconds": 30, "retry_in": 4})
    source = Source(world.settings(max_wait=6))
    source.clock = lambda: NOW.timestamp()
    waits: list[float] = []
    source.sleep = lambda s: (waits.append(s), world.control("clock", {"advance": s}))[-1]
    window = Window(*WEEK, "Europe/Moscow")

    first = source.pull(window, ["ad_spend_search"])
    failure = first.failures["ad_spend_search"]
    assert failure.code == "timeout" and "still being built" in failure
    assert sum(waits) == 6
    assert [e["status"] for e in world.log()] == [201, 202, 202]

    world.control("clock", {"advance": 60})
    second = source.pull(window, ["ad_spend_search"])  # the same ReportName: the built report
    assert second.failures == {}
    assert [e["status"] for e in world.log()][-1] == 200


# --- (d) probe, for `check` ---------------------------------------------------------------------


def test_probe_passes_on_good_settings(world: World) -> None:
    assert Source(world.settings()).probe() is None
    assert Source(world.settings(token="direct-token", client_login=None)).probe() is None


@pytest.mark.parametrize(("changes", "code", "named"), [
    ({"token": "wrong"}, "denied:401", "Invalid OAuth token"),
    ({"client_login": "not-our-client"}, "denied:403", "not-our-client"),
    ({"goals": [999]}, "http:400", "Goal 999 not found"),
    ({"url": "http://127.0.0.1:9"}, "unreachable", "cannot connect"),
])
def test_probe_names_what_is_wrong(world: World, changes: dict[str, Any], code: str,
                                   named: str) -> None:
    failure = Source(world.settings(**changes)).probe()
    assert failure is not None
    assert failure.code == code
    assert named in failure
    assert changes.get("token", "agency-token") not in failure
