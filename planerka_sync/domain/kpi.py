"""The team's metrics (KPIs): definitions, derived formulas, targets, deltas and the summary
comment posted before each meeting.

Pure: values come in as plain dicts (from the store, a CSV, an http source or the tracker) and a
:class:`~planerka_sync.domain.document.Document` comes out. Formulas are evaluated by simpleeval,
never ``eval``, and only after the set was checked to contain nothing but ``+ - * / ( )``,
numbers and metric ids.

Values of "%" metrics are fractions (0.034 is 3.4 %), so a formula like ``conversions /
sessions`` needs no "× 100" and targets compare with what formulas produce.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from graphlib import CycleError, TopologicalSorter
from typing import Any, Literal

from pydantic import Field, ValidationError
from simpleeval import SimpleEval

from planerka_sync.domain.agenda import Strict, TemplateError, Words, problem_of, words
from planerka_sync.domain.texts import Locale

Unit = Literal["%", "₽", "$", "€", "count", "s", "days", "months", "ratio", "position", "score"]
Better = Literal["higher", "lower"]
Status = Literal["on_track", "off_track", "no_data"]


class KpiSetError(TemplateError):
    """A KPI set file has a bad field; ``problems`` are 'path: what' strings."""


# --- the set ------------------------------------------------------------------------------------


_KEY = r"^[a-z0-9][a-z0-9_-]*$"


class KpiBlock(Strict):
    key: str = Field(pattern=_KEY)
    title: Words


class MetricDef(Strict):
    # A Python identifier, because formulas name metrics by id.
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: Words
    unit: Unit
    better: Better
    block: str = Field(pattern=_KEY)
    also_in: list[str] = Field(default_factory=list)
    target: float | None = Field(None, allow_inf_nan=False)
    # Without a target: off track when worse than the previous period by more than this share.
    tolerance: float | None = Field(None, ge=0, le=10, allow_inf_nan=False)
    formula: str | None = None
    source: Literal["input", "tracker"] = "input"
    headline: bool = False
    decimals: int | None = Field(None, ge=0, le=6)

    @property
    def derived(self) -> bool:
        return self.formula is not None

    def label(self, locale: Locale) -> str:
        return words(self.title, locale)


class KpiSet(Strict):
    """Build it with :func:`parse_kpi_set`, which also checks ids, blocks and formulas."""

    id: str
    version: int = Field(1, ge=1)
    blocks: list[KpiBlock] = Field(min_length=1)
    metrics: list[MetricDef] = Field(min_length=1)

    def metric(self, metric_id: str) -> MetricDef:
        """KeyError for an id the set does not define."""
        found = [m for m in self.metrics if m.id == metric_id]
        if not found:
            raise KeyError(metric_id)
        return found[0]

    def recordable(self) -> list[str]:
        """Ids a person or a source may record (not derived, not filled from the tracker)."""
        return [m.id for m in self.metrics if not m.derived and m.source == "input"]

    def from_tracker(self) -> list[str]:
        """Ids the service computes from the decisions' tasks and passes in with the values."""
        return [m.id for m in self.metrics if m.source == "tracker"]

    def headline(self) -> list[MetricDef]:
        return [m for m in self.metrics if m.headline]

    def in_block(self, key: str) -> list[MetricDef]:
        return [m for m in self.metrics if key == m.block or key in m.also_in]

    def evaluation_order(self) -> list[str]:
        """Metric ids with every formula's inputs before it (the set is known to be acyclic)."""
        return list(TopologicalSorter(_dependencies(self)).static_order())


def parse_kpi_set(data: Any, source: str) -> KpiSet:
    """Validate a KPI set mapping; every bad field is named in the error."""
    try:
        kpi_set = KpiSet.model_validate(data)
    except ValidationError as exc:
        raise KpiSetError(source, [problem_of(e) for e in exc.errors()]) from None
    problems = _structure_problems(kpi_set)
    problems += [p for i, m in enumerate(kpi_set.metrics) for p in _metric_problems(kpi_set, i, m)]
    if not problems:
        problems = _cycle_problems(kpi_set)
    if problems:
        raise KpiSetError(source, problems)
    return kpi_set


def _structure_problems(kpi_set: KpiSet) -> list[str]:
    problems = []
    for name, keys in (("blocks", [b.key for b in kpi_set.blocks]),
                       ("metrics", [m.id for m in kpi_set.metrics])):
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            problems.append(f"{name}: duplicate {', '.join(duplicates)}")
    return problems


def _metric_problems(kpi_set: KpiSet, index: int, metric: MetricDef) -> list[str]:
    where = f"metrics.{index} ({metric.id})"
    blocks = {b.key for b in kpi_set.blocks}
    problems = [f"{where}.block: unknown block {key!r}; blocks: {', '.join(sorted(blocks))}"
                for key in [metric.block, *metric.also_in] if key not in blocks]
    if metric.formula is None:
        return problems
    if metric.source == "tracker":
        problems.append(f"{where}.formula: a tracker metric cannot also have a formula")
    try:
        names = formula_names(metric.formula)
    except ValueError as exc:
        return [*problems, f"{where}.formula: {exc}"]
    known = {m.id for m in kpi_set.metrics}
    problems += [f"{where}.formula: unknown metric {name!r}" for name in sorted(names - known)]
    return problems


def _cycle_problems(kpi_set: KpiSet) -> list[str]:
    try:
        kpi_set.evaluation_order()
    except CycleError as exc:
        return [f"metrics: formulas depend on each other in a cycle: {' -> '.join(exc.args[1])}"]
    return []


def _dependencies(kpi_set: KpiSet) -> dict[str, set[str]]:
    return {m.id: formula_names(m.formula) if m.formula else set() for m in kpi_set.metrics}


# --- formulas -----------------------------------------------------------------------------------

_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
# Everything else (calls, attributes, comparisons, **, strings...) is refused when the set is
# read, so simpleeval only ever sees arithmetic on numbers.
_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
                  *_OPERATORS)


def formula_names(formula: str) -> set[str]:
    """The metric ids a formula uses; ValueError when it is more than arithmetic."""
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"not a formula: {formula!r}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ValueError(f"only + - * / ( ), numbers and metric ids are allowed: {formula!r}")
        if isinstance(node, ast.Constant) and not _is_number(node.value):
            raise ValueError(f"only numbers may be written as constants: {formula!r}")
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- evaluation ---------------------------------------------------------------------------------

ReasonKind = Literal["no_value", "missing_inputs", "zero_division", "out_of_range", "source_error"]


@dataclass(frozen=True)
class Reason:
    """Why a metric has no value; rendered per locale, metric ids shown by title when known."""

    kind: ReasonKind
    subjects: tuple[str, ...] = ()  # metric ids, or an expression that was 0
    detail: str = ""  # the source's error text

    def text(self, locale: Locale = "en", titles: Mapping[str, str] | None = None) -> str:
        names = [(titles or {}).get(s, s) for s in self.subjects]
        quoted = ", ".join(f"«{n}»" for n in names) if locale == "ru" else ", ".join(names)
        detail = source_error_text(self.detail, locale) if self.detail else ""
        return _REASONS[self.kind][locale].format(names=quoted, detail=detail)

    def __str__(self) -> str:
        return self.text("en")


_REASONS: dict[ReasonKind, dict[Locale, str]] = {
    "no_value": {"ru": "нет данных за период", "en": "no data for the period"},
    "missing_inputs": {"ru": "нет данных за период: не хватает {names}",
                       "en": "no data for the period: missing {names}"},
    "zero_division": {"ru": "н/д: {names} = 0", "en": "n/a: {names} is 0"},
    "out_of_range": {"ru": "н/д: результат вне диапазона", "en": "n/a: result out of range"},
    "source_error": {"ru": "нет данных за период: {detail}",
                     "en": "no data for the period: {detail}"},
}

# A source's failure, by kind (see planerka_sync.kpi_sources.common.SourceFailure), in the
# words a marketing lead reads; "{code}" is the HTTP status where there is one.
_SOURCE_ERRORS: dict[str, dict[Locale, str]] = {
    "unreachable": {"ru": "источник недоступен", "en": "the source is unreachable"},
    "timeout": {"ru": "источник не ответил вовремя", "en": "the source did not answer in time"},
    "denied": {"ru": "источник отказал в доступе ({code})",
               "en": "the source denied access ({code})"},
    "quota": {"ru": "исчерпана квота источника", "en": "the source's quota is used up"},
    "http": {"ru": "источник ответил ошибкой {code}", "en": "the source answered {code}"},
    "unreadable": {"ru": "ответ источника не прочитан", "en": "the source's answer is unreadable"},
    "missing": {"ru": "в ответе источника нет этого показателя",
                "en": "the source's answer lacks this metric"},
}


def source_error_text(code: str, locale: Locale) -> str:
    """'http:503' -> 'источник ответил ошибкой 503'; a code we do not know is shown as is."""
    kind, _, status = code.partition(":")
    words_ = _SOURCE_ERRORS.get(kind)
    return words_[locale].format(code=status).replace(" ()", "") if words_ else code


@dataclass(frozen=True)
class MetricResult:
    value: float | None
    reason: Reason | None = None  # set exactly when value is None


def evaluate(
    definitions: KpiSet,
    values: Mapping[str, float | None],
    errors: Mapping[str, str] | None = None,
) -> dict[str, MetricResult]:
    """Every metric of the set: inputs as given, derived ones computed in dependency order.

    ``values`` holds recorded and tracker metrics; values given for derived metrics are ignored
    (the formula is the definition). ``errors`` maps a metric to its source's error text.
    Never raises for any numbers: a formula that cannot be computed gets a reason instead.
    """
    results: dict[str, MetricResult] = {}
    by_id = {m.id: m for m in definitions.metrics}
    for metric_id in definitions.evaluation_order():
        metric = by_id[metric_id]
        if metric.formula is None:
            results[metric_id] = _input(metric_id, values.get(metric_id), errors or {})
        else:
            results[metric_id] = _derived(metric.formula, results)
    return results


def _input(metric_id: str, value: float | None, errors: Mapping[str, str]) -> MetricResult:
    if value is not None and math.isfinite(value):
        return MetricResult(float(value))
    if metric_id in errors:
        return MetricResult(None, Reason("source_error", (metric_id,), errors[metric_id]))
    return MetricResult(None, Reason("no_value", (metric_id,)))


def _derived(formula: str, results: Mapping[str, MetricResult]) -> MetricResult:
    names = sorted(formula_names(formula))
    absent = [name for name in names if results[name].value is None]
    if absent:
        return MetricResult(None, _absent_reason(absent, results))
    known = {name: results[name].value for name in names}
    try:
        value = float(_evaluator(known).eval(formula))
    except ZeroDivisionError:
        return MetricResult(None, Reason("zero_division", (_zero_divisor(formula, known),)))
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        return MetricResult(None, Reason("out_of_range"))
    return MetricResult(value)


def _absent_reason(absent: list[str], results: Mapping[str, MetricResult]) -> Reason:
    """An upstream failure that explains itself (n/a, source error) is passed on as is, so the
    comment says "CAC: n/a: new customers is 0" rather than "missing CAC"."""
    for name in absent:
        reason = results[name].reason
        if reason is not None and reason.kind != "no_value":
            return reason
    return Reason("missing_inputs", tuple(absent))


def _evaluator(names: Mapping[str, Any]) -> SimpleEval:
    return SimpleEval(operators=dict(_OPERATORS), functions={}, names=dict(names))


def _zero_divisor(formula: str, names: Mapping[str, Any]) -> str:
    """The divisor that is 0: a metric id, or the sub-expression as written."""
    for node in ast.walk(ast.parse(formula.strip(), mode="eval")):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)):
            continue
        try:
            divisor = _evaluator(names).eval(ast.unparse(node.right))
        except ZeroDivisionError:
            continue  # a deeper division is the culprit; ast.walk reaches it later
        if divisor == 0:
            return node.right.id if isinstance(node.right, ast.Name) else ast.unparse(node.right)
    return formula


# --- formatting ---------------------------------------------------------------------------------

NBSP = "\u00a0"  # between digit groups and before units: a number never wraps in a cell
MINUS = "\u2212"
_WIDE = Context(prec=400)  # room for every float's digits (up to 1.8e308) plus decimals
_DECIMALS: dict[Unit, int] = {"%": 1, "₽": 0, "$": 0, "€": 0, "count": 0, "s": 1, "days": 1,
                              "months": 0, "ratio": 2, "position": 1, "score": 1}
_SUFFIX: dict[Unit, dict[Locale, str]] = {
    "s": {"ru": "с", "en": "s"},
    "days": {"ru": "дн.", "en": "d"},
    "months": {"ru": "мес.", "en": "mo"},
    "₽": {"ru": "₽", "en": "₽"},
}


def format_number(
    value: float, decimals: int, locale: Locale, *, signed: bool = False, percent: bool = False
) -> str:
    """'1 234,5' (ru, non-breaking spaces) / '1,234.5' (en); a true minus sign. ``percent``
    multiplies by 100 first (in decimal: a huge float times 100 must not become inf)."""
    # Half up on the number as written (repr), like people round: 1234.5 -> 1235, 2.675 -> 2.68;
    # float formatting would round half to even on the binary value.
    exact = Decimal(repr(abs(value))).scaleb(2 if percent else 0, _WIDE)
    rounded = exact.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP, _WIDE)
    body = f"{rounded:,.{decimals}f}"
    if locale == "ru":
        body = body.replace(",", NBSP).replace(".", ",")
    nonzero = any(c in "123456789" for c in body)  # -0.04 shown as "0,0" has no sign
    if value < 0 and nonzero:
        return MINUS + body
    return "+" + body if signed and nonzero else body


def format_value(
    value: float, unit: Unit, locale: Locale, decimals: int | None = None, *,
    signed: bool = False,
) -> str:
    """A value as people read it: '12,3 %' / '12.3%', '1 500 ₽', '$1,500', '2,5 с' / '2.5 s'."""
    places = _DECIMALS[unit] if decimals is None else decimals
    if unit == "%":
        number = format_number(value, places, locale, signed=signed, percent=True)
        return f"{number}{NBSP}%" if locale == "ru" else f"{number}%"
    number = format_number(value, places, locale, signed=signed)
    if unit in ("$", "€"):
        return f"{number}{NBSP}{unit}" if locale == "ru" else f"{unit}{number}"
    if unit in _SUFFIX:
        return f"{number}{NBSP}{_SUFFIX[unit][locale]}"
    return number


def format_change(change_ratio: float | None, locale: Locale) -> str:
    return "—" if change_ratio is None else format_value(change_ratio, "%", locale, signed=True)
