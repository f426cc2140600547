"""Yandex Metrica: the Reporting API (``GET /stat/v1/data``) for the traffic, conversion and SEO
blocks.

One request per group of metrics that share a segment filter (and at most 20 metrics each, the
API's limit): ``ids=<counter>``, ``date1``/``date2`` = the window's first and last day as local
dates, ``accuracy=full`` (no sampling unless the counter is too large for it), the token in
``Authorization: OAuth <token>``. The value of a metric is the report's ``totals`` (the whole
period, computed by Metrica over the range, not a sum of days: unique visitors, rates and
averages are only right that way).

Metrica counts days in the counter's own time zone (set in the counter's settings); the setup
guide asks it to be the team's ``timezone``, or a week's numbers are shifted by the difference.

The default mapping, metric id -> what it is read from (``metrics:`` overrides any of it; an
empty string stops reading that metric)::

    sessions          ym:s:visits
    unique_visitors   ym:s:users
    bounce_rate       ym:s:bounceRate                          percent -> fraction
    page_depth        ym:s:pageDepth
    time_on_site_s    ym:s:avgVisitDurationSeconds
    conversions       ym:s:goal<goal_id>reaches                summed over ``goals``
    conversion_rate   ym:s:goal<goal_id>reaches / ym:s:visits  conversions / sessions
    organic_sessions  ym:s:visits where ym:s:<attribution>TrafficSource=='organic'

A field is ``METRIC``, ``METRIC / METRIC`` (a ratio of the two totals), either followed by
``where FILTER`` (Metrica's ``filters`` syntax). ``<goal_id>`` in a metric is replaced by each
id of ``goals`` and the totals are added up (no goals: the metric is not read). A metric Metrica
reports in percents (0-100: names ending in ``Rate`` or ``Percentage``, or starting with
``percent``) becomes a fraction, as every "%" value of a KPI set is. ``conversion_rate`` is
conversions / sessions rather than Metrica's ``goal<id>conversionRate`` (the share of sessions
that reached *a* goal): with several goals, the sum of the per-goal shares would mean nothing,
and conversions / sessions is the KPI set's own formula, so the value is the same whether a set
derives it or records it.

Failures, per metric, never raised: the token refused (401, or 403 ``invalid_token``) or the
counter not readable with it (403 ``access_denied``) -> ``denied:<status>``; a quota error
(429, or any ``errors[].error_type`` starting with ``quota_``) -> ``quota`` (the per-second and
parallel quotas are waited out once, for a second); Metrica's own ``timeout`` error and no
answer within ``timeout`` -> ``timeout``; a 400 (a wrong metric, goal or filter in the config)
-> ``http:400`` with Metrica's message; 5xx -> ``http:<status>``. A sampled answer still gives
values, with a note in ``Pulled.notes``.

The API as documented (relied on here, and by the sandbox emulator):

- https://yandex.com/dev/metrika/en/stat/openapi/data (parameters, 20 metrics per request)
- https://yandex.ru/dev/metrika/ru/stat/openapi/data.md
- https://www.yandex.com/dev/metrika/en/stat/sampling (``accuracy``; ``sampled``,
  ``sample_share``, ``sample_size``, ``sample_space``)
- https://yandex.com/dev/metrika/en/stat/metrics/visits/behaviour (bounceRate in percents,
  pageDepth, avgVisitDurationSeconds)
- https://yandex.com/dev/metrika/en/stat/metrics/visits/conversions.md (goal<goal_id>reaches,
  conversionRate in percents)
- https://www.yandex.com/dev/metrika/en/stat/param (``<goal_id>``, ``<attribution>``: lastsign is
  the default attribution)
- https://www.yandex.com/dev/metrika/en/stat/localize (traffic source ids: ``organic``)
- https://tech.yandex.com.tr/metrika/doc/api2/management/concept/errors-docpage/ (the error
  shape ``{"errors": [{"error_type", "message"}], "code", "message"}`` and its types)
- https://yandex.com/dev/metrika/doc/api2/intro/quotas.html (quotas; token only in the header)
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import (
    SourceFailure,
    TooLate,
    http_failure,
    read_capped,
)
from planerka_sync.messages import t

if TYPE_CHECKING:
    import requests

MAX_METRICS = 20  # per request, the API's limit
MAX_BYTES = 5_000_000  # a totals-only report is a few hundred bytes
GOAL = "<goal_id>"
ATTRIBUTION = "<attribution>"

DEFAULT_FIELDS: dict[str, str] = {
    "sessions": "ym:s:visits",
    "unique_visitors": "ym:s:users",
    "bounce_rate": "ym:s:bounceRate",
    "page_depth": "ym:s:pageDepth",
    "time_on_site_s": "ym:s:avgVisitDurationSeconds",
    "conversions": "ym:s:goal<goal_id>reaches",
    "conversion_rate": "ym:s:goal<goal_id>reaches / ym:s:visits",
    "organic_sessions": "ym:s:visits where ym:s:<attribution>TrafficSource=='organic'",
}

_METRIC = re.compile(r"ym:[a-z]+:[A-Za-z][A-Za-z0-9_]*(<[a-z_]+>[A-Za-z0-9_]*)*")
_ACCURACY = re.compile(r"low|medium|high|full|1|0?\.\d*[1-9]\d*")
# Metrica's "percents" metrics: bounceRate, goal<id>conversionRate, robotPercentage,
# percentNewVisitors, ...
_PERCENT = re.compile(r"(Rate|Percentage)$|^percent")
# Quotas that free up within a second: waited out once.
_BRIEF_QUOTAS = ("quota_requests_by_ip", "quota_parallel_requests")


# --- the fields: what each metric is read from -----------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """``numerator [/ denominator] [where filter]``, as written in ``metrics:``."""

    numerator: str
    denominator: str | None = None
    filter: str | None = None

    def terms(self) -> tuple[str, ...]:
        return (self.numerator,) if self.denominator is None else (
            self.numerator, self.denominator)

    def __str__(self) -> str:
        text = self.numerator if self.denominator is None else \
            f"{self.numerator} / {self.denominator}"
        return text if self.filter is None else f"{text} where {self.filter}"


def parse_field(text: str) -> FieldSpec:
    """'ym:s:visits', 'ym:s:goal<goal_id>reaches / ym:s:visits',
    "ym:s:visits where ym:s:lastsignTrafficSource=='organic'". ValueError if not one."""
    body, found, condition = text.strip().partition(" where ")
    segment = condition.strip() if found else None
    if found and not segment:
        raise ValueError(f"nothing after 'where' in {text.strip()!r}")
    parts = [p.strip() for p in body.split("/")]
    if len(parts) > 2:
        raise ValueError(f"at most one '/' in {text.strip()!r}")
    for part in parts:
        if not _METRIC.fullmatch(part):
            raise ValueError(f"not a Metrica metric: {part!r} (e.g. ym:s:visits)")
    return FieldSpec(parts[0], parts[1] if len(parts) == 2 else None, segment)


def expand(term: str, goals: Sequence[int]) -> list[str]:
    """The API metrics a term stands for: one per goal when it has ``<goal_id>``."""
    return [term.replace(GOAL, str(g)) for g in goals] if GOAL in term else [term]


def is_percent(metric: str) -> bool:
    """Whether Metrica reports the metric in percents (0-100)."""
    return bool(_PERCENT.search(metric.rsplit(":", 1)[-1]))


def evaluate(spec: FieldSpec, goals: Sequence[int], totals: Mapping[str, float]) -> float:
    """The value of a field from the totals of its API metrics (percents as fractions).
    KeyError for a metric the totals lack; ZeroDivisionError for a ratio over nothing."""
    def term(text: str) -> float:
        return math.fsum(totals[m] / 100 if is_percent(m) else totals[m]
                         for m in expand(text, goals))
    value = term(spec.numerator)
    if spec.denominator is None:
        return value
    divisor = term(spec.denominator)
    if divisor == 0:
        raise ZeroDivisionError(spec.denominator)
    return value / divisor


def chunks(names: Sequence[str], size: int = MAX_METRICS) -> Iterator[list[str]]:
    for start in range(0, len(names), size):
        yield list(names[start:start + size])


# --- reading an answer -------------------------------------------------------------------------


def read_totals(document: Any, names: Sequence[str]) -> dict[str, float | None]:
    """The report's totals by requested metric (the API answers them in the order asked); None
    for a metric Metrica has no number for. ValueError if the answer is not a report."""
    if not isinstance(document, dict):
        raise ValueError("the answer is not a JSON object")
    totals = document.get("totals")
    if not isinstance(totals, list) or len(totals) != len(names):
        raise ValueError(f"the answer's totals are not {len(names)} numbers")
    values: dict[str, float | None] = {}
    for name, value in zip(names, totals, strict=True):
        if value is None:
            values[name] = None
        elif isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(value):
            values[name] = float(value)
        else:
            raise ValueError(f"the total of {name} is not a number: {value!r}")
    return values


def sampling_note(document: Any, window: Window) -> str | None:
    """What a person should know of a sampled answer, or None when it was not sampled."""
    if not isinstance(document, dict) or document.get("sampled") is not True:
        return None
    share = document.get("sample_share")
    shown = f"{share:.0%}" if isinstance(share, int | float) and 0 < share <= 1 else "part"
    days = f"{window.start:%Y-%m-%d}..{window.end:%Y-%m-%d}"
    return t(f"Yandex Metrica sampled the data for {days}: the values are estimated from "
             f"{shown} of the sessions",
             f"Яндекс Метрика применила выборку за {days}: значения оценены по "
             f"{'части' if shown == 'part' else shown} визитов")


def api_error(document: Any) -> tuple[str, str]:
    """(error_type, message) of Metrica's error answer; ('', '') when it is not one."""
    if not isinstance(document, dict):
        return "", ""
    errors = document.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) \
        else {}
    kind = first.get("error_type")
    message = first.get("message") or document.get("message")
    return (kind if isinstance(kind, str) else "",
            message[:300] if isinstance(message, str) else "")


def failure_of(status: int, reason: str, document: Any, counter: int = 0) -> SourceFailure:
    """The failure of an error answer, by its status and Metrica's error_type, saying what to
    look at."""
    kind, message = api_error(document)
    detail = f" ({kind}: {message})" if kind else (f" ({message})" if message else "")
    text = f"HTTP {status} {reason}".strip() + detail
    if kind.startswith("quota_") or status in (420, 429):
        return SourceFailure(f"Yandex Metrica's quota is used up: {text}", "quota")
    if kind == "timeout":
        return SourceFailure(f"Yandex Metrica gave up on the report: {text}", "timeout")
    code = http_failure(status, reason).code
    if status == 401 or kind in ("invalid_token", "unauthorized"):
        text = f"Yandex Metrica refused the OAuth token: {text}"
    elif status == 403:
        text = (f"the token may not read counter {counter} (a wrong counter id, or its "
                f"account has no access to it): {text}")
    elif status == 400:
        text = f"Yandex Metrica refused the report's metrics, goals or filter: {text}"
    return SourceFailure(text, code)


# --- the settings and the source ---------------------------------------------------------------


class YandexMetricaSettings(SourceSettings):
    """A Metrica counter read with an OAuth token."""

    kind: Literal["yandex-metrica"]
    token: SecretStr = Field(
        description="OAuth token with metrika:read, e.g. ${YANDEX_METRICA_TOKEN}")
    counter: int = Field(gt=0, description="the counter's id")
    goals: list[int] = Field(default_factory=list,
                             description="goal ids whose reaches are conversions")
    url: str = Field("https://api-metrika.yandex.net",
                     description="API base (the sandbox's in tests)")
    accuracy: str = Field(
        "full", description="sampling: full (all sessions), high, medium, low or a share in "
                            "(0, 1]; a sampled answer is noted")
    attribution: Literal[
        "lastsign", "last", "first", "last_yandex_direct_click", "automatic",
        "cross_device_last_significant", "cross_device_last", "cross_device_first",
        "cross_device_last_yandex_direct_click"] = Field(
        "lastsign", description="attribution model of the traffic source behind "
                                "organic_sessions (<attribution> in a field)")
    metrics: dict[str, str] = Field(
        default_factory=dict,
        description="metric id -> Metrica field, over the defaults, e.g. "
                    "{organic_sessions: \"ym:s:visits where ym:s:lastTrafficSource=='organic'\"};"
                    " \"\" stops reading a metric")

    @field_validator("accuracy")
    @classmethod
    def _accuracy(cls, value: str) -> str:
        if not _ACCURACY.fullmatch(value.strip()):
            raise ValueError("accuracy is full, high, medium, low or a share such as 0.1")
        return value.strip()

    @field_validator("metrics")
    @classmethod
    def _fields(cls, value: dict[str, str]) -> dict[str, str]:
        for metric, text in value.items():
            if text.strip():
                try:
                    parse_field(text)
                except ValueError as exc:
                    raise ValueError(f"metrics.{metric}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _goals_for_goal_fields(self) -> YandexMetricaSettings:
        if not self.goals:
            for metric, text in self.metrics.items():
                if GOAL in text:
                    raise ValueError(f"metrics.{metric} reads {GOAL} but goals is empty: "
                                     f"list the goal ids under goals")
        return self

    def fields(self) -> dict[str, FieldSpec]:
        """metric id -> its field, the defaults overridden; ``<attribution>`` filled in; a goal
        field is left out while there are no goals, and so is a metric set to ''."""
        merged = DEFAULT_FIELDS | self.metrics
        found = {}
        for metric, text in merged.items():
            if not text.strip() or (GOAL in text and not self.goals):
                continue
            found[metric] = parse_field(text.replace(ATTRIBUTION, self.attribution))
        return found

    def label(self) -> str:
        return t(f"Yandex Metrica {self.counter}", f"Яндекс Метрика {self.counter}")


class Source:
    """The counter's totals for the window's days."""

    def __init__(self, settings: YandexMetricaSettings,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session  # None: a connection per request, closed with it

    def provides(self) -> dict[str, str]:
        goals = self.settings.goals
        return {m: str(spec) + (f" (goals {', '.join(map(str, goals))})"
                                if any(GOAL in t for t in spec.terms()) else "")
                for m, spec in self.settings.fields().items()}

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        fields = {m: f for m, f in self.settings.fields().items() if m in wanted}
        pulled = Pulled()
        for metric in wanted:
            if metric not in fields:
                pulled.failures[metric] = SourceFailure(
                    f"yandex-metrica does not provide {metric}", "missing")
        totals, failures, notes = self._report(fields.values(), window.start, window.end)
        pulled.notes += notes
        for metric, spec in fields.items():
            names = [n for t in spec.terms() for n in expand(t, self.settings.goals)]
            failure = next((failures[(spec.filter, n)] for n in names
                            if (spec.filter, n) in failures), None)
            if failure is not None:
                pulled.failures[metric] = failure
                continue
            group = totals.get(spec.filter, {})
            if any(group.get(n) is None for n in names):
                pulled.failures[metric] = SourceFailure(
                    f"Yandex Metrica gave no total for {spec}", "missing")
                continue
            try:
                pulled.values[metric] = evaluate(spec, self.settings.goals,
                                                 {n: v for n, v in group.items() if v is not None})
            except ZeroDivisionError:
                pulled.failures[metric] = SourceFailure(
                    f"{spec.denominator} is 0 for the period: no ratio", "missing")
        return pulled

    def probe(self) -> SourceFailure | None:
        """The report a pull makes, for yesterday, with the cheapest sampling: the token, the
        counter, the goals and every field's metrics and filter are checked."""
        day = date.today() - timedelta(days=1)
        _, failures, _ = self._report(self.settings.fields().values(), day, day, probe=True)
        return next(iter(failures.values()), None)

    # --- requests --------------------------------------------------------------------------
    def _report(
        self, fields: Collection[FieldSpec], first: date, last: date, *, probe: bool = False
    ) -> tuple[dict[str | None, dict[str, float | None]],
               dict[tuple[str | None, str], SourceFailure], list[str]]:
        """Totals by filter and API metric, failures by (filter, metric), notes. Requests stop
        at a failure that every later request would meet too (access, quota, network)."""
        groups: dict[str | None, list[str]] = {}
        for spec in fields:
            names = groups.setdefault(spec.filter, [])
            for term in spec.terms():
                names += [n for n in expand(term, self.settings.goals) if n not in names]
        totals: dict[str | None, dict[str, float | None]] = {}
        failures: dict[tuple[str | None, str], SourceFailure] = {}
        notes: list[str] = []
        fatal: SourceFailure | None = None
        for segment, names in groups.items():
            for chunk in chunks(names):
                if fatal is not None:
                    failures |= {(segment, n): fatal for n in chunk}
                    continue
                document, failure = self._get(self._params(chunk, segment, first, last, probe))
                if failure is None:
                    try:
                        totals.setdefault(segment, {}).update(read_totals(document, chunk))
                    except ValueError as exc:
                        failure = SourceFailure(f"Yandex Metrica's answer: {exc}", "unreadable")
                if failure is not None:
                    failures |= {(segment, n): failure for n in chunk}
                    if failure.code.partition(":")[0] in ("denied", "quota", "unreachable",
                                                          "timeout"):
                        fatal = failure
                    continue
                note = None if probe else sampling_note(document, Window(first, last, ""))
                if note is not None and note not in notes:
                    notes.append(note)
        return totals, failures, notes

    def _params(self, names: Sequence[str], segment: str | None, first: date, last: date,
                probe: bool) -> dict[str, str]:
        params = {"ids": str(self.settings.counter), "metrics": ",".join(names),
                  "date1": first.isoformat(), "date2": last.isoformat(),
                  "accuracy": "low" if probe else self.settings.accuracy}
        if segment is not None:
            params["filters"] = segment
        return params

    def _get(self, params: Mapping[str, str]) -> tuple[Any, SourceFailure | None]:
        """One report; a per-second quota is waited out once."""
        document, failure, brief = self._get_once(params)
        if failure is not None and brief:
            time.sleep(1.0)
            document, failure, _ = self._get_once(params)
        return document, failure

    def _get_once(self, params: Mapping[str, str]) -> tuple[Any, SourceFailure | None, bool]:
        import requests
        from urllib3.exceptions import ProtocolError, ReadTimeoutError

        s = self.settings
        timeout = s.timeout
        headers = {"Authorization": f"OAuth {s.token.get_secret_value()}",
                   "Accept": "application/json"}
        deadline = time.monotonic() + timeout
        try:
            http = self.session or requests
            with http.get(f"{s.url.rstrip('/')}/stat/v1/data", params=dict(params),
                          headers=headers, timeout=timeout, stream=True) as response:
                body = read_capped(response, deadline, MAX_BYTES)
                status, reason = response.status_code, response.reason or ""
        except (requests.Timeout, ReadTimeoutError, TooLate):
            return None, SourceFailure(f"no answer within {timeout:g} s", "timeout"), False
        except ProtocolError:
            return None, SourceFailure("the connection broke off mid-answer", "unreadable"), False
        except requests.ConnectionError as exc:
            if "timed out" in str(exc).lower():
                return None, SourceFailure(f"no answer within {timeout:g} s", "timeout"), False
            return None, SourceFailure(f"cannot connect to Yandex Metrica "
                                       f"({type(exc).__name__})", "unreachable"), False
        except (requests.RequestException, OSError) as exc:
            return None, SourceFailure(f"request failed ({type(exc).__name__})",
                                       "unreachable"), False
        if body is None:
            return None, SourceFailure(f"answer larger than {MAX_BYTES} bytes", "unreadable"), \
                False
        try:
            document = json.loads(body) if body else None
        except (ValueError, RecursionError):
            document = None
            if status < 400:
                return None, SourceFailure("Yandex Metrica's answer is not JSON",
                                           "unreadable"), False
        if status >= 400:
            failure = failure_of(status, reason, document, s.counter)
            return None, self._redacted(failure), api_error(document)[0] in _BRIEF_QUOTAS
        return document, None, False

    def _redacted(self, failure: SourceFailure) -> SourceFailure:
        text = str(failure)
        for secret in self.settings.secrets():
            text = text.replace(secret, "***")
        return SourceFailure(text, failure.code)
