"""The yandex-metrica KPI source against the Metrica sandbox over HTTP, through the report that
fills a series' periods: the right numbers for the right weeks (a Moscow week, not a UTC one),
failures as per-metric "source error" text while an http-json source beside it still fills its
metric, a period pulled twice kept once, and ``probe`` naming what is wrong.

The expected numbers are computed here from the day function the emulator documents, written out
again (not imported), so a change of either side shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from planerka_sync.kpi_sources.base import Window, make_source
from planerka_sync.kpi_sources.http_json import HttpJsonSettings
from planerka_sync.kpi_sources.yandex_metrica import YandexMetricaSettings
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.core import Emulator, Request, route
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.sandbox.yandex_metrica import error_body, quota_error
from planerka_sync.service.app import App
from planerka_sync.service.kpi import kpi_report, periods
from planerka_sync.service.progress import progress
from tests.integration.test_prepare import World
from tests.integration.test_scorecard_surfaces import kpi_comment
from tests.integration.test_status import run

SERIES = "marketing-weekly"
TOKEN = "metrica-good-token"
COUNTER = 4242
GOALS = [11, 22]
HUGE = 1_000_000  # a day's visits that must never be counted where they do not belong
# Mon 14.12 and Sun 06.12 lie just outside the Moscow week Mon 07.12 .. Sun 13.12.
OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "2026-12-06": {"direct": {"visits": HUGE}, "organic": {"visits": HUGE}},
    "2026-12-14": {"direct": {"visits": HUGE, "new": HUGE}, "organic": {"visits": HUGE}},
}
METRICA_METRICS = ["sessions", "unique_visitors", "bounce_rate", "page_depth", "time_on_site_s",
                   "conversions", "organic_sessions"]


def seed(overrides: dict[str, Any] | None = None, goals: list[int] | None = None,
         **counter: Any) -> dict[str, Any]:
    return {"counters": {str(COUNTER): {"timezone": "Europe/Moscow", "goals": goals or GOALS,
                                        "days": OVERRIDES if overrides is None else overrides,
                                        **counter},
                         "777": {"timezone": "Europe/Moscow", "goals": []}},
            "tokens": {TOKEN: [COUNTER]}}


# --- the sandbox's documented day function, written out again ------------------------------------


def day_row(day: date, source: str, goals: list[int],
            overrides: dict[str, Any]) -> dict[str, Any]:
    i, m = day.day, day.month
    if source == "direct":
        visits = 700 + 20 * i + m
        row = {"visits": visits, "bounces": 150 + 3 * i, "pageviews": 2 * visits + i,
               "duration": 90 * visits, "returning": 400 + i, "new": 100 + 2 * i,
               "reaches": [5 * (j + 1) + i % 3 for j in range(len(goals))]}
    else:
        visits = 300 + 10 * i
        row = {"visits": visits, "bounces": 40 + i, "pageviews": 4 * visits,
               "duration": 150 * visits, "returning": 150 + i, "new": 60 + i,
               "reaches": [3 * (j + 1) + i % 5 for j in range(len(goals))]}
    row.update(overrides.get(day.isoformat(), {}).get(source, {}))
    return row


def expected(first: date, last: date, goals: list[int] | None = None,
             overrides: dict[str, Any] | None = None) -> dict[str, float]:
    goals = goals or GOALS
    overrides = OVERRIDES if overrides is None else overrides
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    rows = {s: [day_row(d, s, goals, overrides) for d in days] for s in ("direct", "organic")}
    every = rows["direct"] + rows["organic"]
    visits = sum(r["visits"] for r in every)
    conversions = sum(sum(r["reaches"]) for r in every)
    return {
        "sessions": visits,
        "unique_visitors": sum(max(r["returning"] for r in rows[s]) for s in rows)
        + sum(r["new"] for r in every),
        "bounce_rate": sum(r["bounces"] for r in every) / visits,
        "page_depth": sum(r["pageviews"] for r in every) / visits,
        "time_on_site_s": sum(r["duration"] for r in every) / visits,
        "conversions": conversions,
        "conversion_rate": conversions / visits,
        "organic_sessions": sum(r["visits"] for r in rows["organic"]),
    }


# --- the world: a tracker sandbox, the Metrica sandbox, an http-json endpoint ----------------


class Followers(Emulator):
    """A JSON endpoint an http-json source reads followers from."""

    flavour = "followers"

    @route("GET", "/social.json", auth=False)
    def social(self, req: Request) -> Any:
        return {"followers": 900}


@dataclass
class Metrica:
    world: World
    server: SandboxServer
    json_url: str

    def settings(self, **changes: Any) -> YandexMetricaSettings:
        return YandexMetricaSettings.model_validate(
            {"kind": "yandex-metrica", "token": TOKEN, "counter": COUNTER, "goals": GOALS,
             "url": self.server.url, "timeout": 5, **changes})

    def use(self, **changes: Any) -> None:
        """The config's sources: this counter, and followers from the http-json endpoint."""
        followers = HttpJsonSettings(url=self.json_url, timeout=5,
                                     pointers={"followers": "/followers"})
        self.world.config_changes["kpi_sources"] = [self.settings(**changes), followers]

    def app(self) -> App:
        return self.world.app()

    def post(self, what: str, body: Any) -> None:
        requests.post(f"{self.server.url}/_sandbox/{what}", json=body,
                      timeout=5).raise_for_status()

    def fault(self, **spec: Any) -> None:
        self.post("faults", {"path": "^/stat/v1/data$", **spec})

    def requests(self) -> list[dict[str, Any]]:
        return [r for r in requests.get(f"{self.server.url}/_sandbox/requests",
                                        timeout=5).json() if r["path"] == "/stat/v1/data"]

    def rows(self, period_end: date | None = None) -> list[tuple[str, str, float | None, str,
                                                                 str | None]]:
        """kpi_values as stored: (metric, period_end, value, source, error)."""
        app = self.app()
        try:
            with app.store.session() as session:
                query = ("SELECT metric, period_end, value, source, error FROM kpi_values "
                         "WHERE series_id = :series")
                params: dict[str, Any] = {"series": SERIES}
                if period_end is not None:
                    query += " AND period_end = :end"
                    params["end"] = period_end
                return [(r[0], r[1], r[2], r[3], r[4])
                        for r in session.execute(text(query), params)]
        finally:
            app.store.close()


@pytest.fixture
def metrica(tmp_path: Path) -> Iterator[Metrica]:
    tracker = SandboxServer(make_emulator("trello")).start()
    service = SandboxServer(make_emulator("yandex-metrica", seed())).start()
    social = SandboxServer(Followers()).start()
    try:
        world = World("trello", tracker, f"sqlite:///{tmp_path / 'state.db'}")
        world.timezone = "Europe/Moscow"
        found = Metrica(world, service, f"{social.url}/social.json")
        found.use()
        yield found
    finally:
        for server in (social, service, tracker):
            server.stop()


def values_of(rows: list[tuple[Any, ...]], source: str = "yandex-metrica"
              ) -> dict[tuple[str, date], float]:
    """The numbers the source stored, by metric and period end."""
    return {(metric, _day(end)): value for metric, end, value, src, _ in rows
            if src == source and value is not None}


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- (a) the series' weeks, filled with the right numbers ---------------------------------------


def test_a_weekly_series_gets_each_moscow_week_and_not_a_day_more(metrica: Metrica) -> None:
    """Meetings on Sundays: each period is Monday..Sunday in Moscow. Three weeks pulled one by
    one get the numbers of exactly their days; the huge Sunday 06.12 is in the second week's
    numbers only, the huge Monday 14.12 in none."""
    metrica.world.series_changes = {"weekday": "SU"}
    app = metrica.app()
    try:
        series = app.config.meetings[0]
        weeks = periods(app, series, date(2026, 12, 13))[-3:]
        assert [(p.start, p.end) for p in weeks] == [
            (date(2026, 11, 23), date(2026, 11, 29)), (date(2026, 11, 30), date(2026, 12, 6)),
            (date(2026, 12, 7), date(2026, 12, 13))]
        for week in weeks:
            report = kpi_report(app, series, week.end, chart=False)
            assert report.errors == {}
    finally:
        app.store.close()

    stored = values_of(metrica.rows())
    for week in weeks:
        assert week.start is not None
        numbers = expected(week.start, week.end)
        for metric in METRICA_METRICS:
            assert stored[(metric, week.end)] == pytest.approx(numbers[metric]), (metric, week)
    assert stored[("sessions", date(2026, 11, 29))] < HUGE
    assert stored[("sessions", date(2026, 12, 6))] > 2 * HUGE  # the huge Sunday is its own
    assert stored[("sessions", date(2026, 12, 13))] < HUGE  # neither huge day leaks in
    assert stored[("unique_visitors", date(2026, 12, 13))] < HUGE
    # bounce_rate is a fraction, as the KPI set's "%" values are
    assert 0 < stored[("bounce_rate", date(2026, 12, 13))] < 1
    # conversion_rate is a formula of the set (conversions / sessions): not asked for
    assert ("conversion_rate", date(2026, 12, 13)) not in stored
    asked = [(r["query"]["date1"], r["query"]["date2"]) for r in metrica.requests()]
    assert asked == [([str(w.start)], [str(w.end)]) for w in weeks for _ in range(2)]
    for entry in metrica.requests():
        assert entry["query"]["accuracy"] == ["full"]
        assert entry["query"]["ids"] == [str(COUNTER)]


def test_the_week_is_the_one_of_the_moscow_date_not_the_utc_one(metrica: Metrica) -> None:
    """Sunday 06.12 21:30 UTC is Monday 07.12 00:30 in Moscow: the report fills the week
    07.12..13.12, whose numbers hold neither the huge Sunday (still "today" in UTC) nor the huge
    Monday after it."""
    metrica.world.series_changes = {"weekday": "SU"}
    metrica.world.now = datetime(2026, 12, 6, 21, 30, tzinfo=UTC)
    report = run(metrica.world, kpi_report, series=metrica.world.app().config.meetings[0],
                 chart=False)
    assert report.errors == {}
    stored = values_of(metrica.rows())
    assert {end for _, end in stored} == {date(2026, 12, 13)}
    numbers = expected(date(2026, 12, 7), date(2026, 12, 13))
    for metric in METRICA_METRICS:
        assert stored[(metric, date(2026, 12, 13))] == pytest.approx(numbers[metric]), metric
    assert numbers["sessions"] < HUGE
    assert {(tuple(r["query"]["date1"]), tuple(r["query"]["date2"]))
            for r in metrica.requests()} == {(("2026-12-07",), ("2026-12-13",))}


def test_goals_beyond_twenty_metrics_are_asked_in_several_requests(metrica: Metrica) -> None:
    goals = list(range(1, 26))
    metrica.post("seed", seed(overrides={}, goals=goals))
    source = make_source(metrica.settings(goals=goals))
    pulled = source.pull(Window(date(2026, 12, 7), date(2026, 12, 13), "Europe/Moscow"),
                         ["sessions", "conversions", "conversion_rate"])
    numbers = expected(date(2026, 12, 7), date(2026, 12, 13), goals, overrides={})
    assert pulled.failures == {}
    assert pulled.values == pytest.approx({m: numbers[m] for m in pulled.values})
    sent = [r["query"]["metrics"][0].split(",") for r in metrica.requests()]
    assert len(sent) == 2 and all(len(names) <= 20 for names in sent)
    assert sorted(n for names in sent for n in names) == sorted(
        ["ym:s:visits", *(f"ym:s:goal{g}reaches" for g in goals)])


def test_a_sampled_answer_is_noted_and_still_gives_its_estimate(metrica: Metrica) -> None:
    """A counter too large for unsampled reports (max_share 0.1) over the sampling threshold:
    asked with accuracy=full, the answer is still sampled, and the pull says so."""
    metrica.post("seed", seed(overrides={}, max_share=0.1))
    metrica.post("options", {"sampling_threshold": 1000})
    window = Window(date(2026, 12, 7), date(2026, 12, 13), "Europe/Moscow")
    pulled = make_source(metrica.settings()).pull(window, ["sessions", "bounce_rate"])
    visits = expected(window.start, window.end, overrides={})["sessions"]
    assert pulled.values["sessions"] == int(visits * 0.1) / 0.1
    assert 0 < pulled.values["bounce_rate"] < 1
    assert len(pulled.notes) == 1 and "sampled" in pulled.notes[0] and "10%" in pulled.notes[0]
    assert "2026-12-07..2026-12-13" in pulled.notes[0]

    metrica.post("seed", seed(overrides={}))  # the counter may be read unsampled again
    unsampled = make_source(metrica.settings()).pull(window, ["sessions"])
    assert unsampled.values["sessions"] == visits and unsampled.notes == []


def test_a_custom_field_and_a_dropped_metric(metrica: Metrica) -> None:
    """metrics: overrides a field (Metrica's own conversion rate of one goal, percent ->
    fraction; non-organic sessions) and '' stops reading one."""
    source = make_source(metrica.settings(metrics={
        "conversion_rate": "ym:s:goal11conversionRate",
        "organic_sessions": "ym:s:visits where ym:s:lastTrafficSource!='organic'",
        "bounce_rate": ""}))
    assert "bounce_rate" not in source.provides()
    window = Window(date(2026, 12, 7), date(2026, 12, 13), "Europe/Moscow")
    pulled = source.pull(window, ["conversion_rate", "organic_sessions", "sessions"])
    days = [window.start + timedelta(days=n) for n in range(7)]
    rows = [day_row(d, s, GOALS, OVERRIDES) for d in days for s in ("direct", "organic")]
    assert pulled.values["conversion_rate"] == pytest.approx(
        sum(r["reaches"][0] for r in rows) / sum(r["visits"] for r in rows))
    assert pulled.values["organic_sessions"] == sum(
        day_row(d, "direct", GOALS, OVERRIDES)["visits"] for d in days)
    filters = sorted(str(r["query"].get("filters")) for r in metrica.requests())
    assert filters == ["None", str(["ym:s:lastTrafficSource!='organic'"])]


# --- (b) failures: per metric, as "source error" text, the other source unharmed ----------------

CASES: dict[str, tuple[dict[str, Any], dict[str, Any] | None, str, str, str]] = {
    # what goes wrong -> (setup, code, Russian words, English words)
    "wrong token": ({"token": "expired"}, None, "denied:403", "источник отказал в доступе (403)",
                    "the source denied access (403)"),
    "no token accepted (401)": (
        {}, {"status": 401, "count": 5,
             "body": error_body(401, "unauthorized", "Authorization required")},
        "denied:401", "источник отказал в доступе (401)", "the source denied access (401)"),
    "counter not granted": ({"counter": 777}, None, "denied:403",
                            "источник отказал в доступе (403)", "the source denied access (403)"),
    "daily quota": ({}, {"status": 429, "count": 5, "body": quota_error("quota_requests_by_uid")},
                    "quota", "исчерпана квота источника", "the source's quota is used up"),
    "server error": ({}, {"status": 503, "count": 5,
                          "body": error_body(503, "backend_error", "Internal error")},
                     "http:503", "источник ответил ошибкой 503", "the source answered 503"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_failures_are_per_metric_and_the_other_source_still_fills(metrica: Metrica,
                                                                  case: str) -> None:
    changes, fault, code, ru, en = CASES[case]
    metrica.use(**changes)
    if fault:
        metrica.fault(**fault)
    metrica.world.now = datetime(2026, 12, 14, 6, tzinfo=UTC)
    app = metrica.app()
    try:
        report = kpi_report(app, app.config.meetings[0], chart=False)
    finally:
        app.store.close()
    assert {m: e.code for m, e in report.errors.items()} == dict.fromkeys(  # type: ignore[attr-defined]
        METRICA_METRICS, code)
    assert TOKEN not in " ".join(report.errors.values())
    assert "Визиты: " + ru in report.failures("ru")
    assert "Визиты: " + en in report.failures("en")  # titles in the config's locale
    rows = metrica.rows(date(2026, 12, 14))
    assert {(m, v, e) for m, _, v, s, e in rows if s == "yandex-metrica"} == {
        (m, None, code) for m in METRICA_METRICS}
    assert [(m, v) for m, _, v, s, _ in rows if s == "http-json"] == [("followers", 900.0)]
    if code in ("denied:403", "quota"):  # every later request would meet it too: asked once
        assert len(metrica.requests()) == 1


def test_the_kpi_comment_says_source_error_where_metrica_failed(metrica: Metrica) -> None:
    """The meeting's KPI comment on the tracker: visits have no data because of the quota,
    followers (the other source) have their number."""
    metrica.world.config_changes["locale"] = "ru"
    metrica.post("options", {"requests_per_day": 0})  # the user's daily quota is spent
    metrica.world.now = datetime(2026, 12, 10, 9, tzinfo=UTC)
    metrica.world.prepare()
    metrica.world.now = datetime(2026, 12, 14, 6, tzinfo=UTC)  # 09:00 in Moscow
    run(metrica.world, progress)
    comment = kpi_comment(metrica.world)
    visits = next(line for line in comment.splitlines() if "Визиты" in line)
    assert "нет данных за период: исчерпана квота источника" in visits
    followers = next(line for line in comment.splitlines() if "Подписчики" in line)
    assert "900" in followers and "нет данных" not in followers
    assert all(r["status"] == 429 for r in metrica.requests())


def test_a_per_second_quota_is_waited_out_once(metrica: Metrica) -> None:
    metrica.fault(status=429, count=1, body=quota_error("quota_requests_by_ip"))
    window = Window(date(2026, 12, 7), date(2026, 12, 13), "Europe/Moscow")
    pulled = make_source(metrica.settings()).pull(window, ["sessions"])
    assert pulled.failures == {}
    assert pulled.values["sessions"] == expected(window.start, window.end)["sessions"]
    assert [r["status"] for r in metrica.requests()] == [429, 200]


def test_no_answer_in_time_is_a_timeout(metrica: Metrica) -> None:
    metrica.fault(hang=3, count=2)
    window = Window(date(2026, 12, 7), date(2026, 12, 13), "Europe/Moscow")
    pulled = make_source(metrica.settings(timeout=0.5)).pull(window, ["sessions",
                                                                      "organic_sessions"])
    assert {m: f.code for m, f in pulled.failures.items()} == {
        "sessions": "timeout", "organic_sessions": "timeout"}


# --- (c) the same period twice: replaced, never duplicated -----------------------------------


def test_pulling_a_period_again_replaces_its_values(metrica: Metrica) -> None:
    metrica.world.now = datetime(2026, 12, 14, 6, tzinfo=UTC)
    end = date(2026, 12, 14)  # the Monday meeting's period: Tue 08.12 .. Mon 14.12
    for _ in range(2):
        run(metrica.world, kpi_report, series=metrica.world.app().config.meetings[0],
            chart=False)
    first = values_of(metrica.rows(end))
    assert first[("sessions", end)] == expected(date(2026, 12, 8), end)["sessions"]

    changed = {"2026-12-10": {"direct": {"visits": 5}}}
    metrica.post("seed", seed(overrides=changed))
    run(metrica.world, kpi_report, series=metrica.world.app().config.meetings[0], chart=False)
    # a failed refresh afterwards keeps the good numbers
    metrica.fault(status=503, count=5, body=error_body(503, "backend_error", "Internal error"))
    run(metrica.world, kpi_report, series=metrica.world.app().config.meetings[0], chart=False)

    rows = metrica.rows(end)
    keys = [(m, _day(e)) for m, e, *_ in rows]
    assert len(keys) == len(set(keys))  # one row per metric and period, however many pulls
    again = values_of(rows)
    numbers = expected(date(2026, 12, 8), end, overrides=changed)
    for metric in METRICA_METRICS:
        assert again[(metric, end)] == pytest.approx(numbers[metric]), metric
    assert again[("sessions", end)] != first[("sessions", end)]
    assert all(e is None for m, _, v, s, e in rows if s == "yandex-metrica")


# --- (d) probe -----------------------------------------------------------------------------------


def test_probe_passes_on_good_settings_and_names_what_is_wrong(metrica: Metrica) -> None:
    assert make_source(metrica.settings()).probe() is None
    asked = metrica.requests()  # one report per segment (all sessions, organic), one day
    assert len(asked) == 2
    assert all(r["query"]["accuracy"] == ["low"] and r["query"]["date1"] == r["query"]["date2"]
               for r in asked)

    token = make_source(metrica.settings(token="wrong-token")).probe()
    assert token is not None and token.code == "denied:403"
    assert "token" in token and "invalid_token" in token and "wrong-token" not in token

    counter = make_source(metrica.settings(counter=31337)).probe()
    assert counter is not None and counter.code == "denied:403"
    assert "31337" in counter and "access_denied" in counter

    goal = make_source(metrica.settings(goals=[11, 99])).probe()
    assert goal is not None and goal.code == "http:400" and "goal99reaches" in goal

    gone = make_source(metrica.settings(url="http://127.0.0.1:9")).probe()
    assert gone is not None and gone.code == "unreachable"


# --- the emulator answers as the API documents it -----------------------------------------------


def ask(metrica: Metrica, token: str | None = TOKEN, **params: Any) -> requests.Response:
    headers = {"Authorization": f"OAuth {token}"} if token else {}
    return requests.get(f"{metrica.server.url}/stat/v1/data", params=params, headers=headers,
                        timeout=5)


@pytest.mark.parametrize(("params", "token", "status", "error_type"), [
    ({"ids": COUNTER}, TOKEN, 400, "missing_parameter"),
    ({"metrics": "ym:s:visits"}, TOKEN, 400, "missing_parameter"),
    ({"ids": COUNTER, "metrics": ",".join(["ym:s:visits"] * 21)}, TOKEN, 400,
     "invalid_parameter"),
    ({"ids": COUNTER, "metrics": "ym:s:sessions"}, TOKEN, 400, "invalid_parameter"),
    ({"ids": COUNTER, "metrics": "ym:s:goal5reaches"}, TOKEN, 400, "invalid_parameter"),
    ({"ids": COUNTER, "metrics": "ym:s:visits", "colour": "red"}, TOKEN, 400,
     "invalid_parameter"),
    ({"ids": COUNTER, "metrics": "ym:s:visits", "date1": "2026-12-08", "date2": "2026-12-07"},
     TOKEN, 400, "invalid_parameter"),
    ({"ids": COUNTER, "metrics": "ym:s:visits", "date1": "07.12.2026"}, TOKEN, 400,
     "invalid_parameter"),
    ({"ids": COUNTER, "metrics": "ym:s:visits", "filters": "x" * 10_001}, TOKEN, 400,
     "filter_limits"),
    ({"ids": COUNTER, "metrics": "ym:s:visits", "oauth_token": TOKEN}, None, 401,
     "unauthorized"),
    ({"ids": COUNTER, "metrics": "ym:s:visits"}, "stolen", 403, "invalid_token"),
    ({"ids": f"{COUNTER},777", "metrics": "ym:s:visits"}, TOKEN, 403, "access_denied"),
])
def test_the_emulator_refuses_as_the_api_does(metrica: Metrica, params: dict[str, Any],
                                              token: str | None, status: int,
                                              error_type: str) -> None:
    answer = ask(metrica, token, **params)
    assert answer.status_code == status
    body = answer.json()
    assert body["code"] == status and body["errors"][0]["error_type"] == error_type
    assert body["message"] == body["errors"][0]["message"]


def test_the_emulator_answers_totals_relative_dates_and_samples_low_accuracy(
        metrica: Metrica) -> None:
    metrica.post("seed", seed(overrides={}))
    full = ask(metrica, ids=COUNTER, metrics="ym:s:visits,ym:s:bounceRate",
               date1="2026-12-07", date2="2026-12-13", accuracy="full").json()
    numbers = expected(date(2026, 12, 7), date(2026, 12, 13), overrides={})
    assert full["totals"] == pytest.approx([numbers["sessions"], 100 * numbers["bounce_rate"]])
    assert full["data"] == [{"dimensions": [], "metrics": full["totals"]}]
    assert (full["sampled"], full["sample_share"], full["total_rows"]) == (False, 1.0, 1)
    assert full["query"]["date1"] == "2026-12-07" and full["query"]["metrics"] == [
        "ym:s:visits", "ym:s:bounceRate"]

    metrica.post("options", {"sampling_threshold": 1000})
    low = ask(metrica, ids=COUNTER, metrics="ym:s:visits", date1="2026-12-07",
              date2="2026-12-13", accuracy="low").json()
    assert (low["sampled"], low["sample_share"]) == (True, 0.01)
    assert low["sample_space"] == numbers["sessions"]
    assert low["totals"] == [int(numbers["sessions"] * 0.01) / 0.01]

    relative = ask(metrica, ids=COUNTER, metrics="ym:s:visits", date1="2daysAgo",
                   date2="yesterday", accuracy="full").json()
    assert relative["query"]["date1"] < relative["query"]["date2"]


def test_the_emulator_counts_quotas(metrica: Metrica) -> None:
    metrica.post("options", {"requests_per_day": 2})
    statuses = [ask(metrica, ids=COUNTER, metrics="ym:s:visits").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert ask(metrica, ids=COUNTER, metrics="ym:s:visits").json() == quota_error(
        "quota_requests_by_uid")
