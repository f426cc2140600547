"""JQL search: evaluation, cursors and page tokens, and the two flavours' search endpoints.

A search's JQL is evaluated once per cursor (:meth:`SearchMixin.open_cursor`): later pages
slice the stored ids instead of re-running the query. A cursor lives ``CURSOR_TTL`` (300)
sandbox seconds, or less when a lagging issue's search version changes sooner; at most
``CURSOR_MAX`` (64) are kept, the oldest dropped first. With the ``search_lag_seconds`` option
search sees issues as they were before recent changes, except those named in
``reconcileIssues``. JQL values that cannot exist (unknown project, status, key...) are 400s,
unless Data Center's ``validateQuery`` turns that off.

Cloud (:class:`EnhancedSearchMixin`): ``GET/POST search/jql`` pages by an opaque
``nextPageToken`` (tied to its query; a forged or foreign one is a 400) without a ``total``,
answers ids only unless ``fields`` asks for more, refuses unbounded JQL, takes at most
``MAX_RECONCILE`` (50) ``reconcileIssues``, and caps ``maxResults`` at ``ENHANCED_MAX`` (5000)
when only ``id``/``key`` are asked for, else at ``HEAVY_PAGE_MAX`` (100): the spec's "API may
return fewer items per page where a large number of fields or properties are requested. The
greatest number of items returned per page is achieved when requesting id or key only", which
Atlassian's docs put as 100 a page unless only id or key is requested (ECO-1010);
``search/approximate-count`` counts; the classic ``search`` is gone (410).

Data Center (:class:`ClassicSearchMixin`): ``GET/POST search`` pages by ``startAt`` with a
``total`` and caps ``maxResults`` at the site's ``jira.search.views.default.max``: the option
``search_max_results``, default ``CLASSIC_MAX`` (1000), reported back as ``maxResults``;
empty JQL means every visible issue; a later page reuses the first page's cursor while nothing
search could see has changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from planerka_sync.sandbox import jql
from planerka_sync.sandbox.core import Request, Response, route
from planerka_sync.sandbox.jira.common import (
    API,
    CATEGORIES,
    JSON,
    Rec,
    bad_request,
    split_list,
)
from planerka_sync.sandbox.jira.render import RenderMixin

CURSOR_TTL = 300.0  # sandbox seconds a search cursor stays valid
CURSOR_MAX = 64  # cursors kept; the oldest is dropped first


@dataclass
class _Cursor:
    """One search's ordered result ids, kept so that later pages need not re-run the JQL."""

    ids: list[str]
    expires: float  # sandbox clock
    key: Any  # DC: (actor, jql, fields, validate); Cloud: None (the token names the cursor)
    fingerprint: tuple[Any, ...]


class _Search(jql.JqlContext):
    """The view of the emulator the JQL evaluator needs."""

    def __init__(self, emulator: SearchMixin, validate: bool = True) -> None:
        self.emulator = emulator
        self.now = emulator.now()
        self.tz = emulator.tz
        self.validate = validate

    def values(self, issue: Any, field: str) -> list[str]:
        return self.emulator.jql_values(issue, field)

    def timestamp(self, issue: Any, field: str) -> float | None:
        if field == "duedate":
            due = issue.get("duedate")
            if not due:
                return None
            return datetime.fromisoformat(due).replace(tzinfo=self.tz).timestamp()
        value = issue.get(field)
        return float(value) if value is not None else None

    def key_number(self, issue: Any) -> tuple[str, int]:
        project, number = issue["key"].rsplit("-", 1)
        return project, int(number)

    def rank(self, issue: Any, field: str) -> int:
        """ORDER BY priority follows the scheme (Highest ranks highest), not the names."""
        order = list(self.emulator.db["priorities"])
        return len(order) - order.index(issue["priority"]) if issue["priority"] in order else 0

    def current_user(self) -> list[str]:
        return self.emulator.user_ids(self.emulator.actor())

    def check_value(self, field: str, value: str) -> None:
        if self.validate:
            self.emulator.jql_check_value(field, value)


def encode_token(offset: int, jql_text: str, cursor_id: str | None = None) -> str:
    digest = hashlib.sha1(jql_text.encode("utf-8")).hexdigest()[:12]
    data: Rec = {"o": offset, "q": digest}
    if cursor_id:
        data["c"] = cursor_id
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, jql_text: str) -> tuple[int, str | None]:
    """The offset and cursor a nextPageToken stands for; 400 when forged or from another query."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        offset = int(data["o"])
        same = data["q"] == hashlib.sha1(jql_text.encode("utf-8")).hexdigest()[:12]
        cursor_id = str(data["c"]) if data.get("c") is not None else None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise bad_request(messages=["The provided next page token is invalid."]) from exc
    if not same or offset < 0:
        raise bad_request(messages=["The provided next page token does not match the query."])
    return offset, cursor_id


class SearchMixin(RenderMixin):
    """JQL evaluation against the (possibly lagging) index, and the cursors search pages from."""

    # --- JQL hooks -----------------------------------------------------------------------
    def jql_values(self, rec: Rec, field: str) -> list[str]:
        project = self.db["projects"][rec["project"]]
        if field == "project":
            return [project["key"], project["name"], project["id"]]
        if field == "key":
            return [rec["key"], rec["id"]]
        if field == "labels":
            return list(rec["labels"])
        if field == "status":
            status = self.db["statuses"][rec["status"]]
            return [status["name"], status["id"]]
        if field == "statuscategory":
            cat = CATEGORIES[self.db["statuses"][rec["status"]]["category"]]
            return [str(cat["name"]), str(cat["key"]), str(cat["id"])]
        if field == "issuetype":
            itype = self.db["issue_types"][rec["issuetype"]]
            return [itype["name"], itype["id"]]
        if field in ("assignee", "reporter"):
            return self.user_ids(rec[field]) if rec[field] else []
        if field == "priority":
            priority = self.db["priorities"].get(rec["priority"])
            return [priority["name"], priority["id"]] if priority else []
        if field == "resolution":
            return ["Done", "10000"] if rec["resolutiondate"] is not None else []
        if field == "summary":
            return [rec["summary"]]
        if field == "description":
            return [self.plain(rec["description"])] if rec["description"] else []
        if field == "comment":
            return [
                self.plain(self.db["comments"][c]["body"])
                for c in rec["comments"]
                if c in self.db["comments"]
            ]
        return []

    def jql_check_value(self, field: str, value: str) -> None:
        """Jira rejects values that cannot exist (unknown project, status, key...)."""
        lowered = value.lower()
        if field == "project":
            known = [p for p in self.db["projects"].values() if self.can_browse(p)]
            names = {x.lower() for p in known for x in (p["key"], p["name"], p["id"])}
        elif field == "status":
            names = {x.lower() for s in self._workflow() for x in (s["name"], s["id"])}
        elif field == "statuscategory":
            names = {
                str(x).lower() for c in CATEGORIES.values() for x in (c["name"], c["key"], c["id"])
            }
        elif field == "issuetype":
            names = {
                x.lower() for t in self.db["issue_types"].values() for x in (t["name"], t["id"])
            }
        elif field in ("assignee", "reporter"):
            names = {x.lower() for pid in self.db["people"] for x in self.user_ids(pid)}
        elif field == "priority":
            names = {
                x.lower() for pr in self.db["priorities"].values() for x in (pr["name"], pr["id"])
            }
        elif field == "resolution":
            names = {"done", "10000", "unresolved"}
        elif field == "key":
            self._check_key(value)
            return
        else:
            return
        if lowered not in names:
            raise jql.JqlError(f"The value '{value}' does not exist for the field '{field}'.")

    def _check_key(self, value: str) -> None:
        if value.isdigit():
            if value not in self.db["issues"]:
                raise jql.JqlError(f"An issue with id '{value}' does not exist for field 'key'.")
            return
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*-\d+", value):
            raise jql.JqlError(f"The issue key '{value}' for field 'key' is invalid.")
        if not any(i["key"] == value.upper() for i in self.db["issues"].values()):
            raise jql.JqlError(f"An issue with key '{value}' does not exist for field 'key'.")

    def run_jql(self, text: str, reconcile: set[str], validate: bool = True) -> list[Rec]:
        """Issues matching ``text`` in order, as the (possibly lagging) index sees them."""
        ctx = _Search(self, validate)
        try:
            query = jql.parse(text)
            predicate = jql.matcher(query, ctx)
        except jql.JqlError as exc:
            raise bad_request(messages=[str(exc)]) from exc
        self.jql_evaluations += 1
        hits = [r for r in self.search_view(reconcile) if predicate(r)]
        return jql.sort_issues(hits, query.order, ctx)

    def search_view(self, reconcile: set[str]) -> list[Rec]:
        now = self.now()
        ids = sorted(set(self.db["issues"]) | set(self.db["search_shadow"]), key=int)
        return [rec for iid in ids if (rec := self.search_rec(iid, now, reconcile)) is not None]

    def search_rec(self, iid: str, now: float, reconcile: set[str]) -> Rec | None:
        """One issue as search sees it: its pre-change version while it 'indexes'."""
        rec = self.db["issues"].get(iid)
        shadow = self.db["search_shadow"].get(iid)
        if shadow and shadow["until"] > now and iid not in reconcile:
            rec = shadow["previous"]
        if rec is None or not self.can_browse(self.db["projects"][rec["project"]]):
            return None
        return rec

    # --- search cursors: evaluate once, page by slicing ----------------------------------
    def open_cursor(self, key: Any, text: str, reconcile: set[str], validate: bool) -> str:
        """Evaluate and sort once; later pages slice the stored ids instead of re-running."""
        ids = [r["id"] for r in self.run_jql(text, reconcile, validate)]
        now = self.now()
        # A lagging issue's search version changes when its shadow lapses: expire by then.
        lapses = [sh["until"] for sh in self.db["search_shadow"].values() if sh["until"] > now]
        cursor = _Cursor(ids, min([now + CURSOR_TTL, *lapses]), key, self.search_fingerprint())
        cursor_id = f"{next(self._cursor_ids):x}"
        self._cursors[cursor_id] = cursor
        if key is not None:
            self._cursor_keys[key] = cursor_id
        while len(self._cursors) > CURSOR_MAX:
            self._drop_cursor(next(iter(self._cursors)))
        return cursor_id

    def cursor(self, cursor_id: str | None) -> _Cursor | None:
        """A live cursor, or None when unknown or expired (the caller evaluates anew)."""
        found = self._cursors.get(cursor_id or "")
        if found is None or found.expires <= self.now():
            if found is not None and cursor_id:
                self._drop_cursor(cursor_id)
            return None
        return found

    def keyed_cursor(self, key: Any) -> str | None:
        """DC's startAt paging has no token: reuse the cursor of the same query, if unchanged."""
        cursor_id = self._cursor_keys.get(key)
        found = self.cursor(cursor_id)
        if found is None or found.fingerprint != self.search_fingerprint():
            return None
        return cursor_id

    def _drop_cursor(self, cursor_id: str) -> None:
        dropped = self._cursors.pop(cursor_id, None)
        if dropped is not None and self._cursor_keys.get(dropped.key) == cursor_id:
            del self._cursor_keys[dropped.key]

    def search_fingerprint(self) -> tuple[Any, ...]:
        """Changes with any write search could see (every change bumps ``updated``)."""
        issues = self.db["issues"].values()
        return (
            len(self.db["issues"]),
            sum(i["updated"] for i in issues),
            self.db["counters"]["history"],
            self.db["counters"]["comment"],
        )

    def cursor_page(
        self, cursor: _Cursor, offset: int, limit: int, reconcile: set[str]
    ) -> list[Rec]:
        """The issues of one page, as they are now (deleted ones are skipped)."""
        now = self.now()
        chunk = cursor.ids[offset : offset + limit]
        return [rec for iid in chunk if (rec := self.search_rec(iid, now, reconcile)) is not None]

    # --- search helpers ------------------------------------------------------------------
    def search_fields(self, requested: list[str], default: list[str]) -> list[str] | None:
        return self.select_fields(requested, default)


# --- Cloud: the enhanced search ---------------------------------------------------------------
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
MAX_RECONCILE = 50
ENHANCED_MAX = 5000  # a page of ids (or keys) only
HEAVY_PAGE_MAX = 100  # a page when any other field is requested
ID_FIELDS = {"id", "key"}


class EnhancedSearchMixin(SearchMixin):
    """Cloud: ``search/jql`` (token paging), ``search/approximate-count``; ``search`` is gone."""

    @route("GET", API + "/search")
    def legacy_search_get(self, req: Request) -> Response:
        return Response(410, {"errorMessages": [SEARCH_GONE], "errors": {}})

    @route("POST", API + "/search")
    def legacy_search_post(self, req: Request) -> Response:
        return Response(410, {"errorMessages": [SEARCH_GONE], "errors": {}})

    @route("GET", API + "/search/jql")
    def search_jql_get(self, req: Request) -> JSON:
        params = {
            "jql": req.arg("jql") or "",
            "nextPageToken": req.arg("nextPageToken"),
            "maxResults": req.arg("maxResults"),
            "fields": split_list(req.query.get("fields")),
            "expand": req.arg("expand") or "",
            "reconcileIssues": split_list(req.query.get("reconcileIssues")),
        }
        return self.enhanced_search(params, self.ver(req))

    @route("POST", API + "/search/jql")
    def search_jql_post(self, req: Request) -> JSON:
        body = req.json()
        if not isinstance(body, dict):
            raise bad_request(messages=["Can not deserialize the request: expected an object."])
        fields = body.get("fields") or []
        if not isinstance(fields, list):
            raise bad_request(messages=["'fields' must be an array of strings."])
        params = dict(body, fields=split_list([str(f) for f in fields]))
        return self.enhanced_search(params, self.ver(req))

    def enhanced_search(self, params: Rec, v: str) -> JSON:
        """POST/GET /search/jql: token paging, no total, id-only by default, reconcileIssues."""
        text = str(params.get("jql") or "")
        try:
            if jql.parse(text).unbounded:
                raise bad_request(messages=[UNBOUNDED])
        except jql.JqlError as exc:
            raise bad_request(messages=[str(exc)]) from exc
        reconcile = {str(x) for x in params.get("reconcileIssues") or []}
        if len(reconcile) > MAX_RECONCILE:
            raise bad_request(
                messages=[f"The number of issues to reconcile cannot exceed {MAX_RECONCILE}."]
            )
        fields = self.select_fields(list(params.get("fields") or []), ["id"])
        ids_only = set(params.get("fields") or ["id"]) <= ID_FIELDS
        cap = ENHANCED_MAX if ids_only else HEAVY_PAGE_MAX
        limit = self._max_results(params.get("maxResults"), cap)
        token = params.get("nextPageToken")
        offset, cursor_id = decode_token(str(token), text) if token else (0, None)
        cursor = self.cursor(cursor_id)
        if cursor is None:  # the first page, or the cursor expired: evaluate (once) now
            cursor_id = self.open_cursor(None, text, reconcile, True)
            cursor = self._cursors[cursor_id]
        chunk = self.cursor_page(cursor, offset, limit, reconcile)
        expand = set(split_list([str(params.get("expand") or "")]))
        body: JSON = {"issues": [self.issue_json(r, v, fields, expand) for r in chunk]}
        more = offset + limit < len(cursor.ids)
        if more:
            body["nextPageToken"] = encode_token(offset + limit, text, cursor_id)
        body["isLast"] = not more
        return body

    @staticmethod
    def _max_results(raw: Any, cap: int) -> int:
        if raw is None or raw == "":
            return 50
        try:
            value = int(raw)
        except (TypeError, ValueError) as exc:
            raise bad_request(messages=["The 'maxResults' parameter must be an integer."]) from exc
        return min(max(value, 1), cap)

    @route("POST", API + "/search/approximate-count")
    def approximate_count(self, req: Request) -> JSON:
        body = req.json()
        text = str(body.get("jql") or "") if isinstance(body, dict) else ""
        return {"count": len(self.run_jql(text, set()))}


# --- Data Center: the classic search ----------------------------------------------------------
CLASSIC_MAX = 1000  # jira.search.views.default.max on Data Center


class ClassicSearchMixin(SearchMixin):
    """Data Center: the classic ``search`` with ``startAt``/``maxResults``/``total``."""

    @route("GET", API + "/search")
    def search_get(self, req: Request) -> JSON:
        params = {
            "jql": req.arg("jql") or "",
            "startAt": req.arg("startAt"),
            "maxResults": req.arg("maxResults"),
            "fields": split_list(req.query.get("fields")),
            "expand": req.arg("expand") or "",
            "validateQuery": req.arg("validateQuery"),
        }
        return self.classic_search(params, self.ver(req))

    @route("POST", API + "/search")
    def search_post(self, req: Request) -> JSON:
        body = req.json()
        if not isinstance(body, dict):
            raise bad_request(messages=["Can not deserialize the request: expected an object."])
        fields = body.get("fields") or []
        params = dict(
            body,
            fields=split_list([str(f) for f in fields])
            if isinstance(fields, list)
            else split_list([str(fields)]),
        )
        if isinstance(params.get("expand"), list):
            params["expand"] = ",".join(params["expand"])
        return self.classic_search(params, self.ver(req))

    def classic_search(self, params: Rec, v: str) -> JSON:
        """DC's /search: startAt/maxResults/total; empty JQL means every visible issue."""
        try:
            start = max(int(params.get("startAt") or 0), 0)
            limit = int(params["maxResults"]) if params.get("maxResults") not in (None, "") else 50
        except (TypeError, ValueError) as exc:
            raise bad_request(messages=["startAt and maxResults must be integers."]) from exc
        limit = min(max(limit, 0), int(self.options.get("search_max_results") or CLASSIC_MAX))
        validate = str(params.get("validateQuery", "true")).lower() not in ("false", "warn", "none")
        text = str(params.get("jql") or "")
        requested = list(params.get("fields") or [])
        fields = self.select_fields(requested, ["*navigable"])
        expand = set(split_list([str(params.get("expand") or "")]))
        cursor = self.classic_cursor(text, requested, validate, start)
        return {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": limit,
            "total": len(cursor.ids),
            "issues": [
                self.issue_json(r, v, fields or [], expand)
                for r in self.cursor_page(cursor, start, limit, set())
            ],
        }

    def classic_cursor(self, text: str, fields: list[str], validate: bool, start: int) -> _Cursor:
        """startAt paging: page 0 always evaluates; later pages reuse it while nothing changed."""
        key = (self.actor(), text, tuple(fields), validate)
        cursor_id = self.keyed_cursor(key) if start > 0 else None
        if cursor_id is None:
            cursor_id = self.open_cursor(key, text, set(), validate)
        return self._cursors[cursor_id]
