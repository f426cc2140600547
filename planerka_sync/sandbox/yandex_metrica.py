"""The Yandex Metrica Reporting API's ``GET /stat/v1/data`` as the documentation describes it,
answering totals (no dimensions) from deterministic day-level data.

Requests: ``ids`` (or the obsolete ``id``) and ``metrics`` are required (``missing_parameter``);
at most 20 metrics; ``date1``/``date2`` as YYYY-MM-DD, ``today``, ``yesterday`` or ``NdaysAgo``
(defaults ``6daysAgo`` and ``today``, in the counter's time zone by the sandbox clock), date1 not
after date2; ``accuracy`` low | medium | high | full | a share in (0, 1]; ``filters`` up to
10,000 characters, of which the sandbox understands one traffic-source condition,
``ym:s:<attribution>TrafficSource==/!= 'organic' | 'direct'`` (any attribution model; the
sandbox's visits have one source each). A parameter the API does not have, a metric it does not
have, a goal the counter does not have or ``dimensions`` (the sandbox answers totals only) is
``400 invalid_parameter``.

Authentication: ``Authorization: OAuth <token>`` (an ``oauth_token`` in the URL is not accepted
since 2019). No header: ``401 unauthorized``; a token the seed does not know: ``403
invalid_token`` "Invalid oauth_token"; a counter the token may not read, or that does not
exist: ``403 access_denied``. Every error has the API's shape
``{"errors": [{"error_type", "message"}], "code", "message"}``.

Quotas (options): ``requests_per_second`` per client address (default 30, then ``429
quota_requests_by_ip``) and ``requests_per_day`` per token (default 5000, then ``429
quota_requests_by_uid`` until 00:00 UTC). :func:`quota_error` builds the body for a fault.

Sampling: a report over more than ``sampling_threshold`` sessions (option, default 500,000, as
Metrica's help says) asked with an accuracy below full is computed on a share of them: low 0.01,
medium 0.1, high 0.1, a number rounded to a power of ten. A counter's ``max_share`` (seed)
caps the share even for ``full`` (a counter too large for unsampled reports). A sampled total
is ``floor(total * share) / share``; rates and averages come from the sampled totals.

The day data. For a day ``d`` (``i = d.day``, ``m = d.month``) and goal ``j`` (0-based place in
the counter's ``goals``), per traffic source::

    direct:   visits = 700 + 20 i + m     bounces = 150 + 3 i    pageviews = 2 visits + i
              duration = 90 visits        returning = 400 + i    new = 100 + 2 i
              reaches[j] = 5 (j + 1) + i % 3
    organic:  visits = 300 + 10 i         bounces = 40 + i       pageviews = 4 visits
              duration = 150 visits       returning = 150 + i    new = 60 + i
              reaches[j] = 3 (j + 1) + i % 5

A seed may override any of these for a day: ``days: {"2026-12-14": {"direct": {"visits":
1000000}}}`` (reaches as ``reaches: [..]``). Over the days asked (and the sources the filter
keeps), as the API aggregates:

    ym:s:visits                  sum visits
    ym:s:pageviews               sum pageviews
    ym:s:users                   per source: max(returning) + sum(new)  (returning visitors
                                 are one pool per source, each day's new ones are new), added
    ym:s:newUsers                sum new
    ym:s:bounceRate              100 * sum bounces / sum visits     (percents)
    ym:s:pageDepth               sum pageviews / sum visits
    ym:s:avgVisitDurationSeconds sum duration / sum visits
    ym:s:goal<G>reaches          sum reaches[G]
    ym:s:goal<G>visits           sum reaches[G]  (one reach per converted session)
    ym:s:goal<G>conversionRate   100 * sum reaches[G] / sum visits  (percents)

(a ratio over no visits is 0). Several counters in ``ids`` add up (their visitors are distinct).

Documentation: https://yandex.com/dev/metrika/en/stat/openapi/data,
https://www.yandex.com/dev/metrika/en/stat/sampling,
https://tech.yandex.com.tr/metrika/doc/api2/management/concept/errors-docpage/,
https://yandex.com/dev/metrika/doc/api2/intro/quotas.html.
"""

from __future__ import annotations

import math
import re
from collections import deque
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from planerka_sync.sandbox.core import JSON, Emulator, HttpError, Request, Response, route

TOKEN = "sandbox-metrica-token"
COUNTER = 44147844
OTHER_COUNTER = 2215573  # exists, but TOKEN may not read it
GOALS = [1001, 1002]
SOURCES = ("direct", "organic")
MAX_METRICS = 20
MAX_FILTER = 10_000

PARAMETERS = {
    "ids", "id", "metrics", "dimensions", "date1", "date2", "filters", "accuracy", "sort",
    "limit", "offset", "lang", "pretty", "include_undefined", "preset", "timezone",
    "direct_client_logins", "proposed_accuracy", "callback", "goal_id", "attribution",
    "currency", "group",
}
_RELATIVE = re.compile(r"(\d+)daysAgo")
_FILTER = re.compile(
    r"\s*ym:s:(?P<attr>[a-z_]*|<attribution>)(?P<name>TrafficSource|trafficSource)"
    r"\s*(?P<op>==|!=)\s*'(?P<value>[a-z]+)'\s*")
_ATTRIBUTIONS = {"", "last", "first", "lastsign", "last_yandex_direct_click", "automatic",
                 "cross_device_first", "cross_device_last", "cross_device_last_significant",
                 "cross_device_last_yandex_direct_click", "<attribution>"}
_GOAL_METRIC = re.compile(r"ym:s:goal(\d+|<goal_id>)(reaches|visits|conversionRate)")
PLAIN_METRICS = ("ym:s:visits", "ym:s:pageviews", "ym:s:users", "ym:s:newUsers",
                 "ym:s:bounceRate", "ym:s:pageDepth", "ym:s:avgVisitDurationSeconds")
ACCURACY_SHARES = {"low": 0.01, "medium": 0.1, "high": 0.1, "full": 1.0}


def error_body(status: int, error_type: str, message: str) -> dict[str, Any]:
    """Metrica's error answer."""
    return {"errors": [{"error_type": error_type, "message": message}], "code": status,
            "message": message}


def quota_error(error_type: str = "quota_requests_by_uid") -> dict[str, Any]:
    """The 429 body of a quota, for a fault: ``{"status": 429, "body": quota_error(...)}``."""
    messages = {
        "quota_requests_by_uid": "Quota exceeded: requests per day for the user",
        "quota_requests_by_ip": "Quota exceeded: requests per second from the IP address",
        "quota_parallel_requests": "Quota exceeded: parallel requests for the user",
        "quota_requests_by_counter_id": "Quota exceeded: requests per day for the counter",
        "quota_delegate_requests": "Quota exceeded: representatives added per hour",
    }
    return error_body(429, error_type, messages.get(error_type, "Quota exceeded"))


def fail(status: int, error_type: str, message: str) -> HttpError:
    return HttpError(status, error_body(status, error_type, message))


def day_data(day: date, source: str, goals: list[int]) -> dict[str, Any]:
    """The documented function of a day (before a seed's overrides)."""
    i, m = day.day, day.month
    if source == "direct":
        visits = 700 + 20 * i + m
        return {"visits": visits, "bounces": 150 + 3 * i, "pageviews": 2 * visits + i,
                "duration": 90 * visits, "returning": 400 + i, "new": 100 + 2 * i,
                "reaches": [5 * (j + 1) + i % 3 for j in range(len(goals))]}
    visits = 300 + 10 * i
    return {"visits": visits, "bounces": 40 + i, "pageviews": 4 * visits,
            "duration": 150 * visits, "returning": 150 + i, "new": 60 + i,
            "reaches": [3 * (j + 1) + i % 5 for j in range(len(goals))]}


class ServiceEmulator(Emulator):
    """Yandex Metrica's Reporting API (totals of /stat/v1/data)."""

    flavour = "yandex-metrica"

    def __init__(self, seed: JSON | None = None, options: dict[str, Any] | None = None) -> None:
        self._seconds: dict[str, deque[float]] = {}
        self._days: dict[tuple[str, date], int] = {}
        super().__init__(seed, options)
        self.options.setdefault("requests_per_second", 30)
        self.options.setdefault("requests_per_day", 5000)
        self.options.setdefault("sampling_threshold", 500_000)

    # --- seed -----------------------------------------------------------------------------
    def default_seed(self) -> JSON:
        return {
            "counters": {
                str(COUNTER): {"timezone": "Europe/Moscow", "goals": GOALS},
                str(OTHER_COUNTER): {"timezone": "Europe/Moscow", "goals": []},
            },
            "tokens": {TOKEN: [COUNTER]},
        }

    def load_seed(self, seed: JSON) -> None:
        counters = {}
        for key, spec in (seed.get("counters") or {}).items():
            counters[int(key)] = {
                "timezone": spec.get("timezone", "Europe/Moscow"),
                "goals": [int(g) for g in spec.get("goals", [])],
                "days": {date.fromisoformat(d): v for d, v in (spec.get("days") or {}).items()},
                "max_share": float(spec.get("max_share", 1.0)),
            }
        self.db = {"counters": counters,
                   "tokens": {t: [int(c) for c in ids]
                              for t, ids in (seed.get("tokens") or {}).items()}}

    def snapshot(self) -> JSON:
        with self.lock:
            return {"counters": {str(k): {**v, "days": {d.isoformat(): x
                                                        for d, x in v["days"].items()}}
                                 for k, v in self.db["counters"].items()},
                    "tokens": self.db["tokens"]}

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._seconds.clear()
            self._days.clear()

    # --- front door -----------------------------------------------------------------------
    def not_found(self, req: Request) -> Response:
        return Response(404, error_body(404, "not_found", f"No handler for {req.path}"))

    def authenticate(self, req: Request) -> Response | None:
        header = (req.header("Authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "oauth" or not token.strip():
            message = ("Authorization required: send the token in the Authorization header"
                       if "oauth_token" not in req.query else
                       "OAuth token in URL parameters is not accepted; use the Authorization "
                       "header")
            return Response(401, error_body(401, "unauthorized", message))
        token = token.strip()
        if token not in self.db["tokens"]:
            return Response(403, error_body(403, "invalid_token", "Invalid oauth_token"))
        return self._quota(req, token)

    def _quota(self, req: Request, token: str) -> Response | None:
        now = self.now()
        address = req.header("X-Forwarded-For") or "client"
        with self.lock:
            window = self._seconds.setdefault(address, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= int(self.options["requests_per_second"]):
                return Response(429, quota_error("quota_requests_by_ip"))
            window.append(now)
            day = (token, datetime.fromtimestamp(now, UTC).date())
            if self._days.get(day, 0) >= int(self.options["requests_per_day"]):
                return Response(429, quota_error("quota_requests_by_uid"))
            self._days[day] = self._days.get(day, 0) + 1
        return None

    # --- the report -----------------------------------------------------------------------
    @route("GET", r"/stat/v1/data")
    def data(self, req: Request) -> JSON:
        unknown = sorted(set(req.query) - PARAMETERS)
        if unknown:
            raise fail(400, "invalid_parameter", f"Unknown parameter: {unknown[0]}")
        token = (req.header("Authorization") or "").split(None, 1)[1].strip()
        ids = self._ids(req.arg("ids") or req.arg("id"), token)
        metrics = self._metrics(req.arg("metrics"), ids)
        if req.arg("dimensions"):
            raise fail(400, "invalid_parameter",
                       "Wrong parameter: 'dimensions' (the sandbox answers totals only)")
        zone = ZoneInfo(self.db["counters"][ids[0]]["timezone"])
        today = datetime.fromtimestamp(self.now(), zone).date()
        first = self._date(req.arg("date1", "6daysAgo"), "date1", today)
        last = self._date(req.arg("date2", "today"), "date2", today)
        if first > last:
            raise fail(400, "invalid_parameter",
                       f"Wrong parameter: date1 {first} is after date2 {last}")
        sources = self._sources(req.arg("filters"))
        share = self._share(req.arg("accuracy", "medium") or "medium")
        base = self._aggregate(ids, first, last, sources)
        space = base["visits"]
        share = min([share, *(self.db["counters"][c]["max_share"] for c in ids)])
        if space <= int(self.options["sampling_threshold"]) or share >= 1:
            share = 1.0
        sampled = share < 1
        if sampled:
            base = {k: (_sampled(v, share) if k != "reaches" else
                        {g: _sampled(n, share) for g, n in v.items()})
                    for k, v in base.items()}
        totals = [self._value(name, base) for name in metrics]
        return {
            "query": {"ids": ids, "dimensions": [], "metrics": metrics, "sort": [],
                      "date1": first.isoformat(), "date2": last.isoformat(),
                      **({"filters": req.arg("filters")} if req.arg("filters") else {}),
                      "limit": 100, "offset": 1, "group": "Week", "auto_group_size": "1",
                      "quantile": "50", "attribution": "LastSign", "currency": "RUB"},
            "data": [{"dimensions": [], "metrics": totals}],
            "total_rows": 1, "total_rows_rounded": False, "sampled": sampled,
            "contains_sensitive_data": False, "sample_share": share,
            "sample_size": math.floor(space * share), "sample_space": space,
            "data_lag": 0, "totals": totals, "min": totals, "max": totals,
        }

    def _ids(self, text: str | None, token: str) -> list[int]:
        if not text:
            raise fail(400, "missing_parameter", "Required parameter 'ids' is not present")
        try:
            ids = [int(part) for part in text.split(",")]
        except ValueError:
            raise fail(400, "invalid_parameter", f"Wrong parameter: 'ids', value: {text}") \
                from None
        allowed = self.db["tokens"].get(token, [])
        for counter in ids:
            if counter not in self.db["counters"] or counter not in allowed:
                raise fail(403, "access_denied", "Access is denied")
        return ids

    def _metrics(self, text: str | None, ids: list[int]) -> list[str]:
        if not text:
            raise fail(400, "missing_parameter", "Required parameter 'metrics' is not present")
        names = [n.strip() for n in text.split(",")]
        if len(names) > MAX_METRICS:
            raise fail(400, "invalid_parameter",
                       f"Too many metrics: {len(names)}, the limit is {MAX_METRICS}")
        for name in names:
            goal = _GOAL_METRIC.fullmatch(name)
            if goal is None and name not in PLAIN_METRICS:
                raise fail(400, "invalid_parameter",
                           f"Wrong parameter: 'metrics', value: '{name}'")
            if goal is not None:
                if not goal.group(1).isdigit():
                    raise fail(400, "invalid_parameter",
                               f"Wrong parameter: 'metrics', value: '{name}' (goal_id not set)")
                if not any(int(goal.group(1)) in self.db["counters"][c]["goals"] for c in ids):
                    raise fail(400, "invalid_parameter",
                               f"Wrong parameter: 'metrics', value: '{name}' "
                               f"(no goal {goal.group(1)} in the counter)")
        return names

    def _date(self, text: str | None, name: str, today: date) -> date:
        value = (text or "").strip()
        if value == "today":
            return today
        if value == "yesterday":
            return today - timedelta(days=1)
        relative = _RELATIVE.fullmatch(value)
        if relative:
            return today - timedelta(days=int(relative.group(1)))
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise fail(400, "invalid_parameter",
                       f"Wrong parameter: '{name}', value: '{value}'") from None

    def _sources(self, text: str | None) -> tuple[str, ...]:
        if text is None or not text.strip():
            return SOURCES
        if len(text) > MAX_FILTER:
            raise fail(400, "filter_limits",
                       f"The filter is longer than {MAX_FILTER} characters")
        found = _FILTER.fullmatch(text)
        if found is None or found.group("attr") not in _ATTRIBUTIONS or \
                (found.group("name") == "trafficSource" and found.group("attr")):
            raise fail(400, "invalid_parameter", f"Wrong parameter: 'filters', value: '{text}'")
        value = found.group("value")
        if found.group("op") == "==":
            return tuple(s for s in SOURCES if s == value)
        return tuple(s for s in SOURCES if s != value)

    def _share(self, text: str) -> float:
        if text in ACCURACY_SHARES:
            return ACCURACY_SHARES[text]
        try:
            value = float(text)
        except ValueError:
            raise fail(400, "invalid_parameter",
                       f"Wrong parameter: 'accuracy', value: '{text}'") from None
        if not 0 < value <= 1:
            raise fail(400, "invalid_parameter", f"Wrong parameter: 'accuracy', value: '{text}'")
        return min(1.0, 10.0 ** round(math.log10(value)))

    def _aggregate(self, ids: list[int], first: date, last: date,
                   sources: tuple[str, ...]) -> dict[str, Any]:
        """Sums over the days and sources, and the users of each source's pool."""
        total: dict[str, Any] = {"visits": 0, "bounces": 0, "pageviews": 0, "duration": 0,
                                 "new": 0, "users": 0, "reaches": {}}
        for counter in ids:
            spec = self.db["counters"][counter]
            goals = spec["goals"]
            for source in sources:
                returning = 0
                for day in _days(first, last):
                    row = day_data(day, source, goals)
                    row.update((spec["days"].get(day) or {}).get(source) or {})
                    for key in ("visits", "bounces", "pageviews", "duration", "new"):
                        total[key] += row[key]
                    returning = max(returning, row["returning"])
                    for goal, reaches in zip(goals, row["reaches"], strict=False):
                        total["reaches"][goal] = total["reaches"].get(goal, 0) + reaches
                total["users"] += returning  # each source's pool of returning visitors
        total["users"] += total["new"]
        return total

    def _value(self, name: str, base: dict[str, Any]) -> float:
        visits = base["visits"]

        def per_visit(value: float) -> float:
            return value / visits if visits else 0.0

        match name:
            case "ym:s:visits":
                return float(visits)
            case "ym:s:pageviews":
                return float(base["pageviews"])
            case "ym:s:users":
                return float(base["users"])
            case "ym:s:newUsers":
                return float(base["new"])
            case "ym:s:bounceRate":
                return 100 * per_visit(base["bounces"])
            case "ym:s:pageDepth":
                return per_visit(base["pageviews"])
            case "ym:s:avgVisitDurationSeconds":
                return per_visit(base["duration"])
        goal = _GOAL_METRIC.fullmatch(name)
        assert goal is not None  # checked by _metrics
        reaches = float(base["reaches"].get(int(goal.group(1)), 0))
        return 100 * per_visit(reaches) if goal.group(2) == "conversionRate" else reaches


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _sampled(value: float, share: float) -> float:
    return math.floor(value * share) / share
