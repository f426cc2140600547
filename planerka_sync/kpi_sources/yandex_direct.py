"""Yandex Direct: the Reports API v5 for the ad-budget block's spend, conversions and revenue
per channel. The account's whole spend is not taken as ``marketing_spend`` unless mapped
(``metrics: {marketing_spend: Cost@all}``): a team's marketing spend is more than its Direct
account, and a pull would overwrite the figure a person recorded.

One report per period: ``POST {url}/json/v5/reports`` with a ``CUSTOM_REPORT`` over the
window's dates (``DateRangeType: CUSTOM_DATE``, ``DateFrom``/``DateTo`` = the window's first and
last local day), grouped by ``CampaignId``, ``CampaignType`` and ``AdNetworkType``, so each row
is one campaign on one network summed over the period, as Direct aggregates it. Each row goes to
a channel by the ``channels`` option (a campaign id first, then its campaign type, then its
network; the default sends ``SEARCH`` to ``search`` and leaves the ad network out), and a
metric is the sum of its field over its channel's rows (``@all``: every row).

Direct counts a day's statistics in the account's campaigns' time zone (Moscow unless changed
in the campaign settings); keep it the team's ``timezone``, or a week's numbers are shifted by
the difference. Direct keeps correcting the last days' numbers (they settle within about three
days): a period pulled again replaces its values, and a report's name is unique per content
and hour, so a later pull never gets an old copy.

What the remote does never raises: every failure becomes a failure per metric. Direct answers
a small report at once (200) and queues a bigger one (201 queued, 202 being built, each with a
``retryIn`` header): the source waits ``retryIn`` seconds and asks again with the same
``ReportName``, for at most ``max_wait`` seconds in all; past that the metrics fail as
``timeout`` ("still being built") and the next pull picks the report up. Errors come as
``{"error": {"request_id", "error_code", "error_string", "error_detail"}}`` (``error_code`` is
documented as an int; Direct has been seen sending it as a string, and both are read):
53 (invalid token) and 58 (unfinished app registration) are ``denied:401``; 54 (no rights, e.g.
a ``Client-Login`` that is not the agency's client), 513 (login not connected to Direct),
3000 and 3001 (no API access) are ``denied:403``; 56 (method request limit), 152 (not enough
points), 506 (connection limit) and 9000 (too many reports in the offline queue) are ``quota``;
the rest ``http:<status>``. The token never appears in a failure text.

The official reference this follows:

- https://yandex.com/dev/direct/doc/en/reports (the service, its URL, TSV in UTF-8)
- https://yandex.com/dev/direct/doc/en/spec (the request body: ReportDefinition)
- https://yandex.com/dev/direct/doc/en/headers (processingMode, returnMoneyInMicros,
  skipReportHeader, skipColumnHeader, skipReportSummary; retryIn, reportsInQueue)
- https://yandex.com/dev/direct/doc/en/mode (online and offline reports, asking again)
- https://yandex.com/dev/direct/doc/en/codes (HTTP 200/201/202/400/500/502, the error JSON)
- https://yandex.com/dev/direct/doc/en/report-format (the rows of a report, its fields, "--")
- https://yandex.com/dev/direct/doc/en/concepts/errors-list (error codes)
- https://yandex.ru/dev/direct/doc/en/python3-requests-points (error 152, points renew hourly)
- https://yandex.ru/dev/direct/doc/en/actual (statistics settle within three days)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, field_validator

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import (
    SourceFailure,
    TooLate,
    cause,
    http_failure,
    read_capped,
)
from planerka_sync.messages import t

if TYPE_CHECKING:
    import requests

REPORTS_PATH = "/json/v5/reports"
MAX_BYTES = 20_000_000  # a per-campaign report of one period is kilobytes
MAX_GOALS = 10  # Direct's limit on Goals in one report

Channel = Literal["search", "social", "none"]
Attribution = Literal["FC", "LC", "LSC", "LYDC", "FCCD", "LSCCD", "LYDCCD", "AUTO"]
CHANNELS = ("search", "social")
NETWORKS = ("SEARCH", "AD_NETWORK")
CAMPAIGN_TYPES = (
    "TEXT_CAMPAIGN", "UNIFIED_CAMPAIGN", "DYNAMIC_TEXT_CAMPAIGN", "SMART_CAMPAIGN",
    "MOBILE_APP_CAMPAIGN", "MCBANNER_CAMPAIGN", "CPM_BANNER_CAMPAIGN", "CPM_DEALS_CAMPAIGN",
    "CPM_FRONTPAGE_CAMPAIGN", "CPM_PRICE",
)
# Fields summed over the rows of a channel, and those computed from such sums (a ratio of
# sums, not an average of the rows' ratios; the percentages as fractions: 0.034 is 3.4 %).
SUMMED = ("Impressions", "Clicks", "Cost", "Conversions", "Revenue")
DERIVED: dict[str, tuple[str, str]] = {
    "Ctr": ("Clicks", "Impressions"),
    "ConversionRate": ("Conversions", "Clicks"),
    "AvgCpc": ("Cost", "Clicks"),
    "CostPerConversion": ("Cost", "Conversions"),
}
FIELDS = (*SUMMED, *DERIVED)
# Report fields whose values Direct gives in percent (3.45 is 3.45 %): read as fractions.
PERCENT_FIELDS = frozenset({"Ctr", "ConversionRate", "BounceRate"})
# Fields Direct splits per goal and attribution model when Goals are given:
# Conversions_<goal id>_<model>.
PER_GOAL = frozenset({"Conversions", "Revenue", "ConversionRate", "CostPerConversion",
                      "GoalsRoi"})
DIMENSIONS = ("CampaignId", "CampaignType", "AdNetworkType")

DEFAULT_CHANNELS: dict[str, Channel] = {"SEARCH": "search"}
# metric id -> "<field>@<channel>"; a metric overridden without "@" takes its channel from its
# id's suffix (_search, _social), else "all".
DEFAULT_METRICS: dict[str, str] = {
    "ad_spend_search": "Cost@search",
    "ad_conversions_search": "Conversions@search",
    "ad_revenue_search": "Revenue@search",
    "ad_spend_social": "Cost@social",
    "ad_conversions_social": "Conversions@social",
    "ad_revenue_social": "Revenue@social",
}

# Direct's error codes (errors-list) -> what they are for people.
DENIED_401 = frozenset({53, 58})
DENIED_403 = frozenset({54, 513, 3000, 3001})
QUOTA = frozenset({56, 152, 506, 9000})

_METRIC_ID = re.compile(r"[a-z][a-z0-9_]*")
_SPEC = re.compile(r"(?P<field>[A-Za-z]+)(@(?P<channel>[a-z]+))?")
_TITLE = re.compile(r".* \(\d{4}-\d{2}-\d{2} - \d{4}-\d{2}-\d{2}\)")
_SUMMARY = re.compile(r"(Total rows|Всего строк): \d+")
_GOAL_COLUMN = re.compile(r"(?P<field>[A-Za-z]+)_(?P<goal>\d+)_(?P<model>[A-Z]+)")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class MetricSpec:
    """Where a metric is read from: a report field over one channel's rows (or all rows)."""

    field: str
    channel: str  # search | social | all

    def describe(self) -> str:
        where = "every campaign" if self.channel == "all" else f"{self.channel} campaigns"
        return f"Reports API {self.field}, {where}"


def parse_spec(metric: str, text: str) -> MetricSpec:
    """'Cost@search' -> MetricSpec('Cost', 'search'); 'Cost' takes the channel of the metric id's
    suffix (ad_spend_social -> social), else all. ValueError naming what is wrong."""
    found = _SPEC.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"{metric}: expected FIELD or FIELD@CHANNEL (e.g. Cost@search), "
                         f"got {text!r}")
    field, channel = found["field"], found["channel"]
    if field not in FIELDS:
        raise ValueError(f"{metric}: unknown field {field!r}; one of {', '.join(FIELDS)}")
    if channel is None:
        channel = next((c for c in CHANNELS if metric.endswith(f"_{c}")), "all")
    if channel not in (*CHANNELS, "all"):
        raise ValueError(f"{metric}: unknown channel {channel!r}; one of search, social, all")
    return MetricSpec(field, channel)


class YandexDirectSettings(SourceSettings):
    """A Direct account read with an OAuth token."""

    kind: Literal["yandex-direct"]
    token: SecretStr = Field(description="OAuth token with direct:api, e.g. ${YANDEX_DIRECT_TOKEN}")
    client_login: str | None = Field(None, description="the advertiser's login (agencies)")
    goals: list[int] = Field(default_factory=list, max_length=MAX_GOALS,
                             description="Metrica goal ids counted as conversions")
    url: str = Field("https://api.direct.yandex.com",
                     description="API base (the sandbox's in tests)")
    attribution: Attribution | None = Field(
        None, description="attribution model of the conversions (default: Direct's own)")
    include_vat: bool = Field(True, description="spend with VAT (IncludeVAT: YES)")
    channels: dict[str, Channel] = Field(
        default_factory=dict,
        description="network (SEARCH, AD_NETWORK), campaign type or campaign id -> channel "
                    "(search, social, none); merged over {SEARCH: search}")
    metrics: dict[str, str] = Field(
        default_factory=dict,
        description="metric id -> FIELD[@CHANNEL], over the default mapping; '' turns one off")
    max_wait: float = Field(60.0, ge=0, le=900,
                            description="seconds to wait for a report Direct builds offline")

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_keys(cls, value: Any) -> Any:
        """YAML gives a campaign id as a number; a type or network in any case."""
        if not isinstance(value, Mapping):
            return value
        keys: dict[str, Any] = {}
        for key, channel in value.items():
            text = str(key).strip()
            text = text if text.isdigit() else text.upper()
            if not (text.isdigit() or text in NETWORKS or text in CAMPAIGN_TYPES):
                raise ValueError(
                    f"unknown channels key {key!r}: a campaign id, a network "
                    f"({', '.join(NETWORKS)}) or a campaign type ({', '.join(CAMPAIGN_TYPES)})")
            keys[text] = channel
        return keys

    @field_validator("metrics")
    @classmethod
    def _metric_specs(cls, value: dict[str, str]) -> dict[str, str]:
        for metric, spec in value.items():
            if not _METRIC_ID.fullmatch(metric):
                raise ValueError(f"not a metric id: {metric!r}")
            if spec.strip():
                parse_spec(metric, spec)
        return value

    def label(self) -> str:
        return t("Yandex Direct", "Яндекс Директ") + (
            f" {self.client_login}" if self.client_login else "")

    def channel_map(self) -> dict[str, Channel]:
        return {**DEFAULT_CHANNELS, **self.channels}

    def metric_map(self) -> dict[str, MetricSpec]:
        """Every metric this account gives, by the defaults and the overrides."""
        merged = {**DEFAULT_METRICS, **self.metrics}
        return {m: parse_spec(m, s) for m, s in merged.items() if s.strip()}


# --- reading a report (pure) --------------------------------------------------------------------


def parse_cell(field: str, text: str) -> float | None:
    """One value of a report: None for Direct's '--' (no data) or an empty cell; a percentage
    field (Ctr, ConversionRate, BounceRate) as a fraction. ValueError if not a finite number."""
    value = text.strip()
    if value in ("", "--"):
        return None
    if not _NUMBER.fullmatch(value):
        raise ValueError(f"{field}: not a number: {value[:40]!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{field}: out of range: {value[:40]!r}")
    return number / 100 if base_field(field) in PERCENT_FIELDS else number


def base_field(column: str) -> str:
    """The field a column reports: 'Conversions_12345_LSC' (a goal's column) -> 'Conversions'."""
    found = _GOAL_COLUMN.fullmatch(column)
    if found is not None and found["field"] in PER_GOAL:
        return found["field"]
    return column


def parse_report(text: str) -> list[dict[str, str]]:
    """The rows of a TSV report as column -> cell. The title line ("NAME (FROM - TO)") and the
    summary line ("Total rows: N") are skipped when present. ValueError for a row whose cell
    count differs from the header's."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if lines and _SUMMARY.fullmatch(lines[-1]):
        lines.pop()
    if lines and "\t" not in lines[0] and _TITLE.fullmatch(lines[0]):
        lines.pop(0)
    if not lines:
        return []
    header = lines[0].split("\t")
    rows = []
    for number, line in enumerate(lines[1:], 2):
        cells = line.split("\t")
        if len(cells) != len(header):
            raise ValueError(f"line {number}: {len(cells)} cells, the header has {len(header)}")
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def channel_of(row: Mapping[str, str], channels: Mapping[str, str]) -> str:
    """The channel a report row counts in: by its campaign id, else its campaign type, else its
    network; 'none' when nothing maps it."""
    for key in ("CampaignId", "CampaignType", "AdNetworkType"):
        found = channels.get(row.get(key, "").strip())
        if found is not None:
            return found
    return "none"


def totals(rows: Iterable[Mapping[str, str]],
           channels: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """channel -> summed field -> total, with 'all' over every row. A goal's columns add up
    into their field; '--' (no data) counts as nothing. ValueError for a cell not a number."""
    sums: dict[str, dict[str, float]] = {c: dict.fromkeys(SUMMED, 0.0)
                                         for c in (*CHANNELS, "all")}
    for row in rows:
        channel = channel_of(row, channels)
        for column, cell in row.items():
            field = base_field(column)
            if field not in SUMMED:
                continue
            value = parse_cell(column, cell)
            if value is None:
                continue
            sums["all"][field] += value
            if channel in CHANNELS:
                sums[channel][field] += value
    return sums


def metric_value(spec: MetricSpec, sums: Mapping[str, Mapping[str, float]]) -> float | None:
    """A metric from its channel's sums; None for a ratio over nothing (no clicks, ...)."""
    channel = sums[spec.channel]
    if spec.field in DERIVED:
        top, bottom = DERIVED[spec.field]
        return channel[top] / channel[bottom] if channel[bottom] else None
    return round(channel[spec.field], 6)


# --- the source -------------------------------------------------------------------------------


class Source:
    """The Reports API of one Direct account. ``sleep`` (waiting for an offline report) and
    ``clock`` (the hour a report's name is unique within) can be replaced, e.g. by tests."""

    sleep: Callable[[float], None] = staticmethod(time.sleep)
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, settings: YandexDirectSettings,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session

    def provides(self) -> dict[str, str]:
        targeted = set(self.settings.channel_map().values())
        return {m: spec.describe() for m, spec in self.settings.metric_map().items()
                if spec.channel == "all" or spec.channel in targeted}

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        offered = self.provides()
        specs = {m: s for m, s in self.settings.metric_map().items()
                 if m in wanted and m in offered}
        pulled = Pulled(failures={m: SourceFailure(f"{self.settings.label()} gives no {m}",
                                                   "missing")
                                  for m in wanted if m not in specs})
        if not specs:
            return pulled
        fields = sorted({f for s in specs.values() for f in _components(s.field)},
                        key=FIELDS.index)
        body = self.report_body(window.start, window.end, [*DIMENSIONS, *fields],
                                "CUSTOM_REPORT")
        text, failure = self.report(body)
        if failure is None and text is not None:
            try:
                sums = totals(parse_report(text), self.settings.channel_map())
            except ValueError as exc:
                failure = SourceFailure(f"the report cannot be read: {exc}", "unreadable")
        if failure is not None:
            pulled.failures |= dict.fromkeys(specs, failure)
            return pulled
        for metric, spec in specs.items():
            value = metric_value(spec, sums)
            if value is None:
                pulled.failures[metric] = SourceFailure(
                    f"{metric}: {spec.field} over {spec.channel} campaigns divides by no "
                    f"{DERIVED[spec.field][1]} in {window.start}..{window.end}", "missing")
            else:
                pulled.values[metric] = value
        return pulled

    def probe(self) -> SourceFailure | None:
        """One small report (yesterday's spend, and the goals when set): it proves the token,
        the Client-Login and the goal ids. A report Direct queues is proof enough."""
        day = date.fromtimestamp(self.clock()) - timedelta(days=1)
        fields = ["Cost", "Conversions"] if self.settings.goals else ["Cost"]
        body = self.report_body(day, day, fields, "ACCOUNT_PERFORMANCE_REPORT", probe=True)
        status, _, text, failure = self._post(body)
        if failure is not None:
            return failure
        return None if status in (200, 201, 202) else api_failure(status, text, self._secrets())

    # --- requests -------------------------------------------------------------------------
    def report_body(self, start: date, end: date, fields: list[str], report_type: str,
                    probe: bool = False) -> dict[str, Any]:
        s = self.settings
        params: dict[str, Any] = {
            "SelectionCriteria": {"DateFrom": start.isoformat(), "DateTo": end.isoformat()},
            "FieldNames": fields,
            "ReportType": report_type,
            "DateRangeType": "CUSTOM_DATE",
            "Format": "TSV",
            "IncludeVAT": "YES" if s.include_vat else "NO",
        }
        if s.goals:
            params["Goals"] = [str(g) for g in s.goals]
        if s.attribution:
            params["AttributionModels"] = [s.attribution]
        # The same content asked for within the same hour is the same report (Direct keeps it
        # and answers it again); a later pull asks for a fresh one.
        content = json.dumps([params, s.client_login, int(self.clock() // 3600)],
                             sort_keys=True)
        digest = hashlib.sha256(content.encode()).hexdigest()[:16]
        what = "probe" if probe else f"{start}..{end}"
        params["ReportName"] = f"planerka-sync {what} {digest}"
        return {"params": params}

    def report(self, body: dict[str, Any]) -> tuple[str | None, SourceFailure | None]:
        """The report's TSV, waiting for an offline one ``retryIn`` seconds at a time, at most
        ``max_wait`` in all."""
        waited, limit = 0.0, self.settings.max_wait
        while True:
            status, headers, text, failure = self._post(body)
            if failure is not None:
                return None, failure
            if status == 200:
                return text, None
            if status not in (201, 202):
                return None, api_failure(status, text, self._secrets())
            if waited >= limit:
                state = "queued" if status == 201 else "being built"
                return None, SourceFailure(
                    f"the report is still {state} in Direct's offline queue after {waited:g} s "
                    f"(max_wait); a later pull will find it ready", "timeout")
            pause = min(retry_in(headers.get("retryIn")), limit - waited)
            self.sleep(pause)
            waited += pause

    def _headers(self) -> dict[str, str]:
        s = self.settings
        headers = {
            "Authorization": f"Bearer {s.token.get_secret_value()}",
            "Accept-Language": "en",
            "Content-Type": "application/json; charset=utf-8",
            "processingMode": "auto",
            "returnMoneyInMicros": "false",
            "skipReportHeader": "true",
            "skipReportSummary": "true",
        }
        if s.client_login:
            headers["Client-Login"] = s.client_login
        return headers

    def _secrets(self) -> list[str]:
        return self.settings.secrets()

    def _post(self, body: dict[str, Any]
              ) -> tuple[int, Mapping[str, str], str, SourceFailure | None]:
        """(status, headers, body text, None), or a failure when no answer could be read."""
        import requests
        from urllib3.exceptions import ProtocolError, ReadTimeoutError

        timeout = self.settings.timeout
        url = self.settings.url.rstrip("/") + REPORTS_PATH
        http = self.session or requests
        deadline = time.monotonic() + timeout
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            with http.post(url, data=data, headers=self._headers(), timeout=timeout,
                           stream=True) as response:
                raw = read_capped(response, deadline, MAX_BYTES)
                status, headers = response.status_code, response.headers
        except (requests.Timeout, ReadTimeoutError, TooLate):
            return 0, {}, "", SourceFailure(f"no answer within {timeout:g} s", "timeout")
        except ProtocolError:
            return 0, {}, "", SourceFailure("the connection broke off mid-answer", "unreadable")
        except requests.ConnectionError as exc:
            if "timed out" in str(exc).lower():
                return 0, {}, "", SourceFailure(f"no answer within {timeout:g} s", "timeout")
            return 0, {}, "", SourceFailure(f"cannot connect to Direct ({cause(exc)})",
                                            "unreachable")
        except (requests.RequestException, OSError) as exc:
            return 0, {}, "", SourceFailure(f"request failed ({type(exc).__name__})",
                                            "unreachable")
        if raw is None:
            return 0, {}, "", SourceFailure(f"response larger than {MAX_BYTES} bytes",
                                            "unreadable")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return 0, {}, "", SourceFailure("the response is not UTF-8 text", "unreadable")
        return status, headers, text, None


def _components(field: str) -> tuple[str, ...]:
    return DERIVED.get(field, (field,))


def retry_in(header: str | None) -> float:
    """Seconds to wait before asking for a queued report again: its ``retryIn`` header (whole
    seconds), 5 when absent or unreadable, kept within 1..60."""
    try:
        seconds = float((header or "").strip())
    except ValueError:
        seconds = 5.0
    if not math.isfinite(seconds):
        seconds = 5.0
    return min(max(seconds, 1.0), 60.0)


def error_of(text: str) -> tuple[int | None, str, str, str]:
    """(error_code, error_string, error_detail, request_id) of Direct's error JSON; code None
    when the body is not that shape. The code may come as an int or a string of digits."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None, "", "", ""
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, "", "", ""
    raw = error.get("error_code")
    code = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        code = raw
    elif isinstance(raw, str) and raw.strip().isdigit() and raw.strip().isascii():
        code = int(raw.strip())
    words = [str(error.get(k) or "").strip()[:300]
             for k in ("error_string", "error_detail", "request_id")]
    return code, words[0], words[1], words[2]


def api_failure(status: int, text: str, secrets: Collection[str] = ()) -> SourceFailure:
    """The failure of an answer that is neither a report nor queued: by Direct's error code
    when the body has one, else by the HTTP status."""
    code, string, detail, request_id = error_of(text)
    if code is None:
        return http_failure(status, _REASONS.get(status, ""))
    said = f"Direct error {code}" + (f" {string}" if string else "") + (
        f": {detail}" if detail else "") + (f" (request {request_id})" if request_id else "")
    for secret in secrets:
        said = said.replace(secret, "***")
    if code in DENIED_401:
        return SourceFailure(said, "denied:401")
    if code in DENIED_403:
        return SourceFailure(said, "denied:403")
    if code in QUOTA:
        return SourceFailure(said, "quota")
    return SourceFailure(said, f"http:{status}")


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}

