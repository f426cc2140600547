"""The pure parts of the yandex-metrica source: fields as written in the config, percents, the
answer's totals, Metrica's error shape, requests of at most 20 metrics, and the settings."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from planerka_sync.kpi_sources.base import Window
from planerka_sync.kpi_sources.yandex_metrica import (
    DEFAULT_FIELDS,
    MAX_METRICS,
    FieldSpec,
    YandexMetricaSettings,
    api_error,
    chunks,
    evaluate,
    expand,
    failure_of,
    is_percent,
    parse_field,
    read_totals,
    sampling_note,
)

names = st.from_regex(r"ym:s:[a-z][A-Za-z0-9]{0,15}", fullmatch=True)
goal_names = st.from_regex(r"ym:s:goal<goal_id>[a-z][A-Za-z]{0,10}", fullmatch=True)
terms = names | goal_names
filters = st.from_regex(r"ym:s:[a-zA-Z]{1,12}(==|!=)'[a-z]{1,8}'", fullmatch=True)
goals_lists = st.lists(st.integers(1, 10**9), min_size=1, max_size=5, unique=True)
totals_values = st.floats(0, 1e9, allow_nan=False)


def settings(**changes: Any) -> YandexMetricaSettings:
    return YandexMetricaSettings.model_validate(
        {"kind": "yandex-metrica", "token": "t", "counter": 1, **changes})


# --- fields ------------------------------------------------------------------------------------


@given(terms, st.none() | terms, st.none() | filters,
       st.sampled_from([" ", "  ", "\t"]))
def test_a_written_field_reads_back(numerator: str, denominator: str | None,
                                    segment: str | None, space: str) -> None:
    spec = FieldSpec(numerator, denominator, segment)
    assert parse_field(str(spec)) == spec
    assert parse_field(f"{space}{spec}{space}") == spec


@pytest.mark.parametrize("text", ["", "visits", "ym:s:visits / ", "ym:s:a / ym:s:b / ym:s:c",
                                  "ym:s:visits where ", "ym:s:visits,ym:s:users",
                                  "ym:s:vi sits", "ga:sessions"])
def test_what_is_not_a_field(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a Metrica metric|at most one|nothing after"):
        parse_field(text)


def test_the_defaults_are_fields() -> None:
    for text in DEFAULT_FIELDS.values():
        parse_field(text.replace("<attribution>", "lastsign"))
    assert parse_field(DEFAULT_FIELDS["organic_sessions"].replace(
        "<attribution>", "lastsign")).filter == "ym:s:lastsignTrafficSource=='organic'"


@given(goals_lists)
def test_a_goal_term_stands_for_each_goal(goals: list[int]) -> None:
    assert expand("ym:s:goal<goal_id>reaches", goals) == [f"ym:s:goal{g}reaches" for g in goals]
    assert expand("ym:s:visits", goals) == ["ym:s:visits"]


@pytest.mark.parametrize(("metric", "percent"), [
    ("ym:s:bounceRate", True), ("ym:s:goal12conversionRate", True),
    ("ym:s:goal12userConversionRate", True), ("ym:s:robotPercentage", True),
    ("ym:s:percentNewVisitors", True), ("ym:s:visits", False), ("ym:s:pageDepth", False),
    ("ym:s:avgVisitDurationSeconds", False), ("ym:s:goal12reaches", False),
])
def test_percent_metrics(metric: str, percent: bool) -> None:
    assert is_percent(metric) is percent


@given(goals_lists, st.lists(totals_values, min_size=5, max_size=5),
       st.floats(1, 1e6, allow_nan=False))
def test_goals_add_up_and_a_ratio_divides(goals: list[int], reaches: list[float],
                                          visits: float) -> None:
    totals = {f"ym:s:goal{g}reaches": reaches[n] for n, g in enumerate(goals)}
    totals["ym:s:visits"] = visits
    total = math.fsum(reaches[:len(goals)])
    assert evaluate(parse_field("ym:s:goal<goal_id>reaches"), goals, totals) == \
        pytest.approx(total)
    assert evaluate(parse_field("ym:s:goal<goal_id>reaches / ym:s:visits"), goals, totals) == \
        pytest.approx(total / visits)


@given(st.floats(0, 100, allow_nan=False))
def test_percents_become_fractions(percent: float) -> None:
    spec = parse_field("ym:s:bounceRate")
    assert evaluate(spec, [], {"ym:s:bounceRate": percent}) == pytest.approx(percent / 100)
    assert 0 <= evaluate(spec, [], {"ym:s:bounceRate": percent}) <= 1


def test_a_ratio_over_nothing_and_a_missing_total() -> None:
    spec = parse_field("ym:s:goal<goal_id>reaches / ym:s:visits")
    with pytest.raises(ZeroDivisionError):
        evaluate(spec, [1], {"ym:s:goal1reaches": 3, "ym:s:visits": 0})
    with pytest.raises(KeyError):
        evaluate(spec, [1, 2], {"ym:s:goal1reaches": 3, "ym:s:visits": 10})


@given(st.lists(names, unique=True, max_size=70))
def test_requests_carry_at_most_twenty_metrics_each_once(metrics: list[str]) -> None:
    parts = list(chunks(metrics))
    assert all(0 < len(p) <= MAX_METRICS for p in parts)
    assert [m for p in parts for m in p] == metrics
    assert len(parts) == math.ceil(len(metrics) / MAX_METRICS)


# --- answers -----------------------------------------------------------------------------------


@given(st.lists(st.tuples(names, st.none() | totals_values | st.integers(0, 10**9)),
                unique_by=lambda pair: pair[0], max_size=25))
def test_totals_in_the_order_asked(pairs: list[tuple[str, float | int | None]]) -> None:
    asked = [name for name, _ in pairs]
    document = {"totals": [value for _, value in pairs], "data": [], "sampled": False}
    found = read_totals(document, asked)
    assert list(found) == asked
    for name, value in pairs:
        assert found[name] == (None if value is None else float(value))


@pytest.mark.parametrize("document", [
    None, [], "text", {}, {"totals": None}, {"totals": [1]}, {"totals": [1, "2"]},
    {"totals": [1, True]}, {"totals": [1, float("inf")]}, {"totals": [1, {"a": 1}]},
])
def test_an_answer_without_totals_is_unreadable(document: Any) -> None:
    with pytest.raises(ValueError):
        read_totals(document, ["ym:s:visits", "ym:s:users"])


@given(st.floats(0.0001, 0.9999))
def test_a_sampled_answer_is_noted(share: float) -> None:
    window = Window(date(2026, 12, 7), date(2026, 12, 13), "Europe/Moscow")
    note = sampling_note({"sampled": True, "sample_share": share}, window)
    assert note is not None and "2026-12-07..2026-12-13" in note and "%" in note
    assert sampling_note({"sampled": False, "sample_share": 1.0}, window) is None
    assert sampling_note({}, window) is None


error_types = st.sampled_from(["invalid_parameter", "access_denied", "invalid_token",
                               "unauthorized", "backend_error", "quota_requests_by_uid",
                               "quota_requests_by_ip", "quota_delegate_requests", "timeout"])


@given(st.sampled_from([400, 401, 403, 429, 500, 503, 504]), error_types,
       st.text(max_size=500))
def test_every_error_answer_has_a_code(status: int, kind: str, message: str) -> None:
    document = {"errors": [{"error_type": kind, "message": message}], "code": status,
                "message": message}
    assert api_error(document) == (kind, message[:300])
    failure = failure_of(status, "Reason", document, 42)
    if kind.startswith("quota_") or status == 429:
        assert failure.code == "quota"
    elif kind == "timeout":
        assert failure.code == "timeout"
    elif status in (401, 403):
        assert failure.code == f"denied:{status}"
    else:
        assert failure.code == f"http:{status}"
    assert kind in failure


@given(st.none() | st.text() | st.lists(st.integers()) | st.dictionaries(st.text(), st.text()))
def test_an_error_answer_of_any_shape_still_gives_a_failure(document: Any) -> None:
    assert failure_of(502, "Bad Gateway", document).code == "http:502"
    assert failure_of(420, "", document).code == "quota"  # the status the quotas page names


# --- settings ----------------------------------------------------------------------------------


def test_a_typical_setup_needs_only_the_token_the_counter_and_goals() -> None:
    plain = settings()
    assert set(plain.fields()) == set(DEFAULT_FIELDS) - {"conversions", "conversion_rate"}
    with_goals = settings(goals=[5])
    assert set(with_goals.fields()) == set(DEFAULT_FIELDS)
    assert with_goals.accuracy == "full" and with_goals.attribution == "lastsign"
    assert with_goals.fields()["organic_sessions"].filter == \
        "ym:s:lastsignTrafficSource=='organic'"
    assert settings(attribution="automatic").fields()["organic_sessions"].filter == \
        "ym:s:automaticTrafficSource=='organic'"
    assert settings().secrets() == ["t"]
    assert settings().label() in ("Yandex Metrica 1", "Яндекс Метрика 1")


def test_overrides_and_a_dropped_metric() -> None:
    found = settings(metrics={"sessions": "ym:s:visits where ym:s:isRobot=='No'",
                              "bounce_rate": "", "page_load_s": "ym:s:avgPageViews"}).fields()
    assert found["sessions"] == FieldSpec("ym:s:visits", None, "ym:s:isRobot=='No'")
    assert "bounce_rate" not in found and found["page_load_s"].numerator == "ym:s:avgPageViews"


@pytest.mark.parametrize(("changes", "says"), [
    ({"metrics": {"sessions": "visits"}}, "metrics.sessions: not a Metrica metric"),
    ({"metrics": {"conversions": "ym:s:goal<goal_id>visits"}}, "goals is empty"),
    ({"accuracy": "most"}, "accuracy is full"),
    ({"accuracy": "0"}, "accuracy is full"),
    ({"attribution": "latest"}, "attribution"),
    ({"counter": 0}, "counter"),
    ({"token": "t", "surprise": 1}, "surprise"),
])
def test_settings_refuse_what_cannot_work(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        settings(**changes)


@pytest.mark.parametrize("accuracy", ["full", "high", "medium", "low", "1", "0.1", ".01"])
def test_accuracies(accuracy: str) -> None:
    assert settings(accuracy=accuracy).accuracy == accuracy
