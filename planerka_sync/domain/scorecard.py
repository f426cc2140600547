"""The KPI scorecard: every agenda block's metrics, period by period, as the team reads them.

A value belongs to the period it was measured for. Periods follow the series' cadence: the
period of a meeting is the days after the previous meeting up to and including its own day, so a
weekly figure recorded for Sunday 06.12 belongs to the meeting of Monday 07.12, not to the one
of 14.12. The current period shows its own value or says it has none ("no data for the period",
with the last known value and its period); a change is computed only between the current period
and the one right before it when both have a value; a source that failed is named per metric.

Every block of the set is shown, in agenda order, whether it has data or not; a metric is shown
in its own block only (``also_in`` blocks refer to it). A metric is judged "off track" only
against its target or, without one, its configured tolerance; otherwise it is not judged at all.

Pure: observations come in as plain mappings, a :class:`Scorecard` and a
:class:`~planerka_sync.domain.document.Document` come out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Literal

from planerka_sync.domain.agenda import words
from planerka_sync.domain.document import (
    BulletList,
    Document,
    Inline,
    Paragraph,
    Section,
    Table,
    Text,
)
from planerka_sync.domain.kpi import (
    KpiSet,
    MetricDef,
    MetricResult,
    Reason,
    evaluate,
    format_change,
    format_value,
)
from planerka_sync.domain.progress import Period, ru_plural
from planerka_sync.domain.texts import Locale, short_date

TREND_PERIODS = 13  # a quarter of weekly meetings: the EOS scorecard's span
# A block lists the names of its metrics without data up to this many; more become a count.
EMPTY_NAMES_MAX = 3

Status = Literal["on_track", "off_track", "unjudged", "no_data"]
Values = Mapping[str, float | None]


@dataclass(frozen=True)
class Observations:
    """What was recorded for a series, by the day it was recorded for: values, and the source
    errors of metrics a source could not fill (no value recorded for them that day)."""

    values: Mapping[date, Values]
    errors: Mapping[date, Mapping[str, str]] = field(default_factory=dict)

    def in_period(self, period: Period) -> tuple[dict[str, float | None], dict[str, str]]:
        """The period's values (the latest recorded day wins) and the errors of the metrics that
        have no value in it."""
        values: dict[str, float | None] = {}
        for day in sorted(d for d in self.values if d in period):
            values |= {m: v for m, v in self.values[day].items() if v is not None}
        errors: dict[str, str] = {}
        for day in sorted(d for d in self.errors if d in period):
            errors |= {m: e for m, e in self.errors[day].items() if m not in values}
        return values, errors


def periods_ending(ends: Sequence[date]) -> tuple[Period, ...]:
    """Consecutive periods between sorted period ends: ``len(ends) - 1`` periods, each from the
    day after one end up to the next. The first end only marks where the first period starts."""
    return tuple(Period(start + timedelta(days=1), end) for start, end in pairwise(ends))


@dataclass(frozen=True)
class ScoreRow:
    metric: MetricDef
    title: str
    value: float | None  # the current period's own value
    reason: Reason | None  # why it has none
    note: str | None  # the reason in the reader's words, metrics named by title
    previous: float | None  # the period right before
    change: float | None  # relative, only when both periods have a value
    last: tuple[float, Period] | None  # with no value now: the latest earlier one, and when
    status: Status
    trend: tuple[float | None, ...]  # one per period of the scorecard, oldest first

    @property
    def has_data(self) -> bool:
        """Anything to show: a value now or before, or a failure worth telling."""
        failed = self.reason is not None and self.reason.kind not in ("no_value",
                                                                       "missing_inputs")
        return failed or any(v is not None for v in self.trend)


@dataclass(frozen=True)
class Reference:
    """A metric discussed in another block too; shown there as a pointer, not a second row."""

    title: str
    home: str  # the title of the block that shows it


@dataclass(frozen=True)
class BlockCard:
    key: str
    title: str
    rows: tuple[ScoreRow, ...]  # its own metrics with data, and its headline metrics
    empty: tuple[str, ...]  # titles of its own metrics with no data at all in the span
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True)
class Scorecard:
    periods: tuple[Period, ...]  # oldest first; the last one is the current period
    blocks: tuple[BlockCard, ...]

    @property
    def current(self) -> Period:
        return self.periods[-1]

    @property
    def previous(self) -> Period | None:
        return self.periods[-2] if len(self.periods) > 1 else None

    def rows(self) -> list[ScoreRow]:
        return [row for block in self.blocks for row in block.rows]

    def row(self, metric_id: str) -> ScoreRow | None:
        return next((r for r in self.rows() if r.metric.id == metric_id), None)


def build_scorecard(
    definitions: KpiSet, observations: Observations, periods: Sequence[Period], locale: Locale
) -> Scorecard:
    """The scorecard over ``periods`` (oldest first, the current one last; at least one)."""
    if not periods:
        raise ValueError("a scorecard needs at least the current period")
    results = [evaluate(definitions, *observations.in_period(p)) for p in periods]
    titles = {m.id: m.label(locale) for m in definitions.metrics}
    block_titles = {b.key: words(b.title, locale) for b in definitions.blocks}
    blocks = []
    for block in definitions.blocks:
        own = [_row(m, results, periods, titles, locale) for m in definitions.metrics
               if m.block == block.key]
        references = tuple(Reference(titles[m.id], block_titles[m.block])
                           for m in definitions.metrics if block.key in m.also_in)
        blocks.append(BlockCard(
            block.key, block_titles[block.key],
            rows=tuple(r for r in own if r.has_data or r.metric.headline),
            empty=tuple(r.title for r in own if not (r.has_data or r.metric.headline)),
            references=references))
    return Scorecard(tuple(periods), tuple(blocks))


def _row(metric: MetricDef, results: Sequence[Mapping[str, MetricResult]],
         periods: Sequence[Period], titles: Mapping[str, str], locale: Locale) -> ScoreRow:
    trend = tuple(r[metric.id].value for r in results)
    now = results[-1][metric.id]
    previous = trend[-2] if len(trend) > 1 else None
    last = None
    if now.value is None:
        last = next(((v, p) for v, p in zip(reversed(trend[:-1]), reversed(periods[:-1]),
                                             strict=True) if v is not None), None)
    return ScoreRow(
        metric=metric, title=titles[metric.id], value=now.value, reason=now.reason,
        note=_note(now.reason, titles, locale),
        previous=previous, change=change(now.value, previous), last=last,
        status=status(metric, now.value, previous), trend=trend)


def _note(reason: Reason | None, titles: Mapping[str, str], locale: Locale) -> str | None:
    """A derived metric without its inputs says only "no data for the period": the inputs are
    rows of their own that already say it, and naming them again doubles the line."""
    if reason is None:
        return None
    if reason.kind == "missing_inputs":
        return Reason("no_value").text(locale)
    return reason.text(locale, titles)


def change(value: float | None, previous: float | None) -> float | None:
    """Relative change; None when either is missing or the previous value is 0 (no base)."""
    if value is None or previous is None or previous == 0:
        return None
    ratio = (value - previous) / abs(previous)
    # Past a float's range (a previous value of 1e-309) a change says nothing a person can use.
    return ratio if math.isfinite(ratio) else None


def status(metric: MetricDef, value: float | None, previous: float | None) -> Status:
    """Judged only against what the team set: the target, or else the tolerated slip from the
    previous period. A number with neither is shown, not judged: +2.5 % is not "off track"."""
    if value is None:
        return "no_data"
    if metric.target is not None:
        return "on_track" if _not_worse(metric, value, metric.target) else "off_track"
    if metric.tolerance is None or previous is None:
        return "unjudged"
    slip = change(value, previous)
    if slip is None:
        return "unjudged"
    worse_by = -slip if metric.better == "higher" else slip
    return "off_track" if worse_by > metric.tolerance else "on_track"


def _not_worse(metric: MetricDef, value: float, reference: float) -> bool:
    return value >= reference if metric.better == "higher" else value <= reference


# --- words --------------------------------------------------------------------------------------

_WORDS: dict[str, dict[Locale, str]] = {
    "summary": {"ru": "Показатели (KPI)", "en": "Metrics (KPI)"},
    "period": {"ru": "период {period}", "en": "period {period}"},
    "compared": {"ru": "сравнение с периодом {period}", "en": "compared with {period}"},
    "metric": {"ru": "Показатель", "en": "Metric"},
    "value": {"ru": "За период", "en": "This period"},
    "previous": {"ru": "Прошлый период", "en": "Previous"},
    "change": {"ru": "Изменение", "en": "Change"},
    "target": {"ru": "Цель", "en": "Target"},
    "status": {"ru": "Статус", "en": "Status"},
    "on_track": {"ru": "✓ в норме", "en": "✓ on track"},
    "off_track": {"ru": "✗ не в норме", "en": "✗ off track"},
    "unjudged": {"ru": "—", "en": "—"},
    "no_data": {"ru": "—", "en": "—"},
    "last": {"ru": "последнее значение {value} (период до {end})",
             "en": "last value {value} (period ending {end})"},
    "block_empty": {"ru": "Нет данных.", "en": "No data."},
    "block_empty_n": {"ru": "Нет данных ни по одному из {n} показателей.",
                      "en": "No data for any of its {n} metrics."},
    "empty_names": {"ru": "Без данных: {names}.", "en": "No data: {names}."},
    "empty_count": {"ru": "Ещё {n} {metrics} без данных.",
                    "en": "{n} more metrics have no data."},
    "see_also": {"ru": "См. также: {title} — в блоке «{home}».",
                 "en": "See also: {title}, in “{home}”."},
}


def w(key: str, locale: Locale) -> str:
    return _WORDS[key][locale]


def period_text(period: Period, locale: Locale) -> str:
    """'08.12–14.12.2026' / '2026-12-08 – 2026-12-14'."""
    if period.start is None:
        return short_date(period.end, locale)
    if locale == "ru":
        return f"{period.start:%d.%m}–{short_date(period.end, locale)}"
    return f"{period.start.isoformat()} – {period.end.isoformat()}"


@dataclass(frozen=True)
class ShownRow:
    """A row's cells as people read them, in the reader's locale."""

    value: str
    previous: str
    change: str
    target: str
    status: str


def shown(row: ScoreRow, locale: Locale) -> ShownRow:
    def fmt(number: float | None) -> str:
        return "—" if number is None else format_value(number, row.metric.unit, locale,
                                                       row.metric.decimals)

    return ShownRow(value_text(row, locale), fmt(row.previous), format_change(row.change, locale),
                    fmt(row.metric.target), w(row.status, locale))


def value_text(row: ScoreRow, locale: Locale) -> str:
    """The value, or why there is none and the last value there was."""
    if row.value is not None:
        return format_value(row.value, row.metric.unit, locale, row.metric.decimals)
    text = row.note or Reason("no_value").text(locale)
    if row.last is not None:
        value, period = row.last
        last = w("last", locale).format(
            value=format_value(value, row.metric.unit, locale, row.metric.decimals),
            end=short_date(period.end, locale))
        text = f"{text}; {last}"
    return text


# --- the comment --------------------------------------------------------------------------------


def scorecard_document(card: Scorecard, locale: Locale, *, tracker_kind: str) -> Document:
    """The KPI comment: an intro with the periods, then every agenda block in order. Jira gets a
    table per block; Trello has no tables, so each metric is one line there."""
    lines = tracker_kind == "trello"
    sections = tuple(Section(f"kpi-summary-{block.key}", block.title,
                             block_body(block, locale, lines=lines))
                     for block in card.blocks)
    return Document(intro=(intro(card, locale),), sections=sections)


def intro(card: Scorecard, locale: Locale) -> Paragraph:
    parts = [w("period", locale).format(period=period_text(card.current, locale))]
    if card.previous is not None:
        parts.append(w("compared", locale).format(period=period_text(card.previous, locale)))
    return Paragraph((Text(w("summary", locale), strong=True), Text(": " + ", ".join(parts))))


def block_body(block: BlockCard, locale: Locale, *, lines: bool
               ) -> tuple[Table | BulletList | Paragraph, ...]:
    body: list[Table | BulletList | Paragraph] = []
    if block.rows:
        body.append(BulletList(tuple(_line(r, locale) for r in block.rows)) if lines else
                    Table(tuple(w(k, locale) for k in ("metric", "value", "previous", "change",
                                                       "target", "status")),
                          tuple(_cells(r, locale) for r in block.rows)))
    if block.empty:
        body.append(Paragraph((Text(empty_text(block, locale), em=True),)))
    body += [Paragraph((Text(w("see_also", locale).format(title=r.title, home=r.home)),))
             for r in block.references]
    return tuple(body)


def empty_text(block: BlockCard, locale: Locale) -> str:
    """Compact: a block with nothing says so; a few silent metrics are named, many counted."""
    n = len(block.empty)
    if not block.rows:
        return w("block_empty", locale) if n <= 1 else w("block_empty_n", locale).format(n=n)
    if n <= EMPTY_NAMES_MAX:
        return w("empty_names", locale).format(names=", ".join(block.empty))
    return w("empty_count", locale).format(
        n=n, metrics=ru_plural(n, "показатель", "показателя", "показателей"))


def _cells(row: ScoreRow, locale: Locale) -> tuple[tuple[Inline, ...], ...]:
    cells = shown(row, locale)
    plain = (row.title, cells.value, cells.previous, cells.change, cells.target)
    return (*((Text(c),) for c in plain), (Text(cells.status, strong=row.status == "off_track"),))


def _line(row: ScoreRow, locale: Locale) -> tuple[Inline, ...]:
    """'Conversion rate: 3.2% · previous 2.9% (+10.3%) · target 2.0% · ✓ on track'."""
    cells = shown(row, locale)
    previous = f"{w('previous', locale).lower()} {cells.previous}"
    if row.change is not None:
        previous += f" ({cells.change})"
    parts = [cells.value, previous]
    if row.metric.target is not None:
        parts.append(f"{w('target', locale).lower()} {cells.target}")
    inline: list[Inline] = [Text(row.title, strong=True), Text(": " + " · ".join(parts))]
    if row.status in ("on_track", "off_track"):
        inline += [Text(" · "), Text(cells.status, strong=row.status == "off_track")]
    return tuple(inline)
