"""The GA4 source's pure parts: the field syntax of ``metrics``, the metric values of an answer,
the property id, the settings' defaults, and a missing client library."""

from __future__ import annotations

import math
import sys
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from planerka_sync.kpi_sources.base import Window, make_source
from planerka_sync.kpi_sources.ga4 import (
    DEFAULT_METRICS,
    Ga4Field,
    Ga4Settings,
    Source,
    Term,
    metric_value,
    parse_field,
)

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}(:[A-Za-z0-9_.\-]{1,10})?", fullmatch=True)
values = st.text(st.characters(blacklist_characters="[]|/", blacklist_categories=("Cc", "Cs")),
                 min_size=1, max_size=12).map(str.strip).filter(bool)
terms = st.one_of(
    names.map(Term),
    st.builds(Term, names, names, st.lists(values, min_size=1, max_size=3).map(tuple)),
)
fields = st.builds(Ga4Field, terms, st.none() | terms)


def settings(**changes: object) -> Ga4Settings:
    return Ga4Settings.model_validate({"kind": "google-analytics-4", "property": "123456789",
                                       **changes})


@given(fields)
def test_a_field_reads_back_as_it_is_written(field: Ga4Field) -> None:
    assert parse_field(str(field)) == field


@given(fields, st.sampled_from(["", " ", "  "]))
def test_spaces_around_the_parts_do_not_matter(field: Ga4Field, pad: str) -> None:
    written = str(field).replace("[", f"{pad}[{pad}").replace("/", f"{pad}/{pad}")
    assert parse_field(f"{pad}{written}{pad}") == field


@pytest.mark.parametrize("text", ["", "1sessions", "sessions[", "sessions[eventName]",
                                  "sessions[eventName=]", "sessions[eventName=a||b]",
                                  "a / b / c", "sessions extra", "ses sions"])
def test_a_field_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_field(text)


def test_the_defaults_need_only_the_property_and_credentials() -> None:
    source = Source(settings())
    assert source.provides() == DEFAULT_METRICS
    assert source.provides()["organic_sessions"] == \
        "sessions[sessionDefaultChannelGroup=Organic Search]"


def test_key_events_filter_a_bare_key_events_count_only() -> None:
    got = settings(key_events=["purchase", "sign_up"],
                   metrics={"leads": "keyEvents[eventName=generate_lead]"}).fields()
    assert str(got["conversions"]) == "keyEvents[eventName=purchase|sign_up]"
    assert str(got["conversion_rate"]) == "keyEvents[eventName=purchase|sign_up] / sessions"
    assert str(got["leads"]) == "keyEvents[eventName=generate_lead]"


def test_an_override_replaces_a_default_and_an_empty_one_drops_it() -> None:
    got = settings(metrics={"conversion_rate": "sessionKeyEventRate", "page_depth": ""}).fields()
    assert str(got["conversion_rate"]) == "sessionKeyEventRate"
    assert "page_depth" not in got


@pytest.mark.parametrize(("given_id", "stored"), [("123456789", "123456789"),
                                                  ("properties/42", "42"), (987, "987")])
def test_the_property_id_is_the_number(given_id: object, stored: str) -> None:
    assert settings(property=given_id).property == stored


@pytest.mark.parametrize("changes", [
    {"property": "G-ABC123XYZ"}, {"property": "UA-1-1"},
    {"metrics": {"sessions": "sessions["}}, {"metrics": {"Sessions": "sessions"}},
    {"endpoint": "http://127.0.0.1:8080/v1beta"}, {"surprise": 1},
])
def test_settings_a_report_could_not_use_are_refused_at_load(changes: dict) -> None:
    with pytest.raises(ValidationError):
        settings(**changes)


def test_the_label_names_the_property_and_no_secret() -> None:
    s = settings(credentials='{"private_key": "-----BEGIN PRIVATE KEY-----x"}')
    assert s.label() == "Google Analytics 4 123456789"
    assert s.secrets() == ['{"private_key": "-----BEGIN PRIVATE KEY-----x"}']


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_a_metric_value_is_the_decimal_it_spells(number: float) -> None:
    assert metric_value(repr(number), "TYPE_FLOAT") == number
    assert metric_value(repr(number), 2) == number


@given(st.integers(0, 10**9), st.sampled_from([("TYPE_MILLISECONDS", 0.001),
                                                ("TYPE_SECONDS", 1.0), ("TYPE_MINUTES", 60.0),
                                                ("TYPE_HOURS", 3600.0), (5, 0.001), (7, 3600.0)]))
def test_durations_become_seconds(raw: int, kind: tuple[str | int, float]) -> None:
    metric_type, factor = kind
    assert math.isclose(metric_value(str(raw), metric_type), raw * factor)


def test_rates_stay_the_fractions_ga4_answers() -> None:
    assert metric_value("0.2761", "TYPE_FLOAT") == 0.2761


@pytest.mark.parametrize("raw", ["", "abc", "NaN", "Infinity", "1e999", "1,5", "0x10"])
def test_a_value_that_is_not_a_finite_number_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        metric_value(raw, "TYPE_FLOAT")


def test_without_the_client_library_every_metric_fails_with_the_install_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.analytics.data_v1beta", None)
    source = make_source(settings())
    pulled = source.pull(Window(date(2026, 12, 8), date(2026, 12, 14), "Europe/Moscow"),
                         ["sessions", "bounce_rate"])
    assert pulled.values == {}
    assert set(pulled.failures) == {"sessions", "bounce_rate"}
    for failure in pulled.failures.values():
        assert "pip install 'planerka-sync[ga4]'" in failure
    probe = source.probe()
    assert probe is not None and "pip install 'planerka-sync[ga4]'" in probe
