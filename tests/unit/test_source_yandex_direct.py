"""The yandex-direct source's pure parts: report cells and rows, channels, sums, error bodies,
retryIn and the settings' options."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from planerka_sync.kpi_sources.yandex_direct import (
    DEFAULT_METRICS,
    MetricSpec,
    Source,
    YandexDirectSettings,
    api_failure,
    base_field,
    channel_of,
    error_of,
    metric_value,
    parse_cell,
    parse_report,
    parse_spec,
    retry_in,
    totals,
)

money = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False,
                    allow_infinity=False)
cell_text = st.text(alphabet=st.characters(blacklist_characters="\t\n\r"), max_size=12)


def settings(**changes: object) -> YandexDirectSettings:
    return YandexDirectSettings.model_validate(
        {"kind": "yandex-direct", "token": "secret-token-123", **changes})


# --- cells ---------------------------------------------------------------------------------------


@given(money)
def test_a_money_cell_reads_as_its_number(value: object) -> None:
    assert parse_cell("Cost", str(value)) == pytest.approx(float(str(value)))


@given(st.decimals(min_value=0, max_value=100, places=2))
def test_a_percentage_becomes_a_fraction(value: object) -> None:
    for field in ("Ctr", "ConversionRate", "BounceRate", "ConversionRate_1001_LSC"):
        assert parse_cell(field, str(value)) == pytest.approx(float(str(value)) / 100)


@pytest.mark.parametrize("text", ["--", "", "  "])
def test_no_data_is_none(text: str) -> None:
    assert parse_cell("Conversions", text) is None


@given(cell_text)
def test_any_cell_is_a_number_none_or_a_value_error(text: str) -> None:
    try:
        value = parse_cell("Cost", text)
    except ValueError as exc:
        assert "Cost" in str(exc)
    else:
        assert value is None or math.isfinite(value)


@pytest.mark.parametrize("text", ["inf", "nan", "1e999", "1,5", "12 %", "0x10"])
def test_what_direct_never_sends_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cell("Cost", text)


@given(st.sampled_from(["Conversions", "Revenue", "ConversionRate", "CostPerConversion"]),
       st.integers(min_value=1, max_value=10**12),
       st.sampled_from(["LSC", "LC", "FC", "LYDC", "AUTO", "FCCD"]))
def test_a_goals_column_reports_its_field(field: str, goal: int, model: str) -> None:
    assert base_field(f"{field}_{goal}_{model}") == field


def test_other_columns_are_themselves() -> None:
    assert base_field("Cost") == "Cost"
    assert base_field("CampaignId") == "CampaignId"
    assert base_field("Cost_1_LSC") == "Cost_1_LSC"  # Cost is not split per goal


# --- rows ----------------------------------------------------------------------------------------


rows_strategy = st.lists(
    st.fixed_dictionaries({
        "CampaignId": st.integers(1, 10**9).map(str),
        "CampaignType": st.sampled_from(["TEXT_CAMPAIGN", "UNIFIED_CAMPAIGN", "SMART_CAMPAIGN"]),
        "AdNetworkType": st.sampled_from(["SEARCH", "AD_NETWORK"]),
        "Cost": money.map(str),
        "Conversions": st.one_of(st.just("--"), st.integers(0, 10**6).map(str)),
    }), max_size=30)


@given(rows_strategy, st.booleans(), st.booleans())
def test_a_report_reads_back_its_rows_with_or_without_title_and_summary(
        rows: list[dict[str, str]], title: bool, summary: bool) -> None:
    columns = ["CampaignId", "CampaignType", "AdNetworkType", "Cost", "Conversions"]
    lines = ["planerka-sync 2026-12-07..2026-12-13 ab12 (2026-12-07 - 2026-12-13)"] if title \
        else []
    lines += ["\t".join(columns), *("\t".join(r[c] for c in columns) for r in rows)]
    if summary:
        lines.append(f"Total rows: {len(rows)}")
    assert parse_report("\n".join(lines) + "\n") == rows
    assert parse_report("\r\n".join(lines)) == rows


def test_an_empty_report_has_no_rows() -> None:
    assert parse_report("") == []
    assert parse_report("CampaignId\tCost\n") == []
    assert parse_report("CampaignId\tCost\nTotal rows: 0\n") == []


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="line 3"):
        parse_report("CampaignId\tCost\n1\t2.00\n3\n")


@given(rows_strategy, st.dictionaries(
    st.sampled_from(["SEARCH", "AD_NETWORK", "TEXT_CAMPAIGN", "UNIFIED_CAMPAIGN"]),
    st.sampled_from(["search", "social", "none"])))
def test_channel_sums_add_up_to_the_mapped_part_of_the_total(
        rows: list[dict[str, str]], channels: dict[str, str]) -> None:
    sums = totals(rows, channels)
    expected_all = sum(float(r["Cost"]) for r in rows)
    assert sums["all"]["Cost"] == pytest.approx(expected_all)
    mapped = sum(float(r["Cost"]) for r in rows
                 if channel_of(r, channels) in ("search", "social"))
    assert sums["search"]["Cost"] + sums["social"]["Cost"] == pytest.approx(mapped)
    conversions = sum(int(r["Conversions"]) for r in rows if r["Conversions"] != "--")
    assert sums["all"]["Conversions"] == conversions


def test_a_campaign_id_beats_its_type_which_beats_its_network() -> None:
    row = {"CampaignId": "7", "CampaignType": "UNIFIED_CAMPAIGN", "AdNetworkType": "SEARCH"}
    assert channel_of(row, {"SEARCH": "search"}) == "search"
    assert channel_of(row, {"SEARCH": "search", "UNIFIED_CAMPAIGN": "social"}) == "social"
    assert channel_of(row, {"SEARCH": "search", "UNIFIED_CAMPAIGN": "social",
                            "7": "none"}) == "none"
    assert channel_of({**row, "AdNetworkType": "AD_NETWORK"}, {"SEARCH": "search"}) == "none"


def test_goal_columns_add_up_into_their_field() -> None:
    rows = parse_report("CampaignId\tCampaignType\tAdNetworkType\tConversions_1_LSC\t"
                        "Conversions_2_LSC\tRevenue_1_LSC\tRevenue_2_LSC\n"
                        "5\tTEXT_CAMPAIGN\tSEARCH\t3\t--\t300.50\t--\n")
    sums = totals(rows, {"SEARCH": "search"})
    assert sums["search"]["Conversions"] == 3
    assert sums["search"]["Revenue"] == 300.5


def test_ratios_are_ratios_of_sums_as_fractions() -> None:
    sums = {"search": {"Clicks": 50.0, "Impressions": 1000.0, "Cost": 500.0,
                       "Conversions": 0.0, "Revenue": 0.0}}
    assert metric_value(MetricSpec("Ctr", "search"), sums) == 0.05
    assert metric_value(MetricSpec("AvgCpc", "search"), sums) == 10.0
    assert metric_value(MetricSpec("CostPerConversion", "search"), sums) is None


# --- errors --------------------------------------------------------------------------------------


@given(st.integers(0, 10**6), st.booleans(), cell_text, cell_text)
def test_an_error_body_reads_with_its_code_as_int_or_string(
        code: int, as_string: bool, string: str, detail: str) -> None:
    body = json.dumps({"error": {"request_id": "42", "error_code": str(code) if as_string
                                 else code, "error_string": string, "error_detail": detail}})
    assert error_of(body) == (code, string.strip(), detail.strip(), "42")


@given(st.text(max_size=200))
def test_any_body_yields_an_error_tuple_or_none(text: str) -> None:
    code, *_ = error_of(text)
    assert code is None or isinstance(code, int)


@pytest.mark.parametrize(("code", "expected"), [
    (53, "denied:401"), (58, "denied:401"), (54, "denied:403"), (513, "denied:403"),
    (152, "quota"), (506, "quota"), (56, "quota"), (9000, "quota"),
    (8000, "http:400"), (4000, "http:400"),
])
def test_directs_error_codes_become_failure_codes(code: int, expected: str) -> None:
    body = json.dumps({"error": {"error_code": str(code), "error_string": "x",
                                 "error_detail": "y", "request_id": "1"}})
    assert api_failure(400, body).code == expected


def test_a_server_error_and_a_bare_status_keep_their_status() -> None:
    body = json.dumps({"error": {"error_code": 1000, "error_string": "Server error"}})
    assert api_failure(500, body).code == "http:500"
    assert api_failure(503, "<html>busy</html>").code == "http:503"
    assert api_failure(401, "").code == "denied:401"
    assert api_failure(429, "").code == "quota"


def test_no_token_in_a_failure_text() -> None:
    body = json.dumps({"error": {"error_code": 53, "error_string": "Authorization error",
                                 "error_detail": "token secret-token-123 is invalid"}})
    failure = api_failure(400, body, settings().secrets())
    assert "secret-token-123" not in failure
    assert "53" in failure and "Authorization error" in failure


@given(st.one_of(st.none(), st.text(max_size=10), st.integers(-100, 10**6).map(str)))
def test_retry_in_is_always_a_bounded_wait(header: str | None) -> None:
    assert 1.0 <= retry_in(header) <= 60.0


def test_retry_in_follows_the_header() -> None:
    assert retry_in("7") == 7.0
    assert retry_in(None) == 5.0


# --- settings ------------------------------------------------------------------------------------


def test_a_typical_setup_needs_only_the_token() -> None:
    source = Source(settings())
    assert set(source.provides()) == {"ad_spend_search", "ad_conversions_search",
                                      "ad_revenue_search"}  # marketing_spend only if mapped


def test_social_metrics_come_with_a_channel_that_sends_campaigns_there() -> None:
    provided = Source(settings(channels={"AD_NETWORK": "social"})).provides()
    assert {"ad_spend_social", "ad_conversions_social", "ad_revenue_social"} <= set(provided)


def test_channels_keys_are_normalised_and_checked() -> None:
    assert settings(channels={12345: "social", "ad_network": "social"}).channel_map() == {
        "SEARCH": "search", "12345": "social", "AD_NETWORK": "social"}
    with pytest.raises(ValidationError, match="unknown channels key"):
        settings(channels={"YOUTUBE": "social"})
    with pytest.raises(ValidationError):
        settings(channels={"SEARCH": "display"})


def test_metrics_override_turn_off_and_take_the_channel_of_their_suffix() -> None:
    mapped = settings(metrics={"ad_spend_search": "", "ad_clicks_search": "Clicks",
                               "ad_ctr_social": "Ctr", "marketing_spend": "Cost@all"}
                      ).metric_map()
    assert "ad_spend_search" not in mapped
    assert mapped["marketing_spend"] == MetricSpec("Cost", "all")
    assert mapped["ad_clicks_search"] == MetricSpec("Clicks", "search")
    assert mapped["ad_ctr_social"] == MetricSpec("Ctr", "social")
    assert set(DEFAULT_METRICS) - {"ad_spend_search"} <= set(mapped)


@pytest.mark.parametrize(("spec", "problem"), [
    ("Spend", "unknown field"), ("Cost@display", "unknown channel"), ("Cost search", "expected"),
])
def test_a_wrong_metric_spec_names_the_problem(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_spec("ad_spend_search", spec)
    with pytest.raises(ValidationError, match=problem):
        settings(metrics={"ad_spend_search": spec})


def test_goals_are_at_most_ten() -> None:
    with pytest.raises(ValidationError):
        settings(goals=list(range(1, 12)))


def test_the_token_is_a_secret_and_not_in_the_label() -> None:
    s = settings(client_login="client-1")
    assert s.secrets() == ["secret-token-123"]
    assert s.label() in ("Yandex Direct client-1", "Яндекс Директ client-1")
