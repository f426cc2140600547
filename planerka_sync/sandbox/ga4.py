"""A loopback emulator of the Google Analytics Data API v1beta ``properties.runReport`` (REST) and
of the OAuth 2.0 token endpoint a service account's JSON key points at (``token_uri``).

Routes (and ``POST /_sandbox/service-account``, which mints a registered key for demos):
- ``POST /token``: the service-account flow (grant_type
  ``urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion`` = a JWT signed RS256 by the
  key). The signature is checked against the public key the seed registers for the JWT's
  ``iss`` (``service_accounts``), as are ``aud`` (this endpoint, or Google's own token URI as
  google-auth sends it), ``scope`` and ``iat``/``exp``; refusals are Google's 400s
  ``{"error": "invalid_grant", "error_description": ...}``. The answer is
  ``{"access_token", "expires_in": 3599, "token_type": "Bearer"}``.
- ``POST /v1beta/properties/{property}:runReport``: ``Authorization: Bearer`` an access token
  from /token (or one of the seed's static ``tokens``). Errors are google.rpc.Status JSON,
  ``{"error": {"code", "message", "status", "details"?}}``: 401 UNAUTHENTICATED (no, unknown or
  expired token), 403 PERMISSION_DENIED (a property the caller is not a user of, or the token's
  scope), 400 INVALID_ARGUMENT (unknown body fields, metrics or dimensions, bad dates, more than
  4 date ranges, 10 metrics or 9 dimensions, session metrics with eventName), 429
  RESOURCE_EXHAUSTED when the property's ``tokens_per_day`` (option, default 200000; one token
  per request) are used up. Faults (``/_sandbox/faults``) give any other status or a hang.

The body is read as the API reads proto JSON: camelCase or snake_case names, enums by name or
number. The answer's enums (MetricType) are names, or numbers when the query asks
``$alt=json;enum-encoding=int`` as the Python client's REST transport does. Rows whose metrics are
all 0 are left out (unless ``keepEmptyRows``); with no dimensions a report is one row, or none.

Seed data: a function of the date, per day ``d`` and channel ``i`` of sessionDefaultChannelGroup
(0 "Organic Search", 1 "Direct", 2 "Paid Search"), with ``f`` the seed's ``spikes[d]`` (default
1; a spike multiplies every count of its day)::

    sessions          f * (10 * (i + 1) + d.day)
    engagedSessions   sessions - f * (i + 1 + d.weekday())        # weekday: Monday 0
    screenPageViews   3 * sessions
    sessionDuration   60 * sessions + f * 10 * d.day               # seconds, summed
    newUsers          f * (5 * (i + 1) + d.day)
    key events        purchase f * (i + 1), sign_up f * (d.day % 3) (the property's keyEvents)
    sessions with a key event   purchase + sign_up

and ``7 * (i + 1)`` regular users who come every day by channel ``i``. Over a report row's days:
sessions, engagedSessions, screenPageViews, newUsers, keyEvents (and ``keyEvents:<event>``),
eventCount (key events, page_view = screenPageViews, session_start = sessions) are sums;
totalUsers = Σ newUsers + Σ regulars of the row's channels; bounceRate = 1 - engaged / sessions,
engagementRate = engaged / sessions, averageSessionDuration = Σ sessionDuration / sessions,
screenPageViewsPerSession = screenPageViews / sessions, sessionKeyEventRate = sessions with a key
event / sessions (0 when no sessions). Every property has the same data; ``properties`` gives
each its reporting ``timeZone`` (returned in ``metadata.timeZone``), ``currencyCode``,
``keyEvents`` and ``readers`` (service-account emails, or "*").
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from planerka_sync.sandbox.core import JSON, Emulator, HttpError, Request, Response, route

SCOPES = ("https://www.googleapis.com/auth/analytics.readonly",
          "https://www.googleapis.com/auth/analytics")
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CHANNELS = ("Organic Search", "Direct", "Paid Search")
OTHER_EVENTS = ("page_view", "session_start")
FIRST_DAY = date(2015, 8, 14)  # the API's earliest date
MAX_DATE_RANGES, MAX_METRICS, MAX_DIMENSIONS = 4, 10, 9
SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
PROPERTY_ID_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id"
QUOTA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"
UNAUTHENTICATED = ("Request is missing required authentication credential. Expected OAuth 2 "
                   "access token, login cookie or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")
INVALID_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                       "token, login cookie or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")
NO_PERMISSION = ("User does not have sufficient permissions for this property. To learn more "
                 f"about Property ID, see {PROPERTY_ID_URL}.")

# metric -> MetricType; per-event forms (keyEvents:<event>) are checked apart.
METRICS = {
    "sessions": "TYPE_INTEGER", "engagedSessions": "TYPE_INTEGER", "bounceRate": "TYPE_FLOAT",
    "engagementRate": "TYPE_FLOAT", "totalUsers": "TYPE_INTEGER", "newUsers": "TYPE_INTEGER",
    "averageSessionDuration": "TYPE_SECONDS", "screenPageViews": "TYPE_INTEGER",
    "screenPageViewsPerSession": "TYPE_FLOAT", "keyEvents": "TYPE_FLOAT",
    "sessionKeyEventRate": "TYPE_FLOAT", "eventCount": "TYPE_INTEGER",
    "userEngagementDuration": "TYPE_SECONDS",
}
EVENT_METRICS = {"keyEvents", "eventCount"}  # what a report by eventName can count
DIMENSIONS = ("date", "sessionDefaultChannelGroup", "eventName", "dateRange")
METRIC_TYPE_NUMBERS = {"TYPE_INTEGER": 1, "TYPE_FLOAT": 2, "TYPE_SECONDS": 4}
MATCH_TYPES = {1: "EXACT", 2: "BEGINS_WITH", 3: "ENDS_WITH", 4: "CONTAINS", 5: "FULL_REGEXP",
               6: "PARTIAL_REGEXP"}
REQUEST_FIELDS = {"property", "dimensions", "metrics", "dateRanges", "dimensionFilter",
                  "metricFilter", "offset", "limit", "metricAggregations", "orderBys",
                  "currencyCode", "cohortSpec", "keepEmptyRows", "returnPropertyQuota",
                  "comparisons"}
UNSUPPORTED = {"metricFilter", "metricAggregations", "orderBys", "cohortSpec", "comparisons"}


def rpc_error(code: int, status: str, message: str, **extra: Any) -> HttpError:
    """google.rpc.Status as Google's REST APIs send it."""
    return HttpError(code, {"error": {"code": code, "message": message, "status": status,
                                      **extra}})


def invalid(message: str) -> HttpError:
    return rpc_error(400, "INVALID_ARGUMENT", message)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(value: Any) -> Any:
    """Proto JSON accepts a field's original (snake_case) name as well as its JSON name."""
    if isinstance(value, dict):
        return {camel(k): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def day_counts(day: date, channel: int, spike: float) -> dict[str, float]:
    """The seed function (see the module's docstring): one day of one channel."""
    f, i, wd = spike, channel, day.weekday()
    sessions = f * (10 * (i + 1) + day.day)
    return {
        "sessions": sessions,
        "engagedSessions": sessions - f * (i + 1 + wd),
        "screenPageViews": 3 * sessions,
        "sessionDuration": 60 * sessions + f * 10 * day.day,
        "newUsers": f * (5 * (i + 1) + day.day),
        "purchase": f * (i + 1),
        "sign_up": f * (day.day % 3),
    }


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class ServiceEmulator(Emulator):
    flavour = "google-analytics-4"

    def __init__(self, seed: JSON | None = None, options: dict[str, Any] | None = None) -> None:
        self._local = threading.local()  # the caller authenticate() found, per request thread
        super().__init__(seed, options)

    def default_seed(self) -> JSON:
        return {
            "properties": {"123456789": {"timeZone": "Europe/Moscow", "currencyCode": "RUB",
                                         "keyEvents": ["purchase", "sign_up"],
                                         "readers": ["*"]}},
            "service_accounts": [],  # {"client_email", "public_key_pem"}
            "tokens": ["sandbox-token"],  # static bearer tokens, accepted as an access token
            "spikes": {},  # "YYYY-MM-DD" -> factor on every count of that day
        }

    def load_seed(self, seed: JSON) -> None:
        base = self.default_seed()
        self.db = {
            "properties": dict(seed.get("properties", base["properties"])),
            "service_accounts": {a["client_email"]: a["public_key_pem"]
                                 for a in seed.get("service_accounts", [])},
            "tokens": {t: {"email": "*", "expires": None, "scope": " ".join(SCOPES)}
                       for t in seed.get("tokens", base["tokens"])},
            "spikes": {date.fromisoformat(k): float(v)
                       for k, v in seed.get("spikes", {}).items()},
            "used_tokens": {},  # property -> quota tokens used today
        }

    def snapshot(self) -> JSON:
        with self.lock:
            return {"properties": self.db["properties"],
                    "service_accounts": sorted(self.db["service_accounts"]),
                    "access_tokens": len(self.db["tokens"]),
                    "used_tokens": self.db["used_tokens"]}

    def extra_control(self, method: str, what: str, req: Request) -> Response | None:
        """``POST /_sandbox/service-account``: a new key pair, registered, answered as the JSON
        key Google Cloud would download (``token_uri`` is this sandbox), for demos:
        ``curl -X POST $URL/_sandbox/service-account`` is a ``credentials`` value."""
        if (method, what) != ("POST", "service-account"):
            return None
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        body = req.json() or {}
        email = str(body.get("client_email") or
                    "planerka-sandbox@sandbox-project.iam.gserviceaccount.com")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        private = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        with self.lock:
            self.db["service_accounts"][email] = public.decode()
        return Response(201, {
            "type": "service_account", "project_id": "sandbox-project",
            "private_key_id": secrets.token_hex(20), "private_key": private.decode(),
            "client_email": email, "client_id": str(secrets.randbits(64)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"{self.base_url}/token"})

    # --- the token endpoint ------------------------------------------------------------------
    @route("POST", "/token", auth=False)
    def token(self, req: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != JWT_GRANT:
            return Response(400, {"error": "unsupported_grant_type",
                                  "error_description": "Invalid grant_type: "
                                  f"{form.get('grant_type', '')}"})
        claims, problem = self._verified(form.get("assertion", ""))
        if claims is None:
            return Response(400, {"error": "invalid_grant", "error_description": problem})
        scope = str(claims.get("scope", ""))
        if not any(s in scope.split() for s in SCOPES):
            return Response(400, {"error": "invalid_scope",
                                  "error_description": "Invalid OAuth scope or ID token "
                                  "audience provided."})
        access = f"ya29.sandbox-{secrets.token_urlsafe(24)}"
        self.db["tokens"][access] = {"email": claims["iss"], "expires": self.now() + 3599,
                                     "scope": scope}
        return Response(200, {"access_token": access, "expires_in": 3599,
                               "token_type": "Bearer"})

    def _verified(self, assertion: str) -> tuple[dict[str, Any] | None, str]:
        """The JWT's claims when its signature, issuer, audience and times hold."""
        try:
            head, body, signature = assertion.split(".")
            header, claims = _b64json(head), _b64json(body)
            raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        except (ValueError, TypeError):
            return None, "Invalid JWT: the assertion is not a signed JWT."
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return None, "Invalid JWT: the assertion is not a signed JWT."
        if header.get("alg") != "RS256":
            return None, "Invalid JWT: only RS256 signatures are accepted."
        pem = self.db["service_accounts"].get(claims.get("iss"))
        if pem is None:
            return None, "Invalid grant: account not found"
        if not _rs256_valid(pem, f"{head}.{body}".encode(), raw_signature):
            return None, "Invalid JWT Signature."
        # google-auth addresses the assertion to Google's token endpoint whatever the key's
        # token_uri; Google accepts both.
        if claims.get("aud") not in (GOOGLE_TOKEN_URI, f"{self.base_url}/token"):
            return None, "Invalid JWT: Failed audience check."
        now = self.now()
        try:
            iat, exp = float(claims["iat"]), float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            return None, "Invalid JWT: iat and exp are required."
        if exp - iat > 3600 or exp < now or iat > now + 300:
            return None, ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                          "reasonable timeframe. Check your iat and exp values in the JWT claim.")
        return claims, ""

    # --- authentication ----------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        header = req.header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
        if scheme.lower() != "bearer" or not token.strip():
            return Response(401, rpc_error(401, "UNAUTHENTICATED", UNAUTHENTICATED)
                            .response.body, challenge)
        with self.lock:
            grant = self.db["tokens"].get(token.strip())
        expired = grant is not None and grant["expires"] is not None and \
            grant["expires"] < self.now()
        if grant is None or expired:
            reason = "ACCESS_TOKEN_EXPIRED" if expired else "ACCESS_TOKEN_TYPE_UNSUPPORTED"
            body = rpc_error(401, "UNAUTHENTICATED", INVALID_CREDENTIALS, details=[{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "analyticsdata.googleapis.com",
                             "method": "google.analytics.data.v1beta.BetaAnalyticsData."
                                       "RunReport"}}]).response.body
            return Response(401, body, {**challenge, "WWW-Authenticate":
                                        challenge["WWW-Authenticate"] +
                                        ', error="invalid_token"'})
        if not any(s in grant["scope"].split() for s in SCOPES):
            body = rpc_error(403, "PERMISSION_DENIED",
                             "Request had insufficient authentication scopes.").response.body
            return Response(403, body)
        self._local.caller = grant["email"]
        return None

    def not_found(self, req: Request) -> Response:
        return Response(404, "<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1"
                             "</title><p><b>404.</b> <ins>That's an error.</ins>"
                             f"<p>The requested URL <code>{req.path}</code> was not found on "
                             "this server. <ins>That's all we know.</ins>",
                        content_type="text/html; charset=UTF-8")

    # --- runReport ---------------------------------------------------------------------------
    @route("POST", r"/v1beta/properties/(?P<property>[^/:]+):runReport")
    def run_report(self, req: Request) -> Response:
        caller = self._caller(req)
        property_id = req.params["property"]
        if not property_id.isdigit():
            raise invalid(f"Invalid property ID: {property_id}. A numeric Property ID is "
                          f"required. To learn more about Property ID, see {PROPERTY_ID_URL}.")
        prop = self.db["properties"].get(property_id)
        readers = prop.get("readers", ["*"]) if prop else []
        if prop is None or not ("*" in readers or caller in readers):
            raise rpc_error(403, "PERMISSION_DENIED", NO_PERMISSION)
        body = self._body(req)
        self._spend_quota(property_id)
        ints = "enum-encoding=int" in ",".join(req.query.get("$alt", []))
        return Response(200, self._report(property_id, prop, body, ints))

    def _caller(self, req: Request) -> str:
        return str(getattr(self._local, "caller", "*"))

    def _body(self, req: Request) -> dict[str, Any]:
        try:
            raw = json.loads(req.body or b"{}")
        except ValueError as exc:
            raise invalid(f"Invalid JSON payload received. {exc}") from exc
        if not isinstance(raw, dict):
            raise invalid("Invalid JSON payload received. Expected an object.")
        body = camel_keys(raw)
        unknown = sorted(set(body) - REQUEST_FIELDS)
        if unknown:
            raise rpc_error(400, "INVALID_ARGUMENT",
                            f'Invalid JSON payload received. Unknown name "{unknown[0]}": '
                            f"Cannot find field.", details=[{
                                "@type": "type.googleapis.com/google.rpc.BadRequest",
                                "fieldViolations": [{"description": f'Invalid JSON payload '
                                                     f'received. Unknown name "{name}": Cannot '
                                                     f'find field.'} for name in unknown]}])
        used = sorted(k for k in UNSUPPORTED & set(body) if body[k])
        if used:
            raise invalid(f"The sandbox does not emulate {', '.join(used)}.")
        return body

    def _spend_quota(self, property_id: str) -> None:
        limit = int(self.options.get("tokens_per_day", 200_000))
        used = self.db["used_tokens"].get(property_id, 0)
        if used >= limit:
            raise rpc_error(429, "RESOURCE_EXHAUSTED",
                            "Exhausted property tokens per day for a property. To learn more "
                            f"about Google Analytics Data API quota, see {QUOTA_URL}.")
        self.db["used_tokens"][property_id] = used + 1

    def _report(self, property_id: str, prop: dict[str, Any], body: dict[str, Any],
                ints: bool) -> JSON:
        zone = ZoneInfo(prop.get("timeZone", "America/Los_Angeles"))
        today = datetime.fromtimestamp(self.now(), UTC).astimezone(zone).date()
        ranges = self._date_ranges(body.get("dateRanges"), today)
        metrics = self._metrics(body.get("metrics"), prop)
        dimensions = self._dimensions(body.get("dimensions"))
        if len(ranges) > 1 and "dateRange" not in dimensions:
            dimensions.append("dateRange")
        condition = body.get("dimensionFilter")
        fields = set(dimensions) | (_filter_fields(condition) if condition else set())
        by_event = "eventName" in fields
        if by_event and any(m.split(":")[0] not in EVENT_METRICS for m in metrics):
            raise invalid("Please remove eventName to make the request compatible. The "
                          "request's dimensions & metrics are incompatible. To learn more, see "
                          "https://ga-dev-tools.google/ga4/dimensions-metrics-explorer/")
        records = list(self._records(ranges, prop, by_event))
        if condition:
            records = [r for r in records if _matches(condition, r)]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for record in records:
            groups.setdefault(tuple(record[d] for d in dimensions), []).append(record)
        rows = []
        for values, members in sorted(groups.items()):
            numbers = [_metric(m, members) for m in metrics]
            if not any(numbers) and not body.get("keepEmptyRows"):
                continue
            rows.append({
                **({"dimensionValues": [{"value": v} for v in values]} if dimensions else {}),
                "metricValues": [{"value": _text(n, _type(m))} for m, n in
                                 zip(metrics, numbers, strict=True)]})
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10_000)
        if offset < 0 or limit < 0 or limit > 250_000:
            raise invalid("limit must be positive and at most 250000; offset must be positive.")
        answer: dict[str, Any] = {
            "metricHeaders": [{"name": m, "type": METRIC_TYPE_NUMBERS[_type(m)] if ints
                               else _type(m)} for m in metrics],
            "metadata": {"currencyCode": prop.get("currencyCode", "USD"),
                         "timeZone": prop.get("timeZone", "America/Los_Angeles")},
            "kind": "analyticsData#runReport",
        }
        if dimensions:
            answer["dimensionHeaders"] = [{"name": d} for d in dimensions]
        if rows:
            answer["rows"] = rows[offset:offset + limit]
            answer["rowCount"] = len(rows)
        if prop.get("thresholding"):
            answer["metadata"]["subjectToThresholding"] = True
        if body.get("returnPropertyQuota"):
            used = self.db["used_tokens"].get(property_id, 0)
            day = int(self.options.get("tokens_per_day", 200_000))
            answer["propertyQuota"] = {"tokensPerDay": {"consumed": 1,
                                                        "remaining": max(day - used, 0)}}
        return answer

    def _date_ranges(self, raw: Any, today: date) -> list[tuple[str, date, date]]:
        if not isinstance(raw, list) or not raw:
            raise invalid("Must specify at least one dateRange in the request.")
        if len(raw) > MAX_DATE_RANGES:
            raise invalid(f"Requests are limited to {MAX_DATE_RANGES} dateRanges.")
        ranges = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise invalid("Invalid JSON payload received. dateRanges must be objects.")
            start = _day(item.get("startDate"), today, "startDate")
            end = _day(item.get("endDate"), today, "endDate")
            if start > end:
                raise invalid(f"Invalid date range. startDate {start} is after endDate {end}.")
            name = item.get("name") or f"date_range_{index}"
            ranges.append((str(name), start, end))
        return ranges

    def _metrics(self, raw: Any, prop: dict[str, Any]) -> list[str]:
        if not isinstance(raw, list) or not raw:
            raise invalid("Must specify at least one metric in the request.")
        if len(raw) > MAX_METRICS:
            raise invalid(f"Requests are limited to {MAX_METRICS} metrics within a request.")
        names = []
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise invalid("Metric name is required.")
            if item.get("expression"):
                raise invalid("The sandbox does not emulate metric expressions.")
            name = item["name"]
            base, _, event = name.partition(":")
            known = name in METRICS or (base == "keyEvents" and event in
                                        prop.get("keyEvents", []))
            if not known:
                raise invalid(f"Field {name} is not a valid metric. For a list of valid "
                              f"dimensions and metrics, see {SCHEMA_URL} ")
            if name in names:
                raise invalid(f"Duplicate metric name: {name}.")
            names.append(name)
        return names

    def _dimensions(self, raw: Any) -> list[str]:
        raw = raw or []
        if not isinstance(raw, list):
            raise invalid("Invalid JSON payload received. dimensions must be a list.")
        if len(raw) > MAX_DIMENSIONS:
            raise invalid(f"Requests are limited to {MAX_DIMENSIONS} dimensions within a "
                          f"request.")
        names = []
        for item in raw:
            name = item.get("name") if isinstance(item, dict) else None
            if name not in DIMENSIONS:
                raise invalid(f"Field {name} is not a valid dimension. For a list of valid "
                              f"dimensions and metrics, see {SCHEMA_URL} ")
            names.append(name)
        return names

    def _records(self, ranges: list[tuple[str, date, date]], prop: dict[str, Any],
                 by_event: bool) -> list[dict[str, Any]]:
        """One record per date range, day and channel (and event, by eventName)."""
        key_events = list(prop.get("keyEvents", []))
        out: list[dict[str, Any]] = []
        for range_name, start, end in ranges:
            day = start
            while day <= end:
                spike = self.db["spikes"].get(day, 1.0)
                for i, channel in enumerate(CHANNELS):
                    counts = day_counts(day, i, spike)
                    base = {"date": day.strftime("%Y%m%d"), "dateRange": range_name,
                            "sessionDefaultChannelGroup": channel, "channel": i}
                    events = {"purchase": counts["purchase"], "sign_up": counts["sign_up"],
                              "page_view": counts["screenPageViews"],
                              "session_start": counts["sessions"]}
                    if by_event:
                        out += [{**base, "eventName": e, "eventCount": n,
                                 "keyEvents": n if e in key_events else 0.0,
                                 **({f"keyEvents:{e}": n} if e in key_events else {})}
                                for e, n in events.items()]
                    else:
                        keys = {e: events[e] for e in key_events if e in events}
                        out.append({**base, **counts, "eventName": "",
                                    "eventCount": sum(events.values()),
                                    "keyEvents": sum(keys.values()),
                                    "sessionsWithKeyEvent": sum(keys.values()),
                                    **{f"keyEvents:{e}": n for e, n in keys.items()}})
                day += timedelta(days=1)
        return out


def _rs256_valid(pem: str, signed: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _day(value: Any, today: date, field: str) -> date:
    """YYYY-MM-DD, 'today', 'yesterday' or 'NdaysAgo' (in the property's zone)."""
    text = value if isinstance(value, str) else ""
    ago = re.fullmatch(r"(\d+)daysAgo", text)
    try:
        if text == "today":
            day = today
        elif text == "yesterday":
            day = today - timedelta(days=1)
        elif ago:
            day = today - timedelta(days=int(ago[1]))
        elif re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            day = date.fromisoformat(text)
        else:
            raise ValueError(text)
    except ValueError:
        raise invalid(f"Invalid {field} '{text}'. Accepted formats are YYYY-MM-DD, NdaysAgo, "
                      f"yesterday, or today.") from None
    if day < FIRST_DAY:
        raise invalid(f"Invalid {field} {day}: dates before {FIRST_DAY} are not supported.")
    return day


def _filter_fields(expression: Any) -> set[str]:
    """The dimensions a dimensionFilter names (and checks its shape)."""
    if not isinstance(expression, dict) or len(expression) != 1:
        raise invalid("A FilterExpression must set exactly one of andGroup, orGroup, "
                      "notExpression, filter.")
    (kind, inner), = expression.items()
    if kind in ("andGroup", "orGroup"):
        parts = inner.get("expressions") if isinstance(inner, dict) else None
        if not isinstance(parts, list):
            raise invalid(f"{kind}.expressions must be a list.")
        return set().union(*(_filter_fields(p) for p in parts)) if parts else set()
    if kind == "notExpression":
        return _filter_fields(inner)
    if kind != "filter" or not isinstance(inner, dict):
        raise invalid(f'Invalid JSON payload received. Unknown name "{kind}": Cannot find '
                      f"field.")
    name = inner.get("fieldName")
    if name in METRICS or (isinstance(name, str) and name.startswith("keyEvents:")):
        raise invalid(f"Field {name} is not a valid dimension. Metrics cannot be used in a "
                      f"dimensionFilter.")
    if name not in DIMENSIONS:
        raise invalid(f"Field {name} is not a valid dimension. For a list of valid dimensions "
                      f"and metrics, see {SCHEMA_URL} ")
    conditions = [k for k in ("stringFilter", "inListFilter", "numericFilter", "betweenFilter",
                              "emptyFilter") if k in inner]
    if len(conditions) != 1:
        raise invalid("A Filter must set exactly one of stringFilter, inListFilter, "
                      "numericFilter, betweenFilter, emptyFilter.")
    if conditions[0] in ("numericFilter", "betweenFilter"):
        raise invalid(f"Field {name} is a string dimension: use a stringFilter or an "
                      f"inListFilter.")
    return {str(name)}


def _matches(expression: dict[str, Any], record: dict[str, Any]) -> bool:
    (kind, inner), = expression.items()
    if kind == "andGroup":
        return all(_matches(p, record) for p in inner["expressions"])
    if kind == "orGroup":
        return any(_matches(p, record) for p in inner["expressions"])
    if kind == "notExpression":
        return not _matches(inner, record)
    value = str(record.get(inner["fieldName"], ""))
    if "emptyFilter" in inner:
        return value == ""
    if "inListFilter" in inner:
        spec = inner["inListFilter"]
        values = spec.get("values") or []
        if spec.get("caseSensitive"):
            return value in values
        return value.lower() in {str(v).lower() for v in values}
    spec = inner["stringFilter"]
    match_type = spec.get("matchType", "EXACT")
    match_type = MATCH_TYPES.get(match_type, "") if isinstance(match_type, int) else match_type
    wanted = str(spec.get("value", ""))
    if not spec.get("caseSensitive"):
        value, wanted = value.lower(), wanted.lower()
    checks = {
        "EXACT": lambda: value == wanted,
        "BEGINS_WITH": lambda: value.startswith(wanted),
        "ENDS_WITH": lambda: value.endswith(wanted),
        "CONTAINS": lambda: wanted in value,
        "FULL_REGEXP": lambda: re.fullmatch(wanted, value) is not None,
        "PARTIAL_REGEXP": lambda: re.search(wanted, value) is not None,
    }
    if match_type not in checks:
        raise invalid(f"Invalid matchType {match_type!r}.")
    return bool(checks[match_type]())


def _type(metric: str) -> str:
    return METRICS.get(metric) or "TYPE_FLOAT"  # keyEvents:<event>


def _metric(name: str, records: list[dict[str, Any]]) -> float:
    """One metric over a row's records, as the module's docstring defines it."""
    def total(key: str) -> float:
        return float(sum(r.get(key, 0.0) for r in records))

    sessions = total("sessions")

    def per_session(value: float) -> float:
        return value / sessions if sessions else 0.0

    match name:
        case "totalUsers":
            return total("newUsers") + sum(7 * (i + 1) for i in {r["channel"] for r in records})
        case "bounceRate":
            return per_session(sessions - total("engagedSessions"))
        case "engagementRate":
            return per_session(total("engagedSessions"))
        case "averageSessionDuration":
            return per_session(total("sessionDuration"))
        case "userEngagementDuration":
            return total("sessionDuration")
        case "screenPageViewsPerSession":
            return per_session(total("screenPageViews"))
        case "sessionKeyEventRate":
            return per_session(total("sessionsWithKeyEvent"))
        case _:
            return total(name)


def _text(value: float, metric_type: str) -> str:
    """A metric value as the API writes it: a decimal string."""
    if metric_type == "TYPE_INTEGER" or float(value).is_integer():
        return str(round(value))
    return repr(float(value))
