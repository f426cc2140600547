"""One definition of "on time", one number on every surface: over random histories, the progress
comment, the KPI scorecard (what the KPI comment, `kpi show` and the Power-Up print) and the
report's per-meeting row show the same count and the same percent."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.kpi import KpiSet, parse_kpi_set
from planerka_sync.domain.progress import (
    Period,
    TaskProgress,
    on_time,
    on_time_counts,
    progress_document,
    summarize,
)
from planerka_sync.domain.scorecard import (
    Observations,
    build_scorecard,
    periods_ending,
    scorecard_document,
    shown,
)
from planerka_sync.render import to_plain
from planerka_sync.service.kpi import tracker_metrics
from planerka_sync.templates import builtin_dir

NBSP = "\u00a0"
PERIODS = periods_ending([date(2026, 11, 23), date(2026, 11, 30)])
PERIOD = PERIODS[-1]
TITLE = {"ru": "Решения выполнены в срок", "en": "Decisions done on time"}
COMMENT = {"ru": re.compile(r"в срок (\d+) из (\d+) \((\d+)\u00a0%\)"),
           "en": re.compile(r"on time (\d+) of (\d+) \((\d+)%\)")}


@cache
def kpis() -> KpiSet:
    path = builtin_dir() / "kpis" / "marketing.yaml"
    return parse_kpi_set(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


_DAYS = st.dates(min_value=date(2026, 11, 10), max_value=date(2026, 12, 10))


@st.composite
def tasks(draw: st.DrawFn) -> TaskProgress:
    category = draw(st.sampled_from(["done", "in_progress", "not_started", "deleted"]))
    due = draw(st.one_of(st.none(), _DAYS))
    done_on = draw(st.one_of(st.none(), _DAYS)) if category == "done" else None
    return TaskProgress(title=draw(st.sampled_from(["a", "b", "c"])), owner_id=None,
                        owner_name=None, owner_account=None, due=due, category=category,
                        done_on=done_on, url=None, key=None,
                        meeting_day=date(2026, 11, 9), previous_category=None)


def percent_of(text: str) -> str:
    return text.replace(NBSP, " ").replace(" ", "")


@settings(max_examples=200, deadline=None)
@given(st.lists(tasks(), max_size=15),
       st.dates(min_value=PERIOD.start or PERIOD.end, max_value=date(2026, 12, 7)),
       st.sampled_from(["ru", "en"]))
def test_the_same_on_time_figure_on_every_surface(history: list[TaskProgress], today: date,
                                                  locale: str) -> None:
    lang = "ru" if locale == "ru" else "en"
    summary = summarize(history, today, period=PERIOD)
    comment = to_plain(progress_document(summary, lang, title_date=PERIOD.end))
    metrics = tracker_metrics(history, today, PERIOD)
    card = build_scorecard(kpis(), Observations({PERIOD.end: metrics}), PERIODS, lang)
    row = card.row("decisions_on_time_pct")
    report_cell = on_time_counts(on_time(history, today, PERIOD), lang)
    found = COMMENT[lang].search(comment)

    if summary.on_time.judged == 0:  # nothing was due: no figure anywhere
        assert found is None and report_cell == "—"
        assert row is None or row.value is None
        return
    assert found is not None, comment
    good, judged, pct = (int(g) for g in found.groups())
    assert (good, judged) == (summary.on_time.on_time, summary.on_time.judged)
    assert report_cell.startswith(f"{good} ") and f" {judged} (" in report_cell
    assert row is not None and row.value is not None
    kpi_cell = shown(row, lang).value  # the KPI comment's, kpi show's and the Power-Up's cell
    assert percent_of(kpi_cell) == f"{pct}%"
    assert percent_of(report_cell).endswith(f"({pct}%)")
    kpi_text = to_plain(scorecard_document(card, lang, tracker_kind="trello"))
    assert f"{TITLE[lang]}**: {kpi_cell}" in kpi_text or f"{TITLE[lang]}: {kpi_cell}" in kpi_text


def test_a_period_without_due_decisions_has_no_figure() -> None:
    task = TaskProgress(title="x", owner_id=None, owner_name=None, owner_account=None,
                        due=PERIOD.end + timedelta(days=3), category="not_started", done_on=None,
                        url=None, key=None, meeting_day=date(2026, 11, 9))
    assert on_time([task], PERIOD.end, PERIOD).judged == 0
    assert tracker_metrics([task], PERIOD.end, PERIOD)["decisions_on_time_pct"] is None
    assert isinstance(PERIOD, Period)
