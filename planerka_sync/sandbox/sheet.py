"""A spreadsheet service for the ``sheet`` KPI source: Google Sheets' published-to-the-web and
export CSV links, and a plain CSV server behind a bearer token.

Routes (the shapes of Google's links; see planerka_sync/kpi_sources/sheet.py for references):

``GET /spreadsheets/d/e/<id>/pub?output=csv[&gid=N][&single=true]``
    A document published to the web. Google answers with a ``307`` to a googleusercontent.com
    host that serves the file; here the 307 points at ``/pub-content/<id>?gid=N&output=csv`` on
    this server. ``output`` is ``csv`` or ``tsv``; without it the published web page (HTML) is
    served; another value is a 400 page. An unknown ``gid`` is a 400 page; an id that is not
    published (unknown, private or only shared by link) is Google's 404 page.
``GET /pub-content/<id>``
    The published file: ``200 text/csv`` with ``ETag`` and ``Last-Modified``; with a matching
    ``If-None-Match`` (or, without one, an ``If-Modified-Since`` not older than the document) a
    ``304`` without a body.
``GET /spreadsheets/d/<id>/export?format=csv[&gid=N]``
    The export link. ``format`` is required (csv or tsv, else 400). A document shared with
    "anyone with the link" is served as above (with conditional GETs); a private one, or one
    only published, answers like Google to a visitor without cookies: a ``302`` to
    ``https://accounts.google.com/ServiceLogin?continue=...``. Seed option ``sign_in_page``
    makes it a ``200 text/html`` sign-in page instead (what a client following the redirect ends
    with).
``GET /files/<name>``
    A CSV server. A document with a ``token`` requires ``Authorization: Bearer <token>``: none
    is a ``401`` with ``WWW-Authenticate: Bearer realm="sheets"``, a wrong one a ``401`` with
    ``error="invalid_token"``; a document with ``forbidden: true`` answers ``403``.

Quota: ``options["quota_per_minute"]`` (default 300) answers per document and sandbox-clock
minute on the entry routes (pub, export, files), 304s included; over it Google's ``429`` page
with ``Retry-After: 60``. 5xx, hangs and drops come from ``POST /_sandbox/faults``.

Controls besides core's: ``GET /_sandbox/answers`` counts the content answers - ``full``
(200 with a body) and ``not_modified`` (304), in total and per path - so a test proves the
cache is used; ``DELETE /_sandbox/answers`` zeroes them. ``POST /_sandbox/documents/<id>``
with a document spec (below) replaces that document, as a person editing the sheet would: its
ETag and Last-Modified change.

Seed: ``{"documents": {id: spec}}``, a spec being ``{"access": "published" | "link" |
"private" | "file", "sheets": {gid: sheet}, "token": str, "forbidden": bool}`` and a sheet
``{"csv": text}`` or ``{"generate": {"metrics": [...], "from": "YYYY-MM-DD", "to": ...,
"style": "ru" | "en"}, "extra_rows": [[metric, period_end, value], ...], "pad_bytes": N}``.

Generated data is one row per metric and day, in date order, header ``metric,period_end,value``,
its value :func:`seed_value` of (metric, day): with ``n`` the days since 2026-01-01, a count
metric is ``COUNT_BASE[metric] + n``; a percent metric (``PERCENT_METRICS``) is
``(300 + n % 100) / 10`` percent, i.e. the fraction ``(300 + n % 100) / 1000`` (34.5 % is
0.345). The ``ru`` style writes what a Russian-locale sheet shows: ``14.12.2026``, ``10 345``
(a no-break space groups digits) and ``34,5%``; ``en`` writes ``2026-12-14``, ``10345`` and
``34.5%``. ``extra_rows`` are appended after the generated rows as written.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
from datetime import date, timedelta
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from planerka_sync.sandbox.core import JSON, Emulator, HttpError, Request, Response, route

EPOCH = date(2026, 1, 1)
COUNT_BASE = {"sessions": 10_000, "conversions": 300, "followers": 5_000,
              "marketing_spend": 200_000, "revenue": 500_000, "emails_sent": 20_000}
PERCENT_METRICS = ("bounce_rate", "engagement_rate")
SEED_METRICS = ("sessions", "conversions", "bounce_rate", "followers", "marketing_spend",
                "revenue")
PUBLISHED_ID = "2PACX-1vSandboxMarketingKpiPublished"
SHARED_ID = "1SandboxSharedMarketingKpiSheetId00"
PRIVATE_ID = "1SandboxPrivateMarketingKpiSheetId0"
FILE_NAME = "team-kpi.csv"
FILE_TOKEN = "sandbox-sheet-token"
QUOTA_PER_MINUTE = 300
ACCESS = ("published", "link", "private", "file")

_GOOGLE_404 = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Google "
               "Drive - Page Not Found</title></head><body><p>Sorry, unable to open the file at "
               "this time.</p><p>Please check the address and try again.</p></body></html>")
_GOOGLE_400 = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error 400 "
               "(Bad Request)</title></head><body><p><b>400.</b> That's an error.</p><p>Your "
               "client has issued a malformed or illegal request. {detail}</p></body></html>")
_GOOGLE_429 = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error 429 "
               "(Too Many Requests)</title></head><body><p><b>429.</b> That's an error.</p><p>"
               "We're sorry, but you have sent too many requests to us recently. Please try "
               "again later.</p></body></html>")
_SIGN_IN = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Google "
            "Sheets: Sign-in</title></head><body><form action=\"https://accounts.google.com/v3/"
            "signin/identifier\"><p>Sign in to continue to Sheets</p><input name=\"identifier\">"
            "</form></body></html>")
_PUBLISHED_PAGE = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
                   "</head><body><div id=\"sheets-viewport\"><table>{rows}</table></div>"
                   "<div>Published by Google Sheets</div></body></html>")


def seed_value(metric: str, day: date) -> float:
    """The value generated data holds for ``metric`` on ``day``, as the source reads it."""
    n = (day - EPOCH).days
    if metric in PERCENT_METRICS:
        return ((300 + n % 100) / 10) / 100
    return float(COUNT_BASE.get(metric, 1_000) + n)


def seed_cell(metric: str, day: date, style: str) -> str:
    """The value as the sheet shows it in ``style`` (ru or en)."""
    n = (day - EPOCH).days
    if metric in PERCENT_METRICS:
        text = f"{(300 + n % 100) / 10:.1f}%"
        return text.replace(".", ",") if style == "ru" else text
    count = COUNT_BASE.get(metric, 1_000) + n
    return f"{count:,}".replace(",", "\u00a0") if style == "ru" else str(count)


def day_cell(day: date, style: str) -> str:
    return f"{day:%d.%m.%Y}" if style == "ru" else day.isoformat()


def generated_csv(metrics: list[str], start: date, end: date, style: str = "ru",
                  extra_rows: list[list[str]] | None = None) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")  # Google's line ends
    writer.writerow(["metric", "period_end", "value"])
    day = start
    while day <= end:
        for metric in metrics:
            writer.writerow([metric, day_cell(day, style), seed_cell(metric, day, style)])
        day += timedelta(days=1)
    for row in extra_rows or []:
        writer.writerow(row)
    return out.getvalue()


def default_seed() -> JSON:
    period = {"metrics": list(SEED_METRICS), "from": "2026-09-01", "to": "2027-03-31"}
    return {"documents": {
        PUBLISHED_ID: {"access": "published", "sheets": {
            "0": {"generate": {**period, "style": "ru"}},
            "1185046931": {"csv": "metric,period_end,value\r\nsessions,07.12.2026,1\r\n"}}},
        SHARED_ID: {"access": "link", "sheets": {"0": {"generate": {**period, "style": "en"}}}},
        PRIVATE_ID: {"access": "private", "sheets": {"0": {"generate": {**period}}}},
        FILE_NAME: {"access": "file", "token": FILE_TOKEN,
                    "sheets": {"0": {"generate": {**period, "style": "en"}}}},
    }}


class ServiceEmulator(Emulator):
    """CSV documents at Google Sheets' published and export links, and at /files/<name>."""

    flavour = "sheet"

    def default_seed(self) -> JSON:
        return default_seed()

    def load_seed(self, seed: JSON) -> None:
        self.db = {"documents": {}}
        self.answers: dict[str, Any] = {"full": 0, "not_modified": 0, "by_path": {}}
        self.windows: dict[str, list[float]] = {}
        for doc_id, spec in (seed or {}).get("documents", {}).items():
            self.db["documents"][doc_id] = self._document(doc_id, spec)

    def reset(self) -> None:
        super().reset()  # load_seed zeroes the answers and the quota windows

    def not_found(self, req: Request) -> Response:
        return Response(404, _GOOGLE_404, content_type="text/html; charset=utf-8")

    # --- documents -------------------------------------------------------------------------
    def _document(self, doc_id: str, spec: JSON) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise HttpError(400, {"error": f"document {doc_id}: a spec is an object"})
        access = spec.get("access", "published")
        if access not in ACCESS:
            raise HttpError(400, {"error": f"document {doc_id}: access is one of {ACCESS}"})
        sheets = {str(gid): self._sheet_text(doc_id, sheet)
                  for gid, sheet in (spec.get("sheets") or {"0": {"csv": ""}}).items()}
        return {"access": access, "sheets": sheets, "token": spec.get("token"),
                "forbidden": bool(spec.get("forbidden")),
                "sign_in_page": bool(spec.get("sign_in_page")),
                "modified": int(self.now()), "spec": copy.deepcopy(spec)}

    @staticmethod
    def _sheet_text(doc_id: str, sheet: JSON) -> str:
        if not isinstance(sheet, dict):
            raise HttpError(400, {"error": f"document {doc_id}: a sheet is an object"})
        if "csv" in sheet:
            text = str(sheet["csv"])
        elif "generate" in sheet:
            spec = sheet["generate"]
            text = generated_csv(list(spec.get("metrics", SEED_METRICS)),
                                 date.fromisoformat(spec["from"]), date.fromisoformat(spec["to"]),
                                 spec.get("style", "ru"), sheet.get("extra_rows"))
        else:
            raise HttpError(400, {"error": f"document {doc_id}: a sheet has csv or generate"})
        if sheet.get("pad_bytes"):
            text += "padding,," + "x" * int(sheet["pad_bytes"]) + "\r\n"
        return text

    def extra_control(self, method: str, what: str, req: Request) -> Response | None:
        if what == "answers" and method == "GET":
            with self.lock:
                return Response(200, copy.deepcopy(self.answers))
        if what == "answers" and method == "DELETE":
            with self.lock:
                self.answers = {"full": 0, "not_modified": 0, "by_path": {}}
            return Response(204)
        if what.startswith("documents/") and method == "POST":
            doc_id = what.removeprefix("documents/")
            document = self._document(doc_id, req.json())
            with self.lock:
                old = self.db["documents"].get(doc_id)
                # An edit is newer than what was served, even within the same second.
                if old is not None and document["modified"] <= old["modified"]:
                    document["modified"] = old["modified"] + 1
                self.db["documents"][doc_id] = document
            return Response(201, {"id": doc_id, "etag": _etag(document["sheets"])})
        return None

    # --- routes ----------------------------------------------------------------------------
    @route("GET", r"/spreadsheets/d/e/(?P<doc>[A-Za-z0-9_-]+)/pub", auth=False)
    def published(self, req: Request) -> Response:
        document = self._documents().get(req.params["doc"])
        if document is None or document["access"] != "published":
            return self.not_found(req)
        self._spend_quota(req.params["doc"])
        gid = self._gid(req, document)
        output = req.arg("output")
        if output is None:
            return self._published_page(document, gid)
        if output not in ("csv", "tsv"):
            return _bad_request(f"Unsupported output format: {output}.")
        single = req.arg("single")
        if single not in (None, "true", "false"):
            return _bad_request("single must be true or false.")
        target = (f"{self.base_url}/pub-content/{req.params['doc']}?gid={gid}&output={output}")
        return Response(307, f"<HTML><HEAD><TITLE>Temporary Redirect</TITLE></HEAD><BODY>"
                             f"<A HREF=\"{target}\">here</A></BODY></HTML>",
                        headers={"Location": target}, content_type="text/html; charset=UTF-8")

    @route("GET", r"/pub-content/(?P<doc>[A-Za-z0-9_-]+)", auth=False)
    def published_content(self, req: Request) -> Response:
        document = self._documents().get(req.params["doc"])
        if document is None or document["access"] != "published":
            return self.not_found(req)
        return self._content(req, document, self._gid(req, document), req.arg("output") or "csv")

    @route("GET", r"/spreadsheets/d/(?P<doc>[A-Za-z0-9_-]+)/export", auth=False)
    def export(self, req: Request) -> Response:
        document = self._documents().get(req.params["doc"])
        if document is None or document["access"] == "file":
            return self.not_found(req)
        self._spend_quota(req.params["doc"])
        if document["access"] != "link":
            if document["sign_in_page"]:
                return Response(200, _SIGN_IN, content_type="text/html; charset=utf-8")
            back = quote(f"https://docs.google.com{req.path}?format=csv", safe="")
            return Response(302, "", headers={
                "Location": f"https://accounts.google.com/ServiceLogin?service=wise&passive="
                            f"1209600&continue={back}&followup={back}"},
                content_type="text/html; charset=UTF-8")
        fmt = req.arg("format")
        if fmt not in ("csv", "tsv"):
            return _bad_request("format must be csv or tsv." if fmt else "format is required.")
        return self._content(req, document, self._gid(req, document), fmt)

    @route("GET", r"/files/(?P<name>[A-Za-z0-9_.-]+)", auth=False)
    def file(self, req: Request) -> Response:
        document = self._documents().get(req.params["name"])
        if document is None or document["access"] != "file":
            return Response(404, "Not Found")
        if document["token"]:
            given = req.header("Authorization") or ""
            if not given.startswith("Bearer "):
                return Response(401, {"error": "unauthorized"},
                                headers={"WWW-Authenticate": 'Bearer realm="sheets"'})
            if given.removeprefix("Bearer ") != document["token"]:
                return Response(401, {"error": "invalid_token"}, headers={
                    "WWW-Authenticate": 'Bearer realm="sheets", error="invalid_token"'})
        if document["forbidden"]:
            return Response(403, {"error": "forbidden"})
        self._spend_quota(req.params["name"])
        return self._content(req, document, "0", "csv")

    # --- helpers -----------------------------------------------------------------------------
    def _documents(self) -> dict[str, dict[str, Any]]:
        documents: dict[str, dict[str, Any]] = self.db["documents"]
        return documents

    @staticmethod
    def _gid(req: Request, document: dict[str, Any]) -> str:
        gid = req.arg("gid")
        if gid is None:
            return next(iter(document["sheets"]))
        if gid not in document["sheets"]:
            raise _html_error(400, _GOOGLE_400.format(detail=f"No sheet with gid {gid}."))
        return gid

    def _spend_quota(self, doc_id: str) -> None:
        limit = int(self.options.get("quota_per_minute", QUOTA_PER_MINUTE))
        now = self.now()
        window = [t for t in self.windows.get(doc_id, []) if t > now - 60]
        if len(window) >= limit:
            self.windows[doc_id] = window
            raise _html_error(429, _GOOGLE_429, {"Retry-After": "60"})
        window.append(now)
        self.windows[doc_id] = window

    def _content(self, req: Request, document: dict[str, Any], gid: str,
                 fmt: str) -> Response:
        text = document["sheets"][gid]
        if fmt == "tsv":
            text = "\r\n".join("\t".join(cells) for cells in csv.reader(io.StringIO(text)))
        body = text.encode("utf-8")
        etag = _etag({gid: text, "fmt": fmt})
        modified = formatdate(document["modified"], usegmt=True)
        headers = {"ETag": etag, "Last-Modified": modified,
                   "Cache-Control": "private, max-age=0, must-revalidate"}
        counts = self.answers["by_path"].setdefault(req.path, {"full": 0, "not_modified": 0})
        if _not_modified(req, etag, document["modified"]):
            self.answers["not_modified"] += 1
            counts["not_modified"] += 1
            return Response(304, None, headers=headers)
        self.answers["full"] += 1
        counts["full"] += 1
        kind = "text/csv" if fmt == "csv" else "text/tab-separated-values"
        headers["Content-Disposition"] = f'attachment; filename="sheet.{fmt}"'
        return Response(200, body, headers=headers, content_type=f"{kind}; charset=utf-8")

    def _published_page(self, document: dict[str, Any], gid: str) -> Response:
        cells = list(csv.reader(io.StringIO(document["sheets"][gid])))[:50]
        rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)
        return Response(200, _PUBLISHED_PAGE.format(title="KPI", rows=rows),
                        content_type="text/html; charset=utf-8")


def _etag(content: Any) -> str:
    digest = hashlib.sha256(repr(sorted(content.items())).encode("utf-8")).hexdigest()
    return f'"{digest[:24]}"'


def _not_modified(req: Request, etag: str, modified: float) -> bool:
    """RFC 9110 13.2.2: If-None-Match (weak comparison) decides when present; otherwise
    If-Modified-Since, when the document is not newer than it."""
    tags = req.header("If-None-Match")
    if tags is not None:
        wanted = {t.strip().removeprefix("W/") for t in tags.split(",")}
        return "*" in wanted or etag in wanted
    since = req.header("If-Modified-Since")
    if since is None:
        return False
    try:
        return int(modified) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as the RFC says


def _html_error(status: int, page: str, headers: dict[str, str] | None = None) -> HttpError:
    error = HttpError(status, page, headers)
    error.response.content_type = "text/html; charset=utf-8"
    return error


def _bad_request(detail: str) -> Response:
    return Response(400, _GOOGLE_400.format(detail=detail),
                    content_type="text/html; charset=utf-8")
