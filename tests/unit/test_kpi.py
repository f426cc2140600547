"""KPI definitions, formulas, statuses and the summary comment, on the built-in marketing set."""

from __future__ import annotations

import copy
import math
import re
from datetime import date
from functools import cache
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.document import BulletList, Table, plain
from planerka_sync.domain.kpi import (
    KpiSet,
    KpiSetError,
    MetricDef,
    evaluate,
    format_change,
    format_value,
    headline_series,
    kpi_summary_document,
    parse_kpi_set,
    status,
    summarize,
)
from planerka_sync.render import to_adf, to_trello, to_wiki
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
    result = evaluate(kpis, values, errors={"emails_sent": "no answer within 5 s"})
    assert str(result["sessions"].reason) == "no data"
    assert str(result["conversion_rate"].reason) == "no data: missing sessions"
    assert str(result["open_rate"].reason) == "no data (source error: no answer within 5 s)"
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


# --- status and change --------------------------------------------------------------------------


def metric(better: str, target: float | None = None) -> MetricDef:
    return MetricDef.model_validate({"id": "m", "title": "M", "unit": "count", "better": better,
                                     "block": "b", "target": target})


@pytest.mark.parametrize(("better", "target", "value", "previous", "expected"), [
    ("higher", 10, 10, None, "on_track"),
    ("higher", 10, 9.9, 100, "off_track"),  # the target decides, not the trend
    ("lower", 2.5, 2.4, None, "on_track"),
    ("lower", 2.5, 2.6, 5, "off_track"),
    ("higher", None, 11, 10, "on_track"),  # no target: compared with the previous period
    ("higher", None, 9, 10, "off_track"),
    ("higher", None, 10, 10, "on_track"),  # unchanged: nothing slipped
    ("lower", None, 9, 10, "on_track"),
    ("lower", None, 11, 10, "off_track"),
    ("higher", None, 11, None, "no_data"),  # nothing to compare with
    ("higher", 10, None, 5, "no_data"),
])
def test_status_rules(better: str, target: float | None, value: float | None,
                      previous: float | None, expected: str) -> None:
    assert status(metric(better, target), value, previous) == expected


def test_change_is_relative_and_absent_without_a_base() -> None:
    summary = summarize(builtin(), {"sessions": 110, "conversions": 5, "followers": 7},
                        {"sessions": 100, "conversions": 0}, "en")
    rows = {row.metric: row for block in summary.blocks for row in block.rows}
    assert rows["sessions"].change == pytest.approx(0.1)
    assert rows["conversions"].change is None  # previous 0
    assert rows["followers"].change is None  # no previous value
    assert format_change(rows["sessions"].change, "en") == "+10.0%"
    assert format_change(-0.053, "ru") == f"−5,3{NBSP}%"
    assert format_change(None, "ru") == "—"


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


# --- the comment --------------------------------------------------------------------------------


def summary_doc(locale: Any, tracker_kind: str) -> Any:
    previous = {**WEEK, "sessions": 18000, "conversions": 500}
    summary = summarize(builtin(), {**WEEK, "followers": None}, previous, locale,
                        errors={"followers": "HTTP 500"},
                        period_end=date(2026, 11, 30), previous_end=date(2026, 11, 23))
    return kpi_summary_document(summary, locale, tracker_kind=tracker_kind)


def test_summary_has_all_ten_blocks_with_a_table_each() -> None:
    doc = summary_doc("en", "jira")
    # Blocks where nothing was recorded get no table; their metrics are named in one line.
    silent = plain(doc.intro[-1].content)
    shown = [s.title for s in doc.sections]
    assert len(shown) + sum(1 for b in builtin().blocks if b.title and
                            all(m.label("en") in silent for m in builtin().in_block(b.key))) == 10
    assert doc.sections[0].title == "1. Site traffic"
    tables = [s.blocks[0] for s in doc.sections]
    assert all(isinstance(t, Table) for t in tables)
    assert tables[0].header == ("Metric", "Value", "Previous", "Change", "Target", "Status")
    traffic = tables[0]
    assert isinstance(traffic, Table)
    visits = [plain(cell) for cell in traffic.rows[0]]
    assert visits == ["Visits", "20,000", "18,000", "+11.1%", "—", "✓ on track"]
    with_bounce = kpi_summary_document(
        summarize(builtin(), {**WEEK, "bounce_rate": 0.4}, {}, "en"), "en", tracker_kind="jira")
    ux = next(s for s in with_bounce.sections if "UX/UI" in s.title)
    ux_rows = [plain(row[0]) for row in ux.blocks[0].rows]
    assert "Bounce rate" in ux_rows  # shown in both blocks the agenda lists it in


def test_summary_rows_show_targets_statuses_and_reasons() -> None:
    doc = summary_doc("en", "jira")
    rows = {plain(row[0]): [plain(c) for c in row]
            for s in doc.sections for row in s.blocks[0].rows}
    assert rows["LTV/CAC ratio"][1:] == ["3.00", "3.00", "0.0%", "3.00", "✓ on track"]
    assert rows["Followers"][1] == "no data (source error: HTTP 500)"
    assert rows["Followers"][5] == "— no data"
    assert rows["New customers"][5] == "✓ on track"
    assert "Revenue — social ads" not in rows  # nothing recorded: named in the intro instead
    assert "Revenue — social ads" in plain(doc.intro[-1].content)


def test_russian_summary() -> None:
    doc = summary_doc("ru", "jira")
    intro = plain(doc.intro[0].content)
    assert intro == ("Показатели (KPI): период до 30.11.2026, сравнение с периодом до "
                     "23.11.2026")
    table = doc.sections[1].blocks[0]
    assert isinstance(table, Table) and table.header[0] == "Показатель"
    rate = [plain(c) for c in table.rows[1]]
    assert rate[0] == "Конверсия сайта" and rate[1] == f"2,5{NBSP}%" and rate[3] == f"−10,0{NBSP}%"
    assert rate[5] == "✗ не в норме"


def test_trello_gets_aligned_lines_not_a_table() -> None:
    doc = summary_doc("en", "trello")
    assert all(isinstance(s.blocks[0], BulletList) for s in doc.sections)
    desc = to_trello(doc).desc
    assert "|" not in desc
    assert "- **Visits**: 20,000 · previous 18,000 (+11.1%) · ✓ on track" in desc
    assert ("- **LTV/CAC ratio**: 3.00 · previous 3.00 (0.0%) · target 3.00 · ✓ on track"
            in desc)


def test_jira_renderers_get_real_tables() -> None:
    doc = summary_doc("en", "jira")
    assert "||Metric||Value||" in to_wiki(doc)
    assert any(node["type"] == "table" for node in to_adf(doc)["content"])


def test_metrics_nobody_recorded_are_named_in_one_line_not_a_row_each() -> None:
    data = copy.deepcopy(set_with({"id": "a"}, {"id": "b"}))
    data["blocks"].append({"key": "empty", "title": "Empty"})
    summary = summarize(parse_kpi_set(data, "t"), {"a": 5.0}, {}, "en")
    doc = kpi_summary_document(summary, "en", tracker_kind="jira")
    assert len(doc.sections) == 1  # only the block with a value; "Empty" has nothing to show
    assert plain(doc.intro[-1].content) == "No data yet: b"


def test_headline_series_for_the_chart() -> None:
    history = {date(2026, 11, 23): {**WEEK, "sessions": 18000},
               date(2026, 11, 30): {**WEEK, "marketing_spend": 0}}
    series = headline_series(builtin(), history, "en")
    assert list(series) == ["Visits", "Conversion rate, %", "LTV/CAC ratio", "Marketing ROI, %"]
    assert series["Conversion rate, %"][0] == (date(2026, 11, 23), pytest.approx(500 / 180))
    assert series["Marketing ROI, %"][1] == (date(2026, 11, 30), None)
