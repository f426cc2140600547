"""A loopback emulator of the Yandex Direct Reports API v5: ``POST /json/v5/reports``.

It answers the request and response shapes of Yandex's reference
(https://yandex.com/dev/direct/doc/en/spec, /headers, /mode, /codes, /report-format):

- Headers: ``Authorization: Bearer <token>`` (required), ``Client-Login`` (an agency must name
  its client; an advertiser may name itself), ``Accept-Language`` (ru or en error texts),
  ``processingMode`` (online | offline | auto, absent = auto), ``returnMoneyInMicros`` (absent or
  true: money as integers times 1,000,000; false: two decimals), ``skipReportHeader``,
  ``skipColumnHeader``, ``skipReportSummary`` (true drops that line).
- Body: ``{"params": ReportDefinition}`` checked strictly: the required SelectionCriteria,
  FieldNames, ReportName, ReportType, DateRangeType, Format (TSV), IncludeVAT (YES | NO); no
  unknown keys; known field names only (no duplicates, none of the campaign fields in an
  ACCOUNT_PERFORMANCE_REPORT); DateFrom/DateTo (YYYY-MM-DD, from <= to) with CUSTOM_DATE and
  only then; Goals as strings of the seed's goal ids, at most 10; AttributionModels from the
  documented list; Page.Limit > 0; Filter items with EQUALS, NOT_EQUALS, IN, NOT_IN on
  CampaignId, CampaignType or AdNetworkType.
- Errors: HTTP 400 (500 for 1000, server errors) with ``{"error": {"request_id", "error_code",
  "error_string", "error_detail"}}``, the code as a string of digits as Direct sends it: 8000
  invalid request (shape, unknown field or value), 4000 invalid parameters (dates, goals, a
  ReportName reused with other parameters), 53 bad or missing token, 54 no rights (a
  Client-Login the token may not read), 9000 too many reports in the offline queue (option
  ``queue_limit``, default 5 per advertiser). Option ``fail_with`` makes every report answer
  one error code (e.g. 152 not enough points, 506 connection limit, 1000 server error).
- Offline reports: with option ``build_seconds`` > 0 (or ``processingMode: offline``), the first
  request for a new ReportName answers 201 (queued), later ones 202 (being built) until the
  sandbox clock has moved ``build_seconds`` on, then 200 with the report; 201/202 carry
  ``retryIn`` (option ``retry_in``, default 2) and ``reportsInQueue``. With ``build_seconds`` 0
  (the default) a report is answered at once, as Direct answers a small one online.
- Faults, the request log, the clock, seed and options: ``/_sandbox/...`` as every emulator.

Seed (a JSON object; every key optional, the defaults are in ``default_seed``)::

    {
      "users": [{"login": "marketing-client", "token": "direct-token"},
                {"login": "our-agency", "token": "agency-token",
                 "clients": ["marketing-client"]}],
      "advertiser": "marketing-client",      # whose statistics the campaigns are
      "goals": [1001, 1002],                 # Metrica goal ids of the account
      "campaigns": [{"id": 101, "name": "Поиск", "type": "TEXT_CAMPAIGN",
                     "networks": ["SEARCH"], "cost": 1500.25, "clicks": 120,
                     "conversions": 4, "price": 2500.0,
                     "start": "2026-01-01", "end": null}],   # active days (optional)
      "overrides": [{"date": "2026-12-06", "campaign": 101, "network": "SEARCH",
                     "Cost": 1000000}]       # a field's value on one day of one row
    }

Day values of campaign ``c`` on each of its networks on day ``d`` (``d.day``: 1..31), so a test
can compute any report's numbers by itself:

- ``Clicks = c.clicks + d.day``; ``Impressions = 20 * Clicks``
- ``Cost = c.cost + d.day`` (VAT included; ``IncludeVAT: NO`` divides by ``1 + vat_rate``,
  option ``vat_rate``, default 0.22)
- goal ``i`` (its position in ``goals``, from 0): ``conversions = c.conversions + (d.day + i) % 3``
  and ``revenue = conversions * c.price``; ``Conversions`` and ``Revenue`` without ``Goals`` are
  the sums over every goal ("--" when the account has none); with ``Goals`` they become one
  column per goal and attribution model, ``Conversions_<goal>_<model>`` (model AUTO when
  AttributionModels is not given; the model does not change the numbers)
- an override replaces one of Clicks, Impressions, Cost, Conversions (every goal's), Revenue
  (every goal's) for its day, campaign and network.

A report groups the days' rows by the requested non-metric fields (Date, CampaignId,
CampaignName, CampaignType, AdNetworkType) and sums them; ratios (Ctr, AvgCpc, ConversionRate,
CostPerConversion, GoalsRoi) are computed from the sums; percentages (Ctr, ConversionRate) in
percent with two decimals; a ratio over nothing is "--". Named ranges (TODAY, YESTERDAY,
LAST_N_DAYS) count days in Moscow on the sandbox clock.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from planerka_sync.sandbox.core import JSON, Emulator, HttpError, Request, Response, route

REPORT_TYPES = (
    "ACCOUNT_PERFORMANCE_REPORT", "CAMPAIGN_PERFORMANCE_REPORT", "ADGROUP_PERFORMANCE_REPORT",
    "AD_PERFORMANCE_REPORT", "CRITERIA_PERFORMANCE_REPORT", "CUSTOM_REPORT",
    "REACH_AND_FREQUENCY_PERFORMANCE_REPORT", "SEARCH_QUERY_PERFORMANCE_REPORT",
)
SERVED_TYPES = ("ACCOUNT_PERFORMANCE_REPORT", "CAMPAIGN_PERFORMANCE_REPORT", "CUSTOM_REPORT")
DATE_RANGES = (
    "TODAY", "YESTERDAY", "LAST_3_DAYS", "LAST_5_DAYS", "LAST_7_DAYS", "LAST_14_DAYS",
    "LAST_30_DAYS", "LAST_90_DAYS", "LAST_365_DAYS", "THIS_WEEK_MON_TODAY",
    "THIS_WEEK_SUN_TODAY", "LAST_WEEK", "LAST_BUSINESS_WEEK", "LAST_WEEK_SUN_SAT",
    "THIS_MONTH", "LAST_MONTH", "ALL_TIME", "CUSTOM_DATE", "AUTO",
)
ATTRIBUTION_MODELS = ("FC", "LC", "LSC", "LYDC", "FCCD", "LSCCD", "LYDCCD", "AUTO")
DIMENSIONS = ("Date", "CampaignId", "CampaignName", "CampaignType", "AdNetworkType")
CAMPAIGN_FIELDS = ("CampaignId", "CampaignName", "CampaignType")
METRICS = ("Impressions", "Clicks", "Cost", "Ctr", "AvgCpc", "Conversions", "ConversionRate",
           "CostPerConversion", "Revenue", "GoalsRoi")
PER_GOAL = ("Conversions", "ConversionRate", "CostPerConversion", "Revenue", "GoalsRoi")
FIELDS = (*DIMENSIONS, *METRICS)
PARAMS = ("SelectionCriteria", "Goals", "AttributionModels", "FieldNames", "Page", "OrderBy",
          "ReportName", "ReportType", "DateRangeType", "Format", "IncludeVAT",
          "IncludeDiscount")
REQUIRED = ("SelectionCriteria", "FieldNames", "ReportName", "ReportType", "DateRangeType",
            "Format", "IncludeVAT")
FILTER_FIELDS = ("CampaignId", "CampaignType", "AdNetworkType")
OPERATORS = ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN")
MAX_GOALS = 10
ZONE = ZoneInfo("Europe/Moscow")

# code -> (HTTP status, English error_string, Russian error_string)
ERRORS: dict[int, tuple[int, str, str]] = {
    53: (400, "Authorization error", "Ошибка авторизации"),
    54: (400, "No rights", "Нет прав"),
    56: (400, "Exceeded the request limit for the method",
         "Превышен лимит запросов к методу"),
    152: (400, "Insufficient points", "Недостаточно баллов"),
    506: (400, "Exceeded the limit on connections",
          "Превышено ограничение на количество соединений"),
    513: (400, "Your login is not connected to Yandex Direct",
          "Ваш логин не подключен к Яндекс Директу"),
    1000: (500, "Server temporarily unavailable", "Сервер временно недоступен"),
    4000: (400, "Invalid request parameters", "Неверные параметры запроса"),
    8000: (400, "Invalid request", "Некорректный запрос"),
    9000: (400, "Exceeded the limit on the number of reports in the queue",
           "Превышено ограничение на количество отчетов в очереди"),
}


class DirectError(HttpError):
    """An error in Direct's shape: ``{"error": {request_id, error_code, ...}}``."""

    def __init__(self, code: int, detail: str, language: str = "en") -> None:
        status, english, russian = ERRORS.get(code, (400, "Error", "Ошибка"))
        request_id = str(uuid.uuid4().int)[:19]
        body = {"error": {"request_id": request_id, "error_code": str(code),
                          "error_string": russian if language == "ru" else english,
                          "error_detail": detail}}
        super().__init__(status, body, {"RequestId": request_id})


class ServiceEmulator(Emulator):
    """The Direct Reports API on loopback; campaigns and goals from the seed."""

    flavour = "yandex-direct"

    def default_seed(self) -> JSON:
        return {
            "users": [{"login": "marketing-client", "token": "direct-token"},
                      {"login": "our-agency", "token": "agency-token",
                       "clients": ["marketing-client"]}],
            "advertiser": "marketing-client",
            "goals": [1001, 1002],
            "campaigns": [
                {"id": 101, "name": "Поиск — бренд", "type": "TEXT_CAMPAIGN",
                 "networks": ["SEARCH"], "cost": 1500.25, "clicks": 120, "conversions": 4,
                 "price": 2500.0},
                {"id": 102, "name": "РСЯ — ретаргетинг", "type": "TEXT_CAMPAIGN",
                 "networks": ["AD_NETWORK"], "cost": 800.5, "clicks": 300, "conversions": 1,
                 "price": 1800.0},
                {"id": 103, "name": "ЕПК — охват", "type": "UNIFIED_CAMPAIGN",
                 "networks": ["SEARCH", "AD_NETWORK"], "cost": 600.0, "clicks": 50,
                 "conversions": 2, "price": 3000.0},
            ],
            "overrides": [],
        }

    def load_seed(self, seed: JSON) -> None:
        base = self.default_seed()
        merged = {**base, **(seed or {})}
        self.db = {
            "users": [dict(u) for u in merged["users"]],
            "advertiser": merged["advertiser"],
            "goals": [int(g) for g in merged["goals"]],
            "campaigns": [dict(c) for c in merged["campaigns"]],
            "overrides": [dict(o) for o in merged.get("overrides") or []],
            "reports": {},  # advertiser -> ReportName -> {"spec": ..., "ready_at": ...}
        }

    def not_found(self, req: Request) -> Response:
        return DirectError(8000, f"No such service: {req.path}").response

    # --- authentication ---------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        try:
            self._advertiser(req)
        except HttpError as err:
            return err.response
        return None

    def _advertiser(self, req: Request) -> str:
        """The login whose statistics the request reads, or Direct's error."""
        language = _language(req)
        header = (req.header("Authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise DirectError(53, "OAuth token is missing", language)
        user = next((u for u in self.db["users"] if u.get("token") == token.strip()), None)
        if user is None:
            raise DirectError(53, "Invalid OAuth token", language)
        client = (req.header("Client-Login") or "").strip()
        clients = user.get("clients")
        if clients is not None:  # an agency
            if not client:
                raise DirectError(8000, "An agency must give the Client-Login HTTP header",
                                  language)
            if client not in clients:
                raise DirectError(54, f"Advertiser {client} is not a client of the agency",
                                  language)
            return client
        if client and client != user["login"]:
            raise DirectError(54, f"No access to the account {client}", language)
        return str(user["login"])

    # --- the report -------------------------------------------------------------------------
    @route("POST", r"/json/v5/reports")
    def reports(self, req: Request) -> Response:
        language = _language(req)
        login = self._advertiser(req)
        fail_with = self.options.get("fail_with")
        if fail_with:
            raise DirectError(int(fail_with), "The sandbox was asked to fail", language)
        params = _params(req, language)
        headers = _report_headers(req, language)
        spec = self._check(params, language)
        if login != self.db["advertiser"]:
            spec["rows_of"] = None  # another account: no campaigns
        name = params["ReportName"]
        key = json.dumps([params, headers["money"]], sort_keys=True, ensure_ascii=False)
        stored = self.db["reports"].setdefault(login, {})
        now = self.now()
        build = float(self.options.get("build_seconds", 0) or 0)
        offline = headers["mode"] == "offline" or (headers["mode"] == "auto" and build > 0)
        if name in stored:
            if stored[name]["key"] != key:
                raise DirectError(4000, f"A report named {name!r} already exists with other "
                                        "parameters; give each report a unique name", language)
            if now < stored[name]["ready_at"]:
                return self._queued(202, login)
        elif offline:
            limit = int(self.options.get("queue_limit", 5))
            if self._in_queue(login) >= limit:
                raise DirectError(9000, f"At most {limit} reports may wait in the offline "
                                        "queue; ask again later", language)
            stored[name] = {"key": key, "ready_at": now + build}
            return self._queued(201, login)
        return Response(200, self._tsv(params, spec, headers),
                        {"RequestId": str(uuid.uuid4().int)[:19]},
                        content_type="text/tab-separated-values; charset=utf-8")

    def _queued(self, status: int, login: str) -> Response:
        return Response(status, "", {
            "retryIn": str(int(self.options.get("retry_in", 2))),
            "reportsInQueue": str(self._in_queue(login)),
            "RequestId": str(uuid.uuid4().int)[:19]}, content_type="text/plain")

    def _in_queue(self, login: str) -> int:
        now = self.now()
        return sum(1 for r in self.db["reports"].get(login, {}).values() if r["ready_at"] > now)

    def _check(self, p: dict[str, Any], language: str) -> dict[str, Any]:
        """The parameters Direct would accept, as what the report needs; DirectError if not."""
        def bad(detail: str, code: int = 8000) -> DirectError:
            return DirectError(code, detail, language)

        for name in REQUIRED:
            if name not in p:
                raise bad(f"Required field {name} is missing")
        unknown = sorted(set(p) - set(PARAMS))
        if unknown:
            raise bad(f"Unknown field {unknown[0]} in params")
        if not isinstance(p["ReportName"], str) or not p["ReportName"].strip():
            raise bad("ReportName must be a non-empty string")
        if p["ReportType"] not in REPORT_TYPES:
            raise bad(f"ReportType has an invalid value: {p['ReportType']!r}")
        if p["ReportType"] not in SERVED_TYPES:
            raise bad(f"the sandbox serves {', '.join(SERVED_TYPES)}", 4000)
        if p["Format"] != "TSV":
            raise bad(f"Format has an invalid value: {p['Format']!r}")
        for name in ("IncludeVAT", "IncludeDiscount"):
            if name in p and p[name] not in ("YES", "NO"):
                raise bad(f"{name} has an invalid value: {p[name]!r}")
        fields = p["FieldNames"]
        if not isinstance(fields, list) or not fields or \
                not all(isinstance(f, str) for f in fields):
            raise bad("FieldNames must be a non-empty array of strings")
        for field in fields:
            if field not in FIELDS:
                raise bad(f"FieldNames has an invalid value: {field!r}")
        if len(set(fields)) != len(fields):
            raise bad("FieldNames has a repeated value")
        if p["ReportType"] == "ACCOUNT_PERFORMANCE_REPORT":
            campaign = [f for f in fields if f in CAMPAIGN_FIELDS]
            if campaign:
                raise bad(f"Field {campaign[0]} is not allowed in an ACCOUNT_PERFORMANCE_REPORT",
                          4000)
        goals = self._goals(p.get("Goals"), bad)
        models = p.get("AttributionModels")
        if models is not None and (not isinstance(models, list) or not models
                                   or any(m not in ATTRIBUTION_MODELS for m in models)):
            raise bad(f"AttributionModels must be an array of {', '.join(ATTRIBUTION_MODELS)}")
        page = p.get("Page")
        if page is not None and not (isinstance(page, dict) and isinstance(page.get("Limit"), int)
                                     and page["Limit"] > 0):
            raise bad("Page.Limit must be a positive integer")
        days, filters = self._selection(p["SelectionCriteria"], p["DateRangeType"], bad)
        return {"fields": fields, "goals": goals, "models": models or ["AUTO"], "days": days,
                "filters": filters, "vat": p["IncludeVAT"] == "YES",
                "limit": (page or {}).get("Limit"), "offset": (page or {}).get("Offset", 0),
                "rows_of": self.db["advertiser"]}

    def _goals(self, goals: Any, bad: Any) -> list[int]:
        if goals is None:
            return []
        if not isinstance(goals, list) or not goals:
            raise bad("Goals must be a non-empty array of strings")
        if len(goals) > MAX_GOALS:
            raise bad(f"Goals may hold at most {MAX_GOALS} items", 4000)
        found = []
        for goal in goals:
            if not isinstance(goal, str) or not goal.isdigit():
                raise bad(f"Goals has an invalid value: {goal!r} (a string of digits)")
            if int(goal) not in self.db["goals"]:
                raise bad(f"Goal {goal} not found", 4000)
            found.append(int(goal))
        return found

    def _selection(self, criteria: Any, range_type: Any,
                   bad: Any) -> tuple[list[date], list[dict[str, Any]]]:
        if not isinstance(criteria, dict):
            raise bad("SelectionCriteria must be an object")
        unknown = sorted(set(criteria) - {"DateFrom", "DateTo", "Filter"})
        if unknown:
            raise bad(f"Unknown field {unknown[0]} in SelectionCriteria")
        if range_type not in DATE_RANGES:
            raise bad(f"DateRangeType has an invalid value: {range_type!r}")
        given = "DateFrom" in criteria or "DateTo" in criteria
        if range_type == "CUSTOM_DATE":
            if "DateFrom" not in criteria or "DateTo" not in criteria:
                raise bad("DateFrom and DateTo are required with CUSTOM_DATE", 4000)
            start, end = (_day(criteria[k], k, bad) for k in ("DateFrom", "DateTo"))
            if start > end:
                raise bad("DateFrom is later than DateTo", 4000)
        elif given:
            raise bad("DateFrom and DateTo are allowed with CUSTOM_DATE only", 4000)
        else:
            start, end = self._named_range(range_type, bad)
        filters = criteria.get("Filter") or []
        if not isinstance(filters, list):
            raise bad("Filter must be an array")
        for item in filters:
            if not isinstance(item, dict) or set(item) != {"Field", "Operator", "Values"}:
                raise bad("a Filter item has Field, Operator and Values")
            if item["Field"] not in FILTER_FIELDS or item["Operator"] not in OPERATORS:
                raise bad(f"the sandbox filters {', '.join(FILTER_FIELDS)} with "
                          f"{', '.join(OPERATORS)}", 4000)
            if not isinstance(item["Values"], list) or not item["Values"]:
                raise bad("Filter Values must be a non-empty array of strings")
        return [start + timedelta(days=i) for i in range((end - start).days + 1)], filters

    def _named_range(self, range_type: str, bad: Any) -> tuple[date, date]:
        today = datetime.fromtimestamp(self.now(), ZONE).date()
        if range_type == "TODAY":
            return today, today
        if range_type == "YESTERDAY":
            return today - timedelta(days=1), today - timedelta(days=1)
        if range_type.startswith("LAST_") and range_type.endswith("_DAYS"):
            count = int(range_type.split("_")[1])
            return today - timedelta(days=count), today - timedelta(days=1)
        raise bad(f"the sandbox does not serve DateRangeType {range_type}", 4000)

    # --- numbers ----------------------------------------------------------------------------
    def _day_rows(self, spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """One row per campaign, network and day of the report, before grouping."""
        if spec["rows_of"] is None:
            return
        goals = self.db["goals"]
        for campaign in self.db["campaigns"]:
            for network in campaign.get("networks", ["SEARCH"]):
                row_keys = {"CampaignId": str(campaign["id"]),
                            "CampaignName": str(campaign.get("name", "")),
                            "CampaignType": str(campaign.get("type", "TEXT_CAMPAIGN")),
                            "AdNetworkType": network}
                if not _passes(row_keys, spec["filters"]):
                    continue
                for day in spec["days"]:
                    if not _active(campaign, day):
                        continue
                    yield {**row_keys, "Date": day.isoformat(),
                           **self._values(campaign, network, day, goals)}

    def _values(self, campaign: dict[str, Any], network: str, day: date,
                goals: list[int]) -> dict[str, Any]:
        clicks = float(campaign.get("clicks", 100)) + day.day
        values: dict[str, Any] = {
            "Clicks": clicks, "Impressions": 20 * clicks,
            "Cost": float(campaign.get("cost", 1000.0)) + day.day,
            "conversions": {g: float(campaign.get("conversions", 1)) + (day.day + i) % 3
                            for i, g in enumerate(goals)},
        }
        values["revenue"] = {g: c * float(campaign.get("price", 1000.0))
                             for g, c in values["conversions"].items()}
        for override in self.db["overrides"]:
            if (override.get("date") == day.isoformat()
                    and str(override.get("campaign")) == str(campaign["id"])
                    and override.get("network", network) == network):
                for name in ("Clicks", "Impressions", "Cost"):
                    if name in override:
                        values[name] = float(override[name])
                if "Conversions" in override:
                    values["conversions"] = dict.fromkeys(goals, float(override["Conversions"]))
                if "Revenue" in override:
                    values["revenue"] = dict.fromkeys(goals, float(override["Revenue"]))
        return values

    def _tsv(self, params: dict[str, Any], spec: dict[str, Any], headers: dict[str, Any]) -> str:
        fields: list[str] = spec["fields"]
        dims = [f for f in fields if f in DIMENSIONS]
        groups: dict[tuple[str, ...], dict[str, Any]] = {}
        for row in self._day_rows(spec):
            key = tuple(row[d] for d in dims)
            group = groups.setdefault(key, {"Clicks": 0.0, "Impressions": 0.0, "Cost": 0.0,
                                            "conversions": {}, "revenue": {}})
            for name in ("Clicks", "Impressions", "Cost"):
                group[name] += row[name]
            for which in ("conversions", "revenue"):
                for goal, value in row[which].items():
                    group[which][goal] = group[which].get(goal, 0.0) + value
        vat = 1.0 if spec["vat"] else 1 + float(self.options.get("vat_rate", 0.22))
        columns: list[str] = []
        for field in fields:
            if field in PER_GOAL and spec["goals"]:
                columns += [f"{field}_{g}_{m}" for g in spec["goals"] for m in spec["models"]]
            else:
                columns.append(field)
        lines = []
        for key in sorted(groups):
            group = groups[key]
            if not group["Impressions"]:
                continue
            cells = []
            for field in fields:
                if field in DIMENSIONS:
                    cells.append(key[dims.index(field)])
                elif field in PER_GOAL and spec["goals"]:
                    for goal in spec["goals"]:
                        cells += [_metric(field, group, [goal], vat, headers["money"])
                                  ] * len(spec["models"])
                else:
                    cells.append(_metric(field, group, self.db["goals"], vat, headers["money"]))
            lines.append("\t".join(cells))
        offset, limit = int(spec["offset"] or 0), spec["limit"]
        lines = lines[offset:offset + limit if limit else None]
        out = []
        if not headers["skip_title"]:
            out.append(f"{params['ReportName']} ({spec['days'][0]} - {spec['days'][-1]})")
        if not headers["skip_columns"]:
            out.append("\t".join(columns))
        out += lines
        if not headers["skip_summary"]:
            out.append(f"Total rows: {len(lines)}")
        return "\n".join(out) + "\n"


def _metric(field: str, group: dict[str, Any], goals: list[int], vat: float,
            micros: bool) -> str:
    clicks, impressions, cost = group["Clicks"], group["Impressions"], group["Cost"] / vat
    have_goals = bool(goals)
    conversions = sum(group["conversions"].get(g, 0.0) for g in goals)
    revenue = sum(group["revenue"].get(g, 0.0) for g in goals)

    def money(value: float) -> str:
        return str(round(value * 1_000_000)) if micros else f"{value:.2f}"

    match field:
        case "Clicks" | "Impressions":
            return str(int(group[field]))
        case "Cost":
            return money(cost)
        case "Ctr":
            return f"{clicks / impressions * 100:.2f}" if impressions else "--"
        case "AvgCpc":
            return money(cost / clicks) if clicks else "--"
        case "Conversions":
            return str(int(conversions)) if have_goals else "--"
        case "ConversionRate":
            return f"{conversions / clicks * 100:.2f}" if have_goals and clicks else "--"
        case "CostPerConversion":
            return money(cost / conversions) if have_goals and conversions else "--"
        case "Revenue":
            return money(revenue) if have_goals else "--"
        case "GoalsRoi":
            return f"{(revenue - cost) / cost:.2f}" if have_goals and cost else "--"
    return "--"


def _passes(row: dict[str, str], filters: list[dict[str, Any]]) -> bool:
    for item in filters:
        value, values = row[item["Field"]], [str(v) for v in item["Values"]]
        inside = value in values
        if item["Operator"] in ("EQUALS", "IN") and not inside:
            return False
        if item["Operator"] in ("NOT_EQUALS", "NOT_IN") and inside:
            return False
    return True


def _active(campaign: dict[str, Any], day: date) -> bool:
    start, end = campaign.get("start"), campaign.get("end")
    return not ((start and day < date.fromisoformat(start))
                or (end and day > date.fromisoformat(end)))


def _day(value: Any, name: str, bad: Any) -> date:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise bad(f"{name} must be a date YYYY-MM-DD, got {value!r}", 4000) from None


def _language(req: Request) -> str:
    return "ru" if (req.header("Accept-Language") or "").lower().startswith("ru") else "en"


def _params(req: Request, language: str) -> dict[str, Any]:
    try:
        document = json.loads(req.body or b"null")
    except ValueError:
        raise DirectError(8000, "The request body is not valid JSON", language) from None
    if not isinstance(document, dict) or not isinstance(document.get("params"), dict):
        raise DirectError(8000, "Required field params is missing", language)
    unknown = sorted(set(document) - {"params"})
    if unknown:
        raise DirectError(8000, f"Unknown field {unknown[0]}", language)
    params: dict[str, Any] = document["params"]
    return params


def _report_headers(req: Request, language: str) -> dict[str, Any]:
    mode = (req.header("processingMode") or "auto").strip()
    if mode not in ("online", "offline", "auto"):
        raise DirectError(8000, f"processingMode has an invalid value: {mode!r}", language)
    flags = {}
    for name in ("returnMoneyInMicros", "skipReportHeader", "skipColumnHeader",
                 "skipReportSummary"):
        value = req.header(name)
        if value is not None and value.strip().lower() not in ("true", "false"):
            raise DirectError(8000, f"{name} has an invalid value: {value!r}", language)
        flags[name] = None if value is None else value.strip().lower() == "true"
    return {"mode": mode, "money": flags["returnMoneyInMicros"] is not False,
            "skip_title": bool(flags["skipReportHeader"]),
            "skip_columns": bool(flags["skipColumnHeader"]),
            "skip_summary": bool(flags["skipReportSummary"])}
