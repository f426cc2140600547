"""The KPI scorecard on the built-in marketing set: honest periods, all ten blocks in agenda order,
each metric once, judgement only against a target or a tolerance, compact empty blocks."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.document import BulletList, Paragraph, Table, plain
from planerka_sync.domain.kpi import KpiSet, MetricDef, parse_kpi_set
from planerka_sync.domain.progress import Period
from planerka_sync.domain.scorecard import (
    Observations,
    Scorecard,
    build_scorecard,
    periods_ending,
    scorecard_document,
    status,
)
from planerka_sync.render import to_adf, to_trello, to_wiki
from planerka_sync.templates import builtin_dir

KPI_FILE = builtin_dir() / "kpis" / "marketing.yaml"
NBSP = "\u00a0"
# Monday meetings: 30.11, 07.12, 14.12.2026.
ENDS = [date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14)]
PERIODS = periods_ending(ENDS)
WEEK = {
    "sessions": 20000, "conversions": 500, "marketing_spend": 400000, "new_customers": 100,
    "revenue": 1000000, "arpu": 2000, "gross_margin": 0.5, "lifetime_months": 12,
}


@cache
def builtin() -> KpiSet:
    return parse_kpi_set(yaml.safe_load(KPI_FILE.read_text(encoding="utf-8")), str(KPI_FILE))


def card(values: dict[date, dict[str, float | None]], errors: dict[date, dict[str, str]]
         | None = None, locale: Any = "en", kpis: KpiSet | None = None) -> Scorecard:
    return build_scorecard(kpis or builtin(), Observations(values, errors or {}), PERIODS,
                           locale)


def cells(doc: Any) -> dict[str, list[str]]:
    return {plain(row[0]): [plain(c) for c in row] for s in doc.sections for b in s.blocks
            if isinstance(b, Table) for row in b.rows}


# --- periods ------------------------------------------------------------------------------------


def test_periods_run_from_the_day_after_one_meeting_to_the_next() -> None:
    assert (Period(date(2026, 11, 24), date(2026, 11, 30)),
                       Period(date(2026, 12, 1), date(2026, 12, 7)),
                       Period(date(2026, 12, 8), date(2026, 12, 14))) == PERIODS


def test_a_week_with_nothing_recorded_shows_no_data_and_the_last_value_with_its_date() -> None:
    # Sunday 29.11 belongs to the meeting of 30.11, Sunday 06.12 to the one of 07.12; nothing
    # was recorded for the week before 14.12 (the story of the issue).
    history = {date(2026, 11, 29): {"sessions": 18000}, date(2026, 12, 6): {"sessions": 20000}}
    sessions = card(history).row("sessions")

    assert sessions is not None
    assert sessions.value is None and sessions.status == "no_data"
    assert sessions.previous == 20000 and sessions.change is None  # never 20 000 vs 18 000
    assert sessions.last == (20000, PERIODS[1])
    doc = scorecard_document(card(history), "en", tracker_kind="jira")
    assert cells(doc)["Visits"][1:4] == [
        "no data for the period; last value 20,000 (period ending 2026-12-07)", "20,000", "—"]
    ru = cells(scorecard_document(card(history, locale="ru"), "ru", tracker_kind="jira"))
    assert ru["Визиты"][1] == (
        f"нет данных за период; последнее значение 20{NBSP}000 (период до 07.12.2026)")


def test_change_only_between_adjacent_periods_with_data() -> None:
    history = {date(2026, 12, 6): {"sessions": 20000}, date(2026, 12, 13): {"sessions": 22000}}
    sessions = card(history).row("sessions")
    assert sessions is not None and sessions.change == pytest.approx(0.1)
    gap = {date(2026, 11, 29): {"sessions": 20000}, date(2026, 12, 13): {"sessions": 22000}}
    skipped = card(gap).row("sessions")
    assert skipped is not None and skipped.previous is None and skipped.change is None
    assert skipped.trend == (20000, None, 22000)


def test_the_latest_day_of_a_period_wins_and_a_later_none_does_not_erase_it() -> None:
    history = {date(2026, 12, 8): {"sessions": 1}, date(2026, 12, 12): {"sessions": 2},
               date(2026, 12, 13): {"sessions": None}}
    row = card(history).row("sessions")
    assert row is not None and row.value == 2


def test_a_source_failure_is_shown_per_metric_in_both_languages() -> None:
    history = {date(2026, 12, 6): {"followers": 900}}
    errors = {date(2026, 12, 13): {"followers": "unreachable", "reactions": "http:503"}}
    en = cells(scorecard_document(card(history, errors), "en", tracker_kind="jira"))
    assert en["Followers"][1] == ("no data for the period: the source is unreachable; "
                                  "last value 900 (period ending 2026-12-07)")
    assert en["Reactions"][1] == "no data for the period: the source answered 503"
    ru = cells(scorecard_document(card(history, errors, "ru"), "ru", tracker_kind="jira"))
    assert ru["Подписчики"][1].startswith("нет данных за период: источник недоступен; ")
    assert ru["Реакции"][1] == "нет данных за период: источник ответил ошибкой 503"


def test_an_error_does_not_hide_a_value_of_the_same_period() -> None:
    history = {date(2026, 12, 13): {"followers": 950}}
    errors = {date(2026, 12, 12): {"followers": "timeout"}}
    row = card(history, errors).row("followers")
    assert row is not None and row.value == 950 and row.reason is None


# --- blocks -------------------------------------------------------------------------------------


def test_all_ten_blocks_in_agenda_order_even_without_data() -> None:
    for locale in ("ru", "en"):
        doc = scorecard_document(card({}, locale=locale), locale, tracker_kind="jira")
        titles = [s.title for s in doc.sections]
        raw = yaml.safe_load(KPI_FILE.read_text(encoding="utf-8"))["blocks"]
        assert titles == [b["title"][locale] for b in raw]
        assert titles[0].startswith("1.") and titles[-1].startswith("10.")


def test_each_metric_is_shown_in_one_block_and_referred_to_elsewhere() -> None:
    scorecard = card({date(2026, 12, 13): {"bounce_rate": 0.4, "marketing_spend": 5.0}})
    homes = {row.metric.id: block.key for block in scorecard.blocks for row in block.rows}
    assert homes["bounce_rate"] == "kpi-traffic" and homes["marketing_spend"] == "kpi-roi"
    every = [row.metric.id for row in scorecard.rows()]
    assert len(every) == len(set(every))
    doc = scorecard_document(scorecard, "en", tracker_kind="jira")
    ux = next(s for s in doc.sections if "UX/UI" in s.title)
    notes = [plain(b.content) for b in ux.blocks if isinstance(b, Paragraph)]
    assert "See also: Bounce rate, in “1. Site traffic”." in notes


def test_an_empty_block_is_one_short_line_not_a_wall_of_names() -> None:
    doc = scorecard_document(card({}), "en", tracker_kind="jira")
    email = next(s for s in doc.sections if "Email" in s.title)
    assert [plain(b.content) for b in email.blocks] == ["No data for any of its 7 metrics."]
    assert not any("No data yet" in plain(p.content) for p in doc.intro)
    text = to_wiki(doc)
    assert "Revenue — social ads" not in text  # silent metrics are counted, not listed


def test_a_block_with_some_data_names_a_few_silent_metrics_and_counts_many() -> None:
    history = {date(2026, 12, 13): {"sessions": 100, "followers": 5}}
    doc = scorecard_document(card(history), "en", tracker_kind="jira")
    traffic, social = doc.sections[0], doc.sections[5]
    assert next(plain(b.content) for b in traffic.blocks if isinstance(b, Paragraph)) == (
        "4 more metrics have no data.")
    assert [plain(b.content) for b in social.blocks if isinstance(b, Paragraph)] == [
        "No data: Engagement rate, Reactions."]


def test_headline_metrics_always_have_a_row() -> None:
    scorecard = card({})
    headline = {m.id for m in builtin().headline()}
    assert {r.metric.id for r in scorecard.rows()} == headline
    assert all(r.value is None and r.status == "no_data" for r in scorecard.rows())


# --- judgement ----------------------------------------------------------------------------------


def metric(better: str, target: float | None = None, tolerance: float | None = None
           ) -> MetricDef:
    return MetricDef.model_validate({"id": "m", "title": "M", "unit": "count", "better": better,
                                     "block": "b", "target": target, "tolerance": tolerance})


@pytest.mark.parametrize(("better", "target", "tolerance", "value", "previous", "expected"), [
    ("higher", 10, None, 10, None, "on_track"),
    ("higher", 10, None, 9.9, 100, "off_track"),  # the target decides, not the trend
    ("lower", 2.5, None, 2.4, None, "on_track"),
    ("lower", 2.5, None, 2.6, 5, "off_track"),
    ("higher", None, None, 9, 10, "unjudged"),  # no target, no tolerance: shown, not judged
    ("higher", None, None, 10.25, 10, "unjudged"),
    ("higher", None, 0.1, 9.5, 10, "on_track"),  # within the tolerated slip
    ("higher", None, 0.1, 8.9, 10, "off_track"),
    ("lower", None, 0.1, 11.5, 10, "off_track"),
    ("lower", None, 0.1, 9, 10, "on_track"),
    ("higher", None, 0.1, 11, None, "unjudged"),  # nothing to compare with
    ("higher", 10, None, None, 5, "no_data"),
])
def test_status_rules(better: str, target: float | None, tolerance: float | None,
                      value: float | None, previous: float | None, expected: str) -> None:
    assert status(metric(better, target, tolerance), value, previous) == expected


def test_a_change_without_target_is_not_called_off_track() -> None:
    history = {date(2026, 12, 6): {"sessions": 20000}, date(2026, 12, 13): {"sessions": 20500}}
    doc = scorecard_document(card(history, locale="ru"), "ru", tracker_kind="jira")
    visits = cells(doc)["Визиты"]
    assert visits[3] == f"+2,5{NBSP}%" and visits[5] == "—"
    assert "не в норме" not in to_wiki(doc)


# --- renderers ----------------------------------------------------------------------------------


def test_trello_gets_lines_and_jira_real_tables() -> None:
    history = {date(2026, 12, 6): WEEK, date(2026, 12, 13): {**WEEK, "sessions": 22000}}
    trello = scorecard_document(card(history), "en", tracker_kind="trello")
    assert all(not isinstance(b, Table) for s in trello.sections for b in s.blocks)
    assert any(isinstance(b, BulletList) for b in trello.sections[0].blocks)
    desc = to_trello(trello).desc
    assert "- **Visits**: 22,000 · previous 20,000 (+10.0%)" in desc
    assert "- **LTV/CAC ratio**: 3.00 · previous 3.00 (0.0%) · target 3.00 · ✓ on track" in desc
    jira = scorecard_document(card(history), "en", tracker_kind="jira")
    assert "||Metric||This period||Previous||Change||Target||Status||" in to_wiki(jira)
    assert any(node["type"] == "table" for node in to_adf(jira)["content"])
    intro = plain(jira.intro[0].content)
    assert intro == ("Metrics (KPI): period 2026-12-08 – 2026-12-14, compared with "
                     "2026-12-01 – 2026-12-07")
    ru = scorecard_document(card(history, locale="ru"), "ru", tracker_kind="jira")
    assert plain(ru.intro[0].content) == (
        "Показатели (KPI): период 08.12–14.12.2026, сравнение с периодом 01.12–07.12.2026")


# --- properties ---------------------------------------------------------------------------------

_DAYS = st.dates(min_value=date(2026, 11, 24), max_value=date(2026, 12, 14))
_METRICS = st.sampled_from([m.id for m in builtin().metrics if not m.derived])
_VALUE = st.one_of(st.none(), st.floats(min_value=0, max_value=1e9, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_DAYS, st.dictionaries(_METRICS, _VALUE, max_size=8), max_size=10),
       st.dictionaries(_DAYS, st.dictionaries(_METRICS, st.sampled_from(
           ["unreachable", "timeout", "http:500", "denied:401"]), max_size=3), max_size=3),
       st.sampled_from(["ru", "en"]))
def test_every_block_once_in_order_every_metric_in_one_place(
        values: dict[date, dict[str, float | None]], errors: dict[date, dict[str, str]],
        locale: Any) -> None:
    scorecard = card(values, errors, locale)
    assert [b.key for b in scorecard.blocks] == [b.key for b in builtin().blocks]
    for block in scorecard.blocks:
        own = [m for m in builtin().metrics if m.block == block.key]
        assert len(block.rows) + len(block.empty) == len(own)
    for row in scorecard.rows():
        assert (row.change is None) or (row.value is not None and row.previous is not None)
        assert row.trend[-1] == row.value and (len(row.trend) < 2 or row.trend[-2] == row.previous)
        if row.value is None:
            assert row.last is None or row.last[0] == next(
                v for v in reversed(row.trend[:-1]) if v is not None)
        if row.status in ("on_track", "off_track"):
            assert row.metric.target is not None or row.metric.tolerance is not None
    document = scorecard_document(scorecard, locale, tracker_kind="jira")
    assert len(document.sections) == 10


def test_a_custom_set_block_with_one_silent_metric_says_no_data() -> None:
    data = {"id": "t", "blocks": [{"key": "b", "title": "B"}, {"key": "c", "title": "C"}],
            "metrics": [{"id": "a", "title": "A", "unit": "count", "better": "higher",
                         "block": "b"},
                        {"id": "x", "title": "X", "unit": "count", "better": "higher",
                         "block": "c"}]}
    kpis = parse_kpi_set(copy.deepcopy(data), "t")
    doc = scorecard_document(card({date(2026, 12, 13): {"a": 1}}, kpis=kpis), "en",
                             tracker_kind="jira")
    assert [s.title for s in doc.sections] == ["B", "C"]
    assert [plain(b.content) for b in doc.sections[1].blocks] == ["No data."]
    assert timedelta(days=7) == PERIODS[-1].end - PERIODS[-2].end


def test_a_change_past_a_floats_range_is_not_shown() -> None:
    """Found by Hypothesis: a previous value of 2.2e-309 made the change inf, and formatting it
    crashed the scorecard; such a change is no change a person can read."""
    from planerka_sync.domain.scorecard import change

    assert change(1.0, 2.2e-309) is None
    assert change(-1.0, 2.2e-309) is None
    assert change(1.5, 1.0) == 0.5
