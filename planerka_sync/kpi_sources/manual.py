"""Values typed on the command line: ``planerka-sync kpi record sessions=12345 bounce_rate=41,5%``.

A value may use a decimal comma or point and digit-group spaces (quoted in the shell); a trailing
"%" divides by 100, because "%" metrics are stored as fractions.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from planerka_sync.kpi_sources.common import KpiInputError, parse_number, unknown_metric


def parse_pairs(
    pairs: Sequence[str], known_metrics: Collection[str] | None = None
) -> dict[str, float]:
    """``metric=value`` pairs -> values. Every bad pair is reported at once (not only the first),
    so a person fixes the command in one go. ``known_metrics`` (the set's recordable ids), when
    given, rejects typos and derived metrics."""
    values: dict[str, float] = {}
    problems: list[str] = []
    for pair in pairs:
        try:
            metric, value = _pair(pair, known_metrics)
        except ValueError as exc:
            problems.append(f"{pair!r}: {exc}")
            continue
        if metric in values:
            problems.append(f"{pair!r}: {metric} is given twice")
        values[metric] = value
    if problems:
        raise KpiInputError(problems)
    return values


def _pair(pair: str, known_metrics: Collection[str] | None) -> tuple[str, float]:
    metric, sign, value = pair.partition("=")
    metric = metric.strip().lower()
    if not sign or not metric:
        raise ValueError("expected metric=value")
    if known_metrics is not None and metric not in known_metrics:
        raise ValueError(unknown_metric(metric, known_metrics))
    if not value.strip():
        raise ValueError("no value after '='")
    return metric, parse_number(value)
