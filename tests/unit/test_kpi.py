"""KPI definitions, formulas and number formats, on the built-in marketing set (the scorecard
built from them is tested in test_scorecard.py)."""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.kpi import (
    KpiSet,
    KpiSetError,
    evaluate,
    format_value,
    parse_kpi_set,
)
from planerka_sync.domain.scorecard import status
from planerka_sync.templates import builtin_dir

KPI_FILE = builtin_dir() / "kpis" / "marketing.yaml"
AGENDA_FILE = builtin_dir() / "agendas" / "marketing-kpi.yaml"
NBSP = "\u00a0"

# A plausible week of a marketing team.
WEEK = {
    "sessions": 20000, "conversions": 500, "marketing_spend": 400000, "new_customers": 100,
    "revenue": 1000000, "arpu": 2000, "gross_margin": 0.5, "lifetime_months": 12,
    "ad_spend_search": 100000, "ad_conversions_search": 250, "ad_revenue_search": 350000,
    "emails_sent": 10000, "emails_opened": 2500, "email_clicks": 300,
}


def raw_set() -> dict[str, Any]:
    return yaml.safe_load(KPI_FILE.read_text(encoding="utf-8"))


@cache
def builtin() -> KpiSet:
    return parse_kpi_set(raw_set(), str(KPI_FILE))


def set_with(*metrics: dict[str, Any]) -> dict[str, Any]:
    defaults = {"unit": "count", "better": "higher", "block": "b"}
    return {"id": "t", "blocks": [{"key": "b", "title": "B"}],
            "metrics": [{"title": m["id"], **defaults, **m} for m in metrics]}


# --- the set ------------------------------------------------------------------------------------


def test_builtin_set_covers_the_ten_agenda_blocks() -> None:
    agenda = yaml.safe_load(AGENDA_FILE.read_text(encoding="utf-8"))
    agenda_blocks = [s["key"] for s in agenda["sections"] if s["kind"] == "kpi"]
    kpis = builtin()
    assert [b.key for b in kpis.blocks] == agenda_blocks and len(agenda_blocks) == 10
    assert all(kpis.in_block(key) for key in agenda_blocks)
    assert all(m.label("ru") and m.label("en") != m.label("ru") for m in kpis.metrics
               if m.id not in {"roi"})


def test_builtin_set_marks_recordable_tracker_and_headline_metrics() -> None:
    kpis = builtin()
    assert kpis.from_tracker() == ["decisions_on_time_pct", "overdue_count", "median_cycle_days"]
    assert "sessions" in kpis.recordable() and "cac" not in kpis.recordable()
    assert "overdue_count" not in kpis.recordable()
    assert [m.id for m in kpis.headline()] == ["sessions", "conversion_rate", "ltv_cac", "roi"]


def test_a_bad_field_is_named_with_the_file() -> None:
    data = raw_set()
    data["metrics"][1]["better"] = "more"
    data["metrics"][2]["colour"] = "red"
    with pytest.raises(KpiSetError) as caught:
        parse_kpi_set(data, "kpis/mine.yaml")
    message = str(caught.value)
    assert "kpis/mine.yaml: metrics.1.better:" in message
    assert "metrics.2.colour: unknown field" in message


@pytest.mark.parametrize(("formula", "expected"), [
    ("a / nope", "metrics.1 (c).formula: unknown metric 'nope'"),
    ("__import__('os').system('id')", "only + - * / ( ), numbers and metric ids"),
    ("a ** 2", "only + - * / ( ), numbers and metric ids"),
    ("a.real", "only + - * / ( ), numbers and metric ids"),
    ("a if a else 1", "only + - * / ( ), numbers and metric ids"),
    ("'x'", "only numbers may be written as constants"),
    ("a /", "not a formula"),
])
def test_formulas_are_arithmetic_on_known_metrics_only(formula: str, expected: str) -> None:
    data = set_with({"id": "a"}, {"id": "c", "formula": formula})
    with pytest.raises(KpiSetError, match=re.escape(expected)):
        parse_kpi_set(data, "t.yaml")


def test_formula_cycles_are_rejected() -> None:
    data = set_with({"id": "a", "formula": "b + 1"}, {"id": "b", "formula": "c * 2"},
                    {"id": "c", "formula": "a / 3"})
    with pytest.raises(KpiSetError, match="cycle"):
        parse_kpi_set(data, "t.yaml")
    with pytest.raises(KpiSetError, match="cycle"):
        parse_kpi_set(set_with({"id": "a", "formula": "a + 1"}), "t.yaml")


def test_duplicates_unknown_blocks_and_tracker_formulas_are_rejected() -> None:
    data = set_with({"id": "a"}, {"id": "a"}, {"id": "b", "block": "zz"},
                    {"id": "c", "source": "tracker", "formula": "a"})
    with pytest.raises(KpiSetError) as caught:
        parse_kpi_set(data, "t.yaml")
    problems = caught.value.problems
    assert "metrics: duplicate a" in problems
    assert any(p.startswith("metrics.2 (b).block: unknown block 'zz'") for p in problems)
    assert any("tracker metric cannot also have a formula" in p for p in problems)


# --- formulas -----------------------------------------------------------------------------------


def test_derived_metrics_of_the_guide() -> None:
    result = evaluate(builtin(), WEEK)
    assert result["conversion_rate"].value == pytest.approx(0.025)
    assert result["cac"].value == pytest.approx(4000)
    assert result["ltv"].value == pytest.approx(12000)
    assert result["ltv_cac"].value == pytest.approx(3.0)
    assert result["roi"].value == pytest.approx(1.5)
    assert result["open_rate"].value == pytest.approx(0.25)
    assert result["ctr"].value == pytest.approx(0.03)  # clicks / sent
    assert result["cpa_search"].value == pytest.approx(400)
    assert result["roas_search"].value == pytest.approx(3.5)


def test_ltv_cac_below_three_is_off_track() -> None:
    kpis = builtin()
    below = evaluate(kpis, {**WEEK, "marketing_spend": 500000})["ltv_cac"].value
    assert below == pytest.approx(2.4)
    assert status(kpis.metric("ltv_cac"), below, None) == "off_track"
    assert status(kpis.metric("ltv_cac"), 3.0, None) == "on_track"


def test_roi_can_be_negative() -> None:
    result = evaluate(builtin(), {**WEEK, "revenue": 300000})
    assert result["roi"].value == pytest.approx(-0.25)


def test_division_by_zero_is_not_available_with_the_reason() -> None:
    result = evaluate(builtin(), {**WEEK, "marketing_spend": 0, "ad_conversions_search": 0})
    roi = result["roi"]
    assert roi.value is None and roi.reason is not None
    assert str(roi.reason) == "n/a: marketing_spend is 0"
    assert roi.reason.text("ru", {"marketing_spend": "Маркетинговые расходы"}) == (
        "н/д: «Маркетинговые расходы» = 0")
    assert str(result["cpa_search"].reason) == "n/a: ad_conversions_search is 0"
    # CAC is 0 / 100 = 0, so LTV/CAC divides by a derived zero: named as that metric.
    assert result["cac"].value == 0 and str(result["ltv_cac"].reason) == "n/a: cac is 0"


def test_a_zero_expression_divisor_is_quoted() -> None:
    kpis = parse_kpi_set(set_with({"id": "a"}, {"id": "b"}, {"id": "r", "formula": "a / (a - b)"}),
                         "t")
    assert str(evaluate(kpis, {"a": 2, "b": 2})["r"].reason) == "n/a: a - b is 0"


def test_missing_inputs_and_source_errors_explain_themselves() -> None:
    kpis = builtin()
    values = {k: v for k, v in WEEK.items() if k not in {"sessions", "emails_sent"}}
    result = evaluate(kpis, values, errors={"emails_sent": "timeout"})
    assert str(result["sessions"].reason) == "no data for the period"
    assert str(result["conversion_rate"].reason) == "no data for the period: missing sessions"
    assert str(result["open_rate"].reason) == (
        "no data for the period: the source did not answer in time")
    assert result["open_rate"].reason.text("ru") == (  # type: ignore[union-attr]
        "нет данных за период: источник не ответил вовремя")
    # An n/a upstream is passed on rather than reported as a missing input.
    upstream = evaluate(kpis, {**WEEK, "new_customers": 0})
    assert str(upstream["ltv_cac"].reason) == "n/a: new_customers is 0"


def test_values_given_for_derived_metrics_are_ignored() -> None:
    assert evaluate(builtin(), {**WEEK, "cac": 1.0})["cac"].value == pytest.approx(4000)


def test_overflow_is_out_of_range_not_an_error() -> None:
    result = evaluate(builtin(), {**WEEK, "arpu": 1e200, "lifetime_months": 1e200})
    assert result["ltv"].value is None and str(result["ltv"].reason) == "n/a: result out of range"


_VALUE = st.one_of(st.none(), st.just(0.0),
                   st.floats(min_value=0, allow_nan=False, allow_infinity=False))


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional=dict.fromkeys(
    [m.id for m in builtin().metrics if not m.derived], _VALUE)))
def test_evaluate_never_raises_for_non_negative_values(values: dict[str, float | None]) -> None:
    results = evaluate(builtin(), values)
    assert set(results) == {m.id for m in builtin().metrics}
    for metric in builtin().metrics:
        result = results[metric.id]
        if result.value is None:
            assert result.reason is not None and str(result.reason)
        else:
            assert isinstance(result.value, float) and math.isfinite(result.value)
            assert result.reason is None


# --- formatting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "unit", "ru", "en"), [
    (1234.5, "count", "1 235", "1,235"),
    (0.123, "%", "12,3 %", "12.3%"),
    (1234567.0, "₽", "1 234 567 ₽", "1,234,567 ₽"),
    (1500.0, "$", "1 500 $", "$1,500"),
    (2.5, "s", "2,5 с", "2.5 s"),
    (3.0, "ratio", "3,00", "3.00"),
    (-0.25, "%", "−25,0 %", "−25.0%"),
    (-0.0001, "%", "0,0 %", "0.0%"),
    (12.0, "months", "12 мес.", "12 mo"),
])
def test_values_are_formatted_per_unit_and_locale(value: float, unit: Any, ru: str,
                                                  en: str) -> None:
    assert format_value(value, unit, "ru") == ru.replace(" ", NBSP)
    assert format_value(value, unit, "en") == en.replace(" ", NBSP)


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(
    ["%", "₽", "$", "count", "s", "days", "months", "ratio", "position", "score"]),
    st.sampled_from(["ru", "en"]))
def test_any_finite_value_can_be_formatted(value: float, unit: Any, locale: Any) -> None:
    shown = format_value(value, unit, locale)
    assert shown and any(c.isdigit() for c in shown)


def test_decimals_override() -> None:
    assert format_value(1234.5, "count", "ru", decimals=1) == f"1{NBSP}234,5"
    assert format_value(1234.5, "count", "en", decimals=1) == "1,234.5"
