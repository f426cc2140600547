"""Google Analytics 4: the Data API's ``properties.runReport``, through the official
``google-analytics-data`` client library (REST transport), read with a service account.

What a report asks: for the period's days (the window's local dates, both included), one
``runReport`` per group of fields that share a filter, with no dimensions, so each answer is one
row of totals over the days. GA4 counts days in the property's reporting time zone (Admin ->
Property details): keep it the team's zone, or a day's visits land in the neighbouring period;
when the answer's ``metadata.timeZone`` differs from the team's, the pull carries a note.

A field (the values of ``metrics`` in the settings) is a GA4 API metric name, optionally with a
dimension filter, or the ratio of two such terms::

    sessions
    sessions[sessionDefaultChannelGroup=Organic Search]
    keyEvents[eventName=purchase|sign_up]
    keyEvents / sessions

``keyEvents`` without a filter counts the configured ``key_events`` only (an ``eventName``
in-list filter), or every key event when none are configured. GA4 already answers rates as
fractions (``bounceRate`` 0.2761 is 27.61 %), which is how "%" metrics are stored; durations
are converted to seconds from the metric's type (TYPE_MILLISECONDS, TYPE_MINUTES, TYPE_HOURS).

conversion_rate is ``keyEvents / sessions`` by default: the share the marketing KPI set's
formula ``conversions / sessions`` computes, counting the configured key events. GA4's own
``sessionKeyEventRate`` (the share of sessions with at least one key event, any key event) is
one override away: ``metrics: {conversion_rate: sessionKeyEventRate}``. (In the built-in
marketing set conversion_rate is derived, so the source is not asked for it there.)

Failures, per metric, never raised: HTTP 401 / UNAUTHENTICATED and a key the token endpoint
refuses are ``denied:401``; 403 PERMISSION_DENIED ``denied:403`` (the service account is not a
user of the property, or the API is not enabled in its Cloud project); RESOURCE_EXHAUSTED /
429 (and a 403 whose reason is a rate limit) ``quota``; other statuses ``http:<status>``.
The library retries a 503 within the source's time-out only; every request (the token exchange
included) is bounded by ``timeout``.

Official references this module follows:
- https://developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/properties/runReport
- https://developers.google.com/analytics/devguides/reporting/data/v1/basics
- https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema
- https://developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/MetricType
- https://developers.google.com/analytics/devguides/reporting/data/v1/quotas
- https://developers.google.com/analytics/devguides/reporting/data/v1/property-id
- https://developers.google.com/identity/protocols/oauth2/service-account
- https://cloud.google.com/apis/design/errors (the google.rpc.Status error shape)
- https://googleapis.dev/python/analyticsdata/latest/ (the Python client library)
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import SourceFailure, http_failure

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
DEFAULT_HOST = "analyticsdata.googleapis.com"
INSTALL_HINT = "pip install 'planerka-sync[ga4]'"
MAX_METRICS = 10  # metrics per runReport request (the API's limit)

# metric id -> GA4 field (see the module's docstring for the syntax).
DEFAULT_METRICS: dict[str, str] = {
    "sessions": "sessions",
    "unique_visitors": "totalUsers",
    "bounce_rate": "bounceRate",
    "time_on_site_s": "averageSessionDuration",
    "page_depth": "screenPageViewsPerSession",
    "conversions": "keyEvents",
    "conversion_rate": "keyEvents / sessions",
    "organic_sessions": "sessions[sessionDefaultChannelGroup=Organic Search]",
}

# Metrics that are counts: an answer with no row (nothing matched the days or the filter) means
# 0 of them; an average or a rate of nothing has no value.
COUNTS = {"sessions", "engagedSessions", "totalUsers", "activeUsers", "newUsers",
          "screenPageViews", "eventCount", "keyEvents", "conversions", "transactions",
          "ecommercePurchases", "purchaseRevenue", "totalRevenue", "userEngagementDuration"}
TO_SECONDS = {"TYPE_MILLISECONDS": 0.001, "TYPE_MINUTES": 60.0, "TYPE_HOURS": 3600.0}
# MetricType by number, as the REST transport's int enum encoding answers it.
METRIC_TYPES = {0: "METRIC_TYPE_UNSPECIFIED", 1: "TYPE_INTEGER", 2: "TYPE_FLOAT",
                4: "TYPE_SECONDS", 5: "TYPE_MILLISECONDS", 6: "TYPE_MINUTES", 7: "TYPE_HOURS",
                8: "TYPE_STANDARD", 9: "TYPE_CURRENCY", 10: "TYPE_FEET", 11: "TYPE_MILES",
                12: "TYPE_METERS", 13: "TYPE_KILOMETERS"}

_NAME = r"[A-Za-z][A-Za-z0-9_]*(?::[A-Za-z0-9_.\-]+)?"
_TERM = re.compile(
    rf"\s*(?P<metric>{_NAME})\s*(?:\[\s*(?P<dim>{_NAME})\s*=(?P<values>[^\[\]]*)\])?\s*")
_METRIC_ID = re.compile(r"[a-z][a-z0-9_]*")


# --- fields: what a metric is read from ------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One GA4 metric, over the sessions/events whose ``dimension`` is one of ``values``."""

    metric: str
    dimension: str | None = None
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.dimension is None:
            return self.metric
        return f"{self.metric}[{self.dimension}={'|'.join(self.values)}]"

    def filter_key(self) -> tuple[str | None, tuple[str, ...]]:
        return self.dimension, self.values


@dataclass(frozen=True)
class Ga4Field:
    """A term, or the ratio of two (``keyEvents / sessions``)."""

    numerator: Term
    denominator: Term | None = None

    def __str__(self) -> str:
        if self.denominator is None:
            return str(self.numerator)
        return f"{self.numerator} / {self.denominator}"

    def terms(self) -> tuple[Term, ...]:
        return (self.numerator,) if self.denominator is None else (self.numerator,
                                                                   self.denominator)


def parse_field(text: str) -> Ga4Field:
    """'sessions', 'sessions[sessionDefaultChannelGroup=Organic Search]', 'a / b'. ValueError
    with what is wrong otherwise."""
    parts = text.split("/")
    if len(parts) > 2:
        raise ValueError(f"{text!r}: one '/' at most (a ratio of two GA4 metrics)")
    terms = [_parse_term(part, text) for part in parts]
    return Ga4Field(terms[0], terms[1] if len(terms) == 2 else None)


def _parse_term(part: str, whole: str) -> Term:
    match = _TERM.fullmatch(part)
    if match is None:
        raise ValueError(
            f"{whole!r}: expected a GA4 metric name such as sessions, optionally with a filter "
            f"such as sessions[sessionDefaultChannelGroup=Organic Search]")
    if match["dim"] is None:
        return Term(match["metric"])
    values = tuple(v.strip() for v in match["values"].split("|"))
    if not all(values):
        raise ValueError(f"{whole!r}: an empty value in the filter [{match['dim']}=...]")
    return Term(match["metric"], match["dim"], values)


def metric_value(raw: str, metric_type: str | int) -> float:
    """A ``metricValues[].value`` string as the number stored: durations in seconds, rates as
    the fractions GA4 answers. ValueError for anything but a finite number."""
    kind = METRIC_TYPES.get(metric_type, str(metric_type)) if isinstance(metric_type, int) \
        else metric_type
    if not re.fullmatch(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*", raw):
        raise ValueError(f"not a number: {raw[:40]!r}")
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {raw[:40]!r}")
    return value * TO_SECONDS.get(kind, 1.0)


def _normalize_property(value: str) -> str:
    found = re.fullmatch(r"\s*(?:properties/)?(\d{1,20})\s*", str(value))
    if found is None:
        raise ValueError(f"{value!r} is not a GA4 property id: the number in Admin -> Property "
                         f"details (e.g. 123456789), not the G-XXXX measurement id")
    return found[1]


# --- settings --------------------------------------------------------------------------------


class Ga4Settings(SourceSettings):
    """A GA4 property read with a service account."""

    kind: Literal["google-analytics-4"]
    property: str = Field(description="the property id, e.g. 123456789")
    credentials: SecretStr | None = Field(
        None, description="the service account's JSON key itself, e.g. ${GA4_CREDENTIALS_JSON}; "
                          "default: Application Default Credentials")
    key_events: list[str] = Field(
        default_factory=list,
        description="event names counted as conversions (default: every key event)")
    endpoint: str | None = Field(
        None, description="API endpoint, e.g. the sandbox's http://127.0.0.1:PORT")
    metrics: dict[str, str] = Field(
        default_factory=dict,
        description="metric id -> GA4 field, over the defaults (sessions: sessions, "
                    "unique_visitors: totalUsers, bounce_rate: bounceRate, time_on_site_s: "
                    "averageSessionDuration, page_depth: screenPageViewsPerSession, "
                    "conversions: keyEvents, conversion_rate: keyEvents / sessions, "
                    "organic_sessions: sessions[sessionDefaultChannelGroup=Organic Search]); "
                    "an empty value drops a default")

    @field_validator("property", mode="before")
    @classmethod
    def _property_id(cls, value: Any) -> str:
        return _normalize_property(str(value))

    @field_validator("metrics")
    @classmethod
    def _fields(cls, value: dict[str, str]) -> dict[str, str]:
        for metric, text in value.items():
            if not _METRIC_ID.fullmatch(metric):
                raise ValueError(f"{metric!r} is not a metric id (a-z, 0-9, _)")
            if text.strip():
                parse_field(text)
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(https?://)?[^/\s]+/?", value.strip()):
            raise ValueError(f"{value!r}: expected a host[:port], optionally with http:// or "
                             f"https://, and no path")
        return value

    def fields(self) -> dict[str, Ga4Field]:
        """metric id -> what it is read from, the key events applied to a bare keyEvents."""
        mapping = {**DEFAULT_METRICS, **self.metrics}
        return {metric: self._with_key_events(parse_field(text))
                for metric, text in mapping.items() if text.strip()}

    def _with_key_events(self, field: Ga4Field) -> Ga4Field:
        def apply(term: Term | None) -> Term | None:
            if term is None or term.metric != "keyEvents" or term.dimension or \
                    not self.key_events:
                return term
            return Term("keyEvents", "eventName", tuple(self.key_events))
        numerator = apply(field.numerator)
        assert numerator is not None
        return Ga4Field(numerator, apply(field.denominator))

    def label(self) -> str:
        return f"Google Analytics 4 {self.property}"


# --- the source ------------------------------------------------------------------------------


class _Abort(Exception):
    """The remaining requests would fail the same way (credentials, network, quota)."""

    def __init__(self, failure: SourceFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


@dataclass
class _Answer:
    values: dict[Term, float | SourceFailure]
    notes: list[str]


class Source:
    """GA4 totals of the window's days, per metric of ``fields()``."""

    def __init__(self, settings: Ga4Settings) -> None:
        self.settings = settings

    def provides(self) -> dict[str, str]:
        return {metric: str(field) for metric, field in self.settings.fields().items()}

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        fields = {m: f for m, f in self.settings.fields().items() if m in wanted}
        if not fields:
            return Pulled()
        terms = list(dict.fromkeys(t for f in fields.values() for t in f.terms()))
        answer = self._ask(terms, window.start.isoformat(), window.end.isoformat())
        if isinstance(answer, SourceFailure):
            return Pulled.failed(fields, answer)
        pulled = Pulled(notes=[_zone_advice(n) for n in answer.notes
                               if not _same_zone(n, window.timezone)])
        for metric, field in fields.items():
            result = _combine(field, answer.values)
            if isinstance(result, SourceFailure):
                pulled.failures[metric] = result
            else:
                pulled.values[metric] = result
        return pulled

    def probe(self) -> SourceFailure | None:
        """The report's requests for yesterday (in the property's zone): proves the key, the
        property's access and every configured field."""
        terms = list(dict.fromkeys(t for f in self.settings.fields().values()
                                   for t in f.terms()))
        answer = self._ask(terms, "yesterday", "yesterday")
        if isinstance(answer, SourceFailure):
            return answer
        failures = [v for v in answer.values.values() if isinstance(v, SourceFailure)
                    and v.code != "missing"]
        return failures[0] if failures else None

    # --- requests ----------------------------------------------------------------------------
    def _ask(self, terms: list[Term], start: str, end: str) -> _Answer | SourceFailure:
        try:
            from google.analytics.data_v1beta import BetaAnalyticsDataClient  # noqa: F401
        except ImportError as exc:
            if (exc.name or "").split(".")[0] == "google":
                return SourceFailure(
                    f"the google-analytics-4 source needs the Google Analytics Data API client "
                    f"library: {INSTALL_HINT}", "unreachable")
            return SourceFailure(  # installed, but something it needs is not (pkg_resources)
                f"the google-analytics-data library does not import ({exc}): "
                f"pip install -U 'planerka-sync[ga4]'", "unreachable")
        try:
            client = self._client()
        except _Abort as abort:
            return abort.failure
        values: dict[Term, float | SourceFailure] = {}
        notes: list[str] = []
        failure: SourceFailure | None = None
        try:
            for group in _groups(terms):
                if failure is not None:  # the requests after it would fail the same way
                    values |= dict.fromkeys(group, failure)
                    continue
                try:
                    got, said = self._run(client, group, start, end)
                except _Abort as abort:
                    failure = abort.failure
                    values |= dict.fromkeys(group, failure)
                    continue
                values |= got
                notes += [n for n in said if n not in notes]
        finally:
            _close(client)
        return _Answer(values, notes)

    def _client(self) -> Any:
        """The library's client on its REST transport, credentials refreshed within the
        time-out (google-auth's own token request waits two minutes and retries)."""
        from google.analytics.data_v1beta import BetaAnalyticsDataClient
        from google.analytics.data_v1beta.services.beta_analytics_data.transports.rest import (
            BetaAnalyticsDataRestTransport,
        )

        credentials = self._credentials()
        scheme, host = _split_endpoint(self.settings.endpoint)
        # always_use_jwt_access=False: a service account exchanges its signed JWT at the key's
        # token_uri for an access token (the OAuth 2.0 service-account flow), which works for
        # every Google API and against a test endpoint alike.
        transport = BetaAnalyticsDataRestTransport(
            host=host, credentials=credentials, url_scheme=scheme, always_use_jwt_access=False)
        return BetaAnalyticsDataClient(transport=transport)

    def _credentials(self) -> Any:
        import google.auth
        import requests
        from google.auth import exceptions as auth_errors
        from google.oauth2 import service_account

        s = self.settings
        try:
            if s.credentials is None:
                credentials, _ = google.auth.default(scopes=[SCOPE])
            else:
                info = _key_info(s.credentials.get_secret_value())
                credentials = service_account.Credentials.from_service_account_info(
                    info, scopes=[SCOPE])
            credentials.refresh(_deadline_request(s.timeout))
        except auth_errors.DefaultCredentialsError:
            raise _Abort(SourceFailure(
                "no credentials: set credentials to the service account's JSON key (e.g. "
                "${GA4_CREDENTIALS_JSON}) or GOOGLE_APPLICATION_CREDENTIALS", "denied:401")) \
                from None
        except _KeyError as exc:
            raise _Abort(SourceFailure(str(exc), "denied:401")) from None
        except auth_errors.RefreshError as exc:
            raise _Abort(_refresh_failure(exc, s)) from None
        except (auth_errors.TransportError, requests.RequestException) as exc:
            raise _Abort(_network_failure(exc, s.timeout, "the token endpoint")) from None
        except (ValueError, KeyError, TypeError) as exc:  # a key google-auth cannot use
            raise _Abort(SourceFailure(
                f"credentials: not a usable service account key ({type(exc).__name__}: "
                f"{_clean(str(exc), s)})", "denied:401")) from None
        return credentials

    def _run(self, client: Any, group: list[Term], start: str, end: str,
             ) -> tuple[dict[Term, float | SourceFailure], list[str]]:
        import requests
        from google.analytics.data_v1beta.types import RunReportRequest
        from google.api_core import exceptions as api_errors

        s = self.settings
        request = RunReportRequest(_request_body(s.property, group, start, end))
        try:
            response = client.run_report(request=request, retry=_retry(s.timeout),
                                         timeout=s.timeout)
        except api_errors.RetryError as exc:
            cause = exc.cause
            if isinstance(cause, api_errors.GoogleAPICallError):
                raise _Abort(_api_failure(cause, s)) from None
            raise _Abort(SourceFailure(f"no answer within {s.timeout:g} s", "timeout")) from None
        except api_errors.GoogleAPICallError as exc:
            failure = _api_failure(exc, s)
            if failure.code == "http:400":  # this group's fields: the others may be fine
                return dict.fromkeys(group, failure), []
            raise _Abort(failure) from None
        except requests.RequestException as exc:
            raise _Abort(_network_failure(exc, s.timeout, "GA4")) from None
        except (ValueError, TypeError) as exc:  # an answer the library cannot parse
            raise _Abort(SourceFailure(
                f"GA4's answer is unreadable ({type(exc).__name__})", "unreadable")) from None
        return _read_response(response, group, s)


def _groups(terms: list[Term]) -> Iterator[list[Term]]:
    """Terms that share a filter go in one request, up to the API's metrics per request."""
    by_filter: dict[tuple[str | None, tuple[str, ...]], list[Term]] = {}
    for term in terms:
        by_filter.setdefault(term.filter_key(), []).append(term)
    for group in by_filter.values():
        for at in range(0, len(group), MAX_METRICS):
            yield group[at:at + MAX_METRICS]


def _request_body(property_id: str, group: list[Term], start: str, end: str) -> dict[str, Any]:
    """The runReport request (JSON field names, as the REST reference gives them)."""
    body: dict[str, Any] = {
        "property": f"properties/{property_id}",
        "date_ranges": [{"start_date": start, "end_date": end}],
        "metrics": [{"name": m} for m in dict.fromkeys(t.metric for t in group)],
    }
    dimension, values = group[0].filter_key()
    if dimension is not None:
        if len(values) == 1:
            condition: dict[str, Any] = {"string_filter": {"match_type": "EXACT",
                                                           "value": values[0]}}
        else:
            condition = {"in_list_filter": {"values": list(values)}}
        body["dimension_filter"] = {"filter": {"field_name": dimension, **condition}}
    return body


def _read_response(response: Any, group: list[Term], s: Ga4Settings,
                   ) -> tuple[dict[Term, float | SourceFailure], list[str]]:
    headers = [(h.name, _type_name(h.type_)) for h in response.metric_headers]
    rows = list(response.rows)
    notes = _notes(response.metadata, s)
    out: dict[Term, float | SourceFailure] = {}
    if len(rows) > 1:
        failure = SourceFailure(f"GA4 answered {len(rows)} rows for a report without "
                                f"dimensions", "unreadable")
        return dict.fromkeys(group, failure), notes
    for term in group:
        if not rows:
            out[term] = 0.0 if _is_count(term.metric) else SourceFailure(
                f"GA4 has no data for {term} on these days", "missing")
            continue
        try:
            index = [name for name, _ in headers].index(term.metric)
            out[term] = metric_value(rows[0].metric_values[index].value, headers[index][1])
        except (ValueError, IndexError) as exc:
            out[term] = SourceFailure(f"{term}: {exc}" if str(exc) else
                                      f"{term} is not in GA4's answer", "missing")
    return out, notes


def _notes(metadata: Any, s: Ga4Settings) -> list[str]:
    notes = []
    zone = getattr(metadata, "time_zone", "")
    if zone:
        notes.append(f"GA4 property {s.property} counts days in {zone}")
    if getattr(metadata, "subject_to_thresholding", False):
        notes.append(f"GA4 withheld some rows of property {s.property} (thresholding): the "
                     f"numbers may be lower than in the GA4 interface")
    if list(getattr(metadata, "sampling_metadatas", []) or []):
        notes.append(f"GA4 sampled the events of property {s.property}: the numbers are "
                     f"estimates")
    return notes


def _same_zone(note: str, zone: str) -> bool:
    """A property's zone note is kept only when its zone is not the team's."""
    return note.startswith("GA4 property") and note.endswith(f" {zone}")


def _zone_advice(note: str) -> str:
    if not note.startswith("GA4 property"):
        return note
    return (f"{note}, not the team's zone: its days are not the team's days (set the "
            f"property's reporting time zone in GA4 Admin -> Property details)")


def _combine(field: Ga4Field, values: Mapping[Term, float | SourceFailure],
             ) -> float | SourceFailure:
    numerator = values.get(field.numerator)
    if numerator is None:
        return SourceFailure(f"{field.numerator} is not in GA4's answer", "missing")
    if field.denominator is None or isinstance(numerator, SourceFailure):
        return numerator
    denominator = values.get(field.denominator)
    if denominator is None:
        return SourceFailure(f"{field.denominator} is not in GA4's answer", "missing")
    if isinstance(denominator, SourceFailure):
        return denominator
    if denominator == 0:
        return SourceFailure(f"{field}: {field.denominator} is 0 on these days", "missing")
    return numerator / denominator


def _is_count(metric: str) -> bool:
    return metric.split(":")[0] in COUNTS or metric.startswith("customEvent:")


def _type_name(value: Any) -> str:
    """A MetricType (proto enum, its name or its number) by name."""
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(value, int):
        return METRIC_TYPES.get(value, str(value))
    return str(value)


# --- credentials, errors and time-outs -------------------------------------------------------


class _KeyError(ValueError):
    """``credentials`` is not a service account's JSON key."""


def _key_info(text: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except ValueError:
        raise _KeyError("credentials: not JSON; put the service account's JSON key itself "
                        "there (e.g. ${GA4_CREDENTIALS_JSON}), not a path") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise _KeyError("credentials: not a service account's JSON key (its \"type\" must be "
                        "\"service_account\"): create one in Google Cloud -> IAM -> Service "
                        "accounts -> Keys")
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise _KeyError(f"credentials: the service account key lacks {', '.join(missing)}")
    return info


def _deadline_request(timeout: float) -> Any:
    """google-auth's HTTP request for the token exchange, every attempt (it retries) within
    one ``timeout`` in all."""
    from google.auth import exceptions as auth_errors
    from google.auth.transport.requests import Request

    deadline = time.monotonic() + timeout

    class DeadlineRequest(Request):
        def __call__(self, url: str, method: str = "GET", body: Any = None,
                     headers: Any = None, timeout: float | None = None, **kwargs: Any) -> Any:
            left = deadline - time.monotonic()
            if left <= 0:
                raise auth_errors.TransportError("timed out")
            return super().__call__(url, method=method, body=body, headers=headers,
                                    timeout=min(left, timeout or left), **kwargs)

    return DeadlineRequest()


def _retry(timeout: float) -> Any:
    """The library's retry, bounded: a 503 (the API's "try again") within ``timeout``."""
    from google.api_core import exceptions as api_errors
    from google.api_core import retry as retries

    return retries.Retry(predicate=retries.if_exception_type(api_errors.ServiceUnavailable),
                         initial=0.2, maximum=2.0, multiplier=2.0, deadline=timeout)


def _api_failure(exc: Any, s: Ga4Settings) -> SourceFailure:
    """An API error (google.rpc.Status in JSON) as a failure: the status for people, the
    API's own message for logs."""
    status = int(exc.code) if isinstance(getattr(exc, "code", None), int) else 0
    rpc_status, message, reason = _rpc_status(exc)
    text = _clean(f"GA4 {status} {rpc_status}: {message}".replace("  ", " "), s)
    quota_reasons = ("RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED",
                     "rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded")
    if rpc_status == "RESOURCE_EXHAUSTED" or status == 429 or reason in quota_reasons:
        return SourceFailure(text, "quota")
    if status == 401 or rpc_status == "UNAUTHENTICATED":
        return SourceFailure(text, "denied:401")
    if status == 403 or rpc_status == "PERMISSION_DENIED":
        hint = (" (enable the Google Analytics Data API in the key's Cloud project)"
                if reason == "SERVICE_DISABLED" else
                f" (add the service account to property {s.property} in GA4 Admin -> "
                f"Property access management, as a Viewer)")
        return SourceFailure(text + hint, "denied:403")
    return http_failure(status, "") if status == 0 else SourceFailure(text, f"http:{status}")


def _rpc_status(exc: Any) -> tuple[str, str, str]:
    """The google.rpc.Status ``status``, ``message`` and ErrorInfo ``reason`` of the HTTP
    answer, when it is one (read from the JSON: older google-api-core parse no details)."""
    message = str(getattr(exc, "message", "") or "")
    response = getattr(exc, "response", None)
    try:
        error = response.json()["error"] if response is not None else {}
    except (ValueError, KeyError, TypeError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    status = error.get("status") if isinstance(error.get("status"), str) else ""
    if isinstance(error.get("message"), str):
        message = error["message"]
    reasons = [d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)
               and str(d.get("@type", "")).endswith("google.rpc.ErrorInfo")]
    reasons += [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
    reason = next((str(r) for r in reasons if isinstance(r, str) and r), "")
    if not reason:
        reason = str(getattr(exc, "reason", None) or "")
    return str(status), message[:300], reason


def _refresh_failure(exc: Exception, s: Ga4Settings) -> SourceFailure:
    """The token endpoint refused the key ("invalid_grant: Invalid JWT Signature.")."""
    detail = exc.args[0] if exc.args else ""
    text = _clean(str(detail), s)
    if "timed out" in text.lower():
        return SourceFailure(f"the token endpoint did not answer within {s.timeout:g} s",
                             "timeout")
    if re.search(r"\b(429|rate|quota)\b", text, re.IGNORECASE):
        return SourceFailure(f"the token endpoint refused the key: {text}", "quota")
    return SourceFailure(f"the token endpoint refused the service account key: {text}",
                         "denied:401")


def _network_failure(exc: BaseException, timeout: float, what: str) -> SourceFailure:
    import requests

    text = str(exc).lower()
    if isinstance(exc, requests.Timeout) or "timed out" in text or "timeout" in text:
        return SourceFailure(f"{what} did not answer within {timeout:g} s", "timeout")
    return SourceFailure(f"cannot connect to {what} ({type(exc).__name__})", "unreachable")


def _clean(text: str, s: Ga4Settings) -> str:
    """No secret, and no bearer token, in a failure text."""
    for secret in s.secrets():
        text = text.replace(secret, "***")
    text = re.sub(r"(?i)(bearer\s+|access_token[\"'=: ]+|assertion=)[\w.\-~+/=]+", r"\1***",
                  text)
    return " ".join(text.split())[:400]


def _split_endpoint(endpoint: str | None) -> tuple[str, str]:
    """(url scheme, host[:port]) of the API endpoint."""
    if not endpoint:
        return "https", DEFAULT_HOST
    text = endpoint.strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    return (scheme.lower(), rest) if sep else ("https", text)


def _close(client: Any) -> None:
    with contextlib.suppress(Exception):  # closing a pooled session cannot fail a pull
        client.transport.close()
