"""A spreadsheet as a KPI source: a Google Sheets sheet published to the web as CSV, any CSV URL,
or a local CSV file, in the long layout of ``planerka-sync kpi import``: columns ``metric``,
``period_end``, ``value`` (a ``source`` column is checked as ``kpi import`` checks it, but the
values are stored as the ``sheet`` source's). A wide layout (a column per metric) is not read.

Which rows count: those whose ``period_end`` falls within the period's days (both ends
included). The dates are read as written, as the team's local dates (the sheet has no time
zone; keep it in the team's, ``timezone`` of the config). When several rows of one metric fall
within the period, the LAST in the sheet wins: a sheet grows at the bottom, and a row added
later corrects an earlier one. The cells are read by the rules of ``kpi import``
(:func:`planerka_sync.kpi_sources.csv_source.iter_downloaded`): UTF-8/UTF-16/Windows-1251,
"," or ";", ``1 234,5`` or ``1,234.5``, ``3,4 %`` is the fraction 0.034, dates ``YYYY-MM-DD`` or
``DD.MM.YYYY``. A row of a metric the mapping does not know, or a row that cannot be read, is a
note (``Pulled.notes``), not a failure: one typo must not hide the rest of the sheet.

Which metrics: by default every metric a person may record in the built-in marketing set
(``DEFAULT_METRICS``), each read from the rows whose ``metric`` cell is its id. ``metrics``
overrides that per metric (``{sessions: Визиты}`` reads rows named "Визиты"), adds metrics of
a custom KPI set, or drops one with an empty name (``{followers: ""}``: followers come from
another source). A wanted metric the sheet has rows of, but none within the period, fails as
``missing``; one the sheet has never had a row of is not this sheet's and is left alone (noted).

Fetching (HTTPS): one GET, redirects followed by hand (Google answers a published link with a
307 to googleusercontent.com). A redirect to accounts.google.com, or a sign-in page, means the
sheet is not published: that fails as ``denied`` with "publish the sheet to the web as CSV".
Other failures: 401/403 ``denied``, 404 and other statuses ``http:<status>``, 429 ``quota``,
no answer within ``timeout`` seconds (for the whole answer, redirects included) ``timeout``, an
answer over ``MAX_BYTES`` or a web page instead of CSV ``unreadable``. The URL is never put in a
failure (a published link is a secret of sorts: anyone holding it reads the sheet); its host is.

On a failed GET the failure is reported for the metrics the kept copy (below) has rows of, or
for every wanted metric when there is no copy yet.

Caching: when the server sends an ``ETag`` or ``Last-Modified``, the body is kept with them in
``$XDG_CACHE_HOME/planerka-sync/sheets/<sha256 of the URL>`` (``~/.cache/...`` without the
variable; ``cache_dir`` sets the directory), and the next GET sends ``If-None-Match`` /
``If-Modified-Since``; a ``304 Not Modified`` reuses the kept body. The file is named by the
URL's hash and holds neither the URL nor the token. The cache is never a fallback: a failed
GET is a failed pull, so the scorecard never shows old numbers as this period's.

References relied on:
- Publishing to the web (a published copy, anyone with its URL can read it):
  https://support.google.com/drive/answer/183965?hl=en and who may publish:
  https://support.google.com/drive/answer/114818?hl=en
- The published CSV link (File > Share > Publish to web > Link > a sheet > Comma-separated
  values): https://github.com/lightward/mechanic-docs/blob/main/resources/tutorials/fetching-data-from-a-shared-google-sheet.md
- The export link ``/spreadsheets/d/<id>/export?format=csv&gid=<gid>``:
  https://snapsheets.readthedocs.io/en/latest/notes/format.html ; an unshared sheet answers
  with Google's HTML sign-in page: https://github.com/odino/docsql/issues/5 ,
  https://github.com/jennybc/googlesheets/issues/126
- Conditional GET (ETag / If-None-Match, 304 and the headers it carries):
  https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/If-None-Match
- The cache directory: https://specifications.freedesktop.org/basedir-spec/latest/ar01s02.html
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, urljoin, urlsplit

from pydantic import Field, SecretStr, field_validator

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import (
    SourceFailure,
    TooLate,
    cause,
    http_failure,
    read_capped,
)
from planerka_sync.kpi_sources.csv_source import CsvReport, KpiRow, iter_downloaded
from planerka_sync.messages import t

if TYPE_CHECKING:
    import requests

MAX_BYTES = 5_000_000  # ~150 000 rows; a KPI sheet is far smaller
MAX_REDIRECTS = 5
MAX_NOTES = 20
CACHE_MAGIC = b"planerka-sync sheet cache 1\n"
PUBLISH_ADVICE = ("publish the sheet to the web as CSV (File > Share > Publish to web > "
                  "Comma-separated values) and use that link")

# Every metric of the built-in marketing set a person may record (KpiSet.recordable()); each is
# read from the rows whose metric cell is its id unless ``metrics`` says otherwise.
DEFAULT_METRICS: tuple[str, ...] = (
    "sessions", "unique_visitors", "time_on_site_s", "bounce_rate", "page_depth", "conversions",
    "new_customers", "arpu", "gross_margin", "lifetime_months", "revenue", "marketing_spend",
    "ad_spend_search", "ad_conversions_search", "ad_revenue_search", "ad_spend_social",
    "ad_conversions_social", "ad_revenue_social", "followers", "engagement_rate", "reactions",
    "emails_sent", "emails_opened", "email_clicks", "email_conversions", "organic_sessions",
    "avg_position", "usability_score", "page_load_s", "report_on_time", "data_completeness",
)

_METRIC_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Query parameters whose values are credentials (redacted from logs); a Google link's gid,
# single and output are not.
_SECRET_PARAMS = re.compile(r"(?i)(token|key|secret|sig|signature|password|auth|credential)")
# The document id in a Google link: /spreadsheets/d/<id>/... or /spreadsheets/d/e/<id>/pub.
_GOOGLE_ID = re.compile(r"/spreadsheets/d/(?:e/)?([A-Za-z0-9_-]{20,})")
_REDIRECTS = (301, 302, 303, 307, 308)


class SheetSettings(SourceSettings):
    """A CSV at a URL or a path, in the long layout (metric, period_end, value); cached with its
    ETag."""

    kind: Literal["sheet"]
    url: str = Field(description="https URL of the CSV (Google Sheets: File > Share > Publish "
                                 "to web > Comma-separated values), or a file path")
    token: SecretStr | None = Field(
        None, description="sent as 'Authorization: Bearer ...' to a CSV URL behind a token, e.g. "
                          "${SHEET_TOKEN}; not for Google Sheets (publish the sheet instead)")
    metrics: dict[str, str] = Field(
        default_factory=dict,
        description="metric id -> the name in the sheet's metric column, overriding the "
                    "default (the id itself, for every recordable metric of the marketing set); "
                    "an empty name drops the metric from this source")
    cache_dir: str | None = Field(
        None, description="where the ETag cache is kept; default "
                          "$XDG_CACHE_HOME/planerka-sync/sheets (~/.cache/planerka-sync/sheets)")

    @field_validator("url")
    @classmethod
    def _a_csv_link(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("url must not be empty")
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname == "docs.google.com":
            if re.search(r"/(edit|view|htmlview)\b", parts.path) or parts.path.endswith("/pubhtml"):
                raise ValueError(f"this is the sheet's web page, not its CSV: {PUBLISH_ADVICE}")
        elif parts.scheme not in ("", "file", "http", "https") and not re.match(
                r"^[A-Za-z]:[\\/]", value):  # C:\... is a Windows path, not a scheme
            raise ValueError("url must be an http(s) URL or a file path")
        return value

    @field_validator("metrics")
    @classmethod
    def _metric_ids(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [metric for metric in value if not _METRIC_ID.match(metric)]
        if bad:
            raise ValueError(f"not a metric id: {', '.join(map(repr, bad))} (a-z, 0-9, _)")
        return {metric: name.strip() for metric, name in value.items()}

    def secrets(self) -> list[str]:
        found = super().secrets()
        parts = urlsplit(self.url)
        found.append(parts.password or "")
        found += [v for k, v in parse_qsl(parts.query) if _SECRET_PARAMS.search(k)]
        google = _GOOGLE_ID.search(parts.path)
        if google and parts.hostname and parts.hostname.endswith("google.com"):
            found.append(google.group(1))  # anyone holding the id reads the sheet
        return [s for s in found if s]

    def label(self) -> str:
        return t(f"sheet {_place(self.url)}", f"таблица {_place(self.url)}")

    def mapping(self) -> dict[str, str]:
        """metric id -> the name its rows carry in the sheet (lower case, as read)."""
        names = {metric: metric for metric in DEFAULT_METRICS} | self.metrics
        return {metric: name.lower() for metric, name in names.items() if name}


class Source:
    """The rows of one sheet, read once per pull (and once per probe)."""

    def __init__(self, settings: SheetSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = session

    def provides(self) -> dict[str, str]:
        return {metric: f"rows with metric '{name}'"
                for metric, name in self.settings.mapping().items()}

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        mapping = self.settings.mapping()
        names = {m: n for m, n in mapping.items() if m in wanted}
        body, failure = self._body()
        if failure is not None:
            return Pulled.failed(self._had_rows(names), failure)
        assert body is not None
        report = CsvReport()
        rows = list(iter_downloaded(body, None, report))
        if report.fatal:
            return Pulled.failed(names, SourceFailure(
                f"{self.settings.label()}: {report.problems[0].message}", "unreadable"))
        pulled = pick(rows, names, window)
        pulled.notes += unknown_notes(rows, set(mapping.values())) + problem_notes(report)
        return pulled

    def probe(self) -> SourceFailure | None:
        """The sheet answers, as CSV with the three columns (a sheet with no rows yet passes)."""
        body, failure = self._body()
        if failure is not None:
            return failure
        assert body is not None
        report = CsvReport(max_problems=1)
        for _ in iter_downloaded(body, None, report):
            pass
        if report.fatal:
            return SourceFailure(f"{self.settings.label()}: {report.problems[0].message}",
                                 "unreadable")
        return None

    def _had_rows(self, names: Mapping[str, str]) -> list[str]:
        """The metrics a failure is reported for: those the kept copy of the sheet has rows of
        (a metric the sheet never had is not its to miss), or all of them without a copy."""
        s = self.settings
        if urlsplit(s.url).scheme not in ("http", "https"):
            return list(names)
        cached = load_cached(cache_path(cache_dir(s.cache_dir), s.url))
        if cached is None:
            return list(names)
        present = {row.metric for row in iter_downloaded(cached.body, None, CsvReport())}
        return [metric for metric, name in names.items() if name in present] or list(names)

    def _body(self) -> tuple[bytes | None, SourceFailure | None]:
        s = self.settings
        if urlsplit(s.url).scheme in ("http", "https"):
            return download(s.url, s.timeout, cache_dir(s.cache_dir),
                            token=s.token.get_secret_value() if s.token else None,
                            session=self._session)
        return read_file(s.url)


# --- choosing the period's values (pure) -----------------------------------------------------

def pick(rows: Sequence[KpiRow], names: Mapping[str, str], window: Window) -> Pulled:
    """The period's value of each metric in ``names`` (metric id -> its name in the sheet):
    the last row (in sheet order) of that name whose period_end is within the window. A metric
    with rows, but none in the window, fails as ``missing``; one without any row is noted."""
    last: dict[str, float] = {}
    seen: set[str] = set()
    for row in rows:
        seen.add(row.metric)
        if window.start <= row.period_end <= window.end:
            last[row.metric] = row.value
    pulled = Pulled()
    for metric, name in names.items():
        if name in last:
            pulled.values[metric] = last[name]
        elif name in seen:
            pulled.failures[metric] = SourceFailure(
                f"the sheet has no row of {name!r} with period_end from {window.start} to "
                f"{window.end}", "missing")
        # A metric the sheet never had is another source's (or nobody's): not the sheet's to
        # mention; the scorecard says which metrics have no data.
    return pulled


def unknown_notes(rows: Sequence[KpiRow], known: Collection[str]) -> list[str]:
    """One note per metric name the mapping does not know: its rows are ignored."""
    lines: dict[str, list[int]] = {}
    for row in rows:
        if row.metric not in known:
            lines.setdefault(row.metric, []).append(row.line)
    notes = []
    for name, found in list(lines.items())[:MAX_NOTES]:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]!r}?" if close else \
            " (name it in the source's metrics to read it)"
        rows_text = "row" if len(found) == 1 else f"{len(found)} rows"
        notes.append(t(f"unknown metric {name!r} ignored ({rows_text}, first on line "
                       f"{found[0]}){hint}",
                       f"неизвестный показатель {name!r} пропущен (строк: {len(found)}, первая "
                       f"— {found[0]})" + (f"; может быть, {close[0]!r}?" if close else
                                            "; укажите его в metrics источника")))
    if len(lines) > MAX_NOTES:
        notes.append(t(f"and {len(lines) - MAX_NOTES} more unknown metrics",
                       f"и ещё неизвестных показателей: {len(lines) - MAX_NOTES}"))
    return notes


def problem_notes(report: CsvReport) -> list[str]:
    """The reader's problems as notes, the first ``MAX_NOTES`` of them in detail."""
    notes = [str(problem) for problem in report.problems[:MAX_NOTES]]
    more = report.problem_count - len(notes)
    if more > 0:
        notes.append(t(f"and {more} more rows that could not be read",
                       f"и ещё строк, которые не удалось прочитать: {more}"))
    return notes


# --- reading a file --------------------------------------------------------------------------

def read_file(location: str) -> tuple[bytes | None, SourceFailure | None]:
    path = Path(location.removeprefix("file://"))
    try:
        with open(path, "rb") as raw:
            body = raw.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None, SourceFailure(f"no file {path.name}", "unreachable")
    except OSError as exc:
        return None, SourceFailure(f"cannot read {path.name}: {exc.strerror or exc}",
                                   "unreachable")
    if len(body) > MAX_BYTES:
        return None, SourceFailure(f"{path.name} is larger than {MAX_BYTES} bytes", "unreadable")
    return body, None


# --- the cache ---------------------------------------------------------------------------------

def cache_dir(configured: str | None) -> Path:
    """``cache_dir``, else ``$XDG_CACHE_HOME/planerka-sync/sheets`` (a relative value of the
    variable is ignored, as the XDG spec asks), else ``~/.cache/planerka-sync/sheets``."""
    if configured:
        return Path(configured).expanduser()
    home = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(home) if os.path.isabs(home) else Path.home() / ".cache"
    return base / "planerka-sync" / "sheets"


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str | None
    last_modified: str | None


def cache_path(directory: Path, url: str) -> Path:
    return directory / hashlib.sha256(url.encode("utf-8")).hexdigest()


def load_cached(path: Path) -> Cached | None:
    """The kept copy, or None when there is none or it is damaged (then the GET is plain)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(CACHE_MAGIC):
        return None
    meta_line, _, body = data[len(CACHE_MAGIC):].partition(b"\n")
    try:
        meta = json.loads(meta_line)
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(body).hexdigest():
        return None
    etag, modified = meta.get("etag"), meta.get("last_modified")
    if not isinstance(etag, str | None) or not isinstance(modified, str | None):
        return None
    return Cached(body, etag, modified)


def store_cached(path: Path, cached: Cached) -> None:
    """Written whole or not at all (a temporary file renamed over the old one), readable by the
    user alone. A cache that cannot be written costs the next GET its 304, nothing more."""
    meta = json.dumps({"etag": cached.etag, "last_modified": cached.last_modified,
                       "size": len(cached.body),
                       "sha256": hashlib.sha256(cached.body).hexdigest()})
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(CACHE_MAGIC + meta.encode() + b"\n" + cached.body)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return


# --- downloading ---------------------------------------------------------------------------------

class _TooBig(Exception):
    pass


def download(url: str, timeout: float, directory: Path, *, token: str | None = None,
             session: requests.Session | None = None) -> tuple[bytes | None,
                                                                 SourceFailure | None]:
    """The CSV's bytes (the kept copy on a 304), or why not."""
    import requests
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    place = _place(url)
    path = cache_path(directory, url)
    cached = load_cached(path)
    try:
        return _get(url, timeout, path, cached, token, session)
    except (requests.Timeout, ReadTimeoutError, TooLate):
        return None, SourceFailure(f"{place}: no answer within {timeout:g} s", "timeout")
    except _TooBig:
        return None, SourceFailure(f"{place}: the answer is larger than {MAX_BYTES} bytes",
                                   "unreadable")
    except ProtocolError:
        return None, SourceFailure(f"{place}: the connection broke off mid-answer", "unreadable")
    except requests.ConnectionError as exc:
        if "timed out" in str(exc).lower():
            return None, SourceFailure(f"{place}: no answer within {timeout:g} s", "timeout")
        return None, SourceFailure(f"{place}: cannot connect ({cause(exc)})", "unreachable")
    except (requests.RequestException, OSError) as exc:
        return None, SourceFailure(f"{place}: request failed ({type(exc).__name__})",
                                   "unreachable")


def _get(url: str, timeout: float, path: Path, cached: Cached | None, token: str | None,
         session: requests.Session | None) -> tuple[bytes | None, SourceFailure | None]:
    import requests

    http = session or requests
    deadline = time.monotonic() + timeout  # for the whole answer, redirects included
    headers = {"Accept": "text/csv, text/plain;q=0.5, */*;q=0.1"}
    if cached is not None and cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached is not None and cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    first_host = urlsplit(url).hostname
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        sent = dict(headers)
        if token and urlsplit(current).hostname == first_host:  # never to another host
            sent["Authorization"] = f"Bearer {token}"
        left = deadline - time.monotonic()
        if left <= 0:
            raise TooLate
        with http.get(current, headers=sent, timeout=left, stream=True,
                      allow_redirects=False) as response:
            status = response.status_code
            if status in _REDIRECTS and response.headers.get("Location"):
                target = urljoin(current, response.headers["Location"])
                if _is_sign_in(target):
                    return None, SourceFailure(
                        f"{_place(url)} asks to sign in: the sheet is not public; "
                        f"{PUBLISH_ADVICE}", "denied")
                if urlsplit(target).scheme not in ("http", "https"):
                    return None, SourceFailure(f"{_place(url)} redirects to a non-web address",
                                               "unreadable")
                current = target
                continue
            if status == 304 and cached is not None:
                renewed = Cached(cached.body, response.headers.get("ETag") or cached.etag,
                                 response.headers.get("Last-Modified") or cached.last_modified)
                if renewed != cached:
                    store_cached(path, renewed)
                return cached.body, None
            if status >= 300:
                return None, _status_failure(url, current, status, response.reason or "")
            body = read_capped(response, deadline, MAX_BYTES)
            if body is None:
                raise _TooBig
            kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            failure = _not_csv(url, kind, body)
            if failure is not None:
                return None, failure
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
            if etag or modified:
                store_cached(path, Cached(body, etag, modified))
            return body, None
    return None, SourceFailure(f"{_place(url)}: more than {MAX_REDIRECTS} redirects",
                               "unreadable")




def _status_failure(url: str, current: str, status: int, reason: str) -> SourceFailure:
    failure = http_failure(status, reason)
    place = _place(url)
    if _is_google(current) and status in (401, 403):
        return SourceFailure(f"{place} answered {failure}: the sheet is not public; "
                             f"{PUBLISH_ADVICE}", failure.code)
    if status == 404:
        hint = " (is the sheet still published to the web?)" if _is_google(current) else ""
        return SourceFailure(f"{place} answered {failure}: no such sheet{hint}", failure.code)
    if status in (401, 403):
        return SourceFailure(f"{place} answered {failure}: check the token", failure.code)
    return SourceFailure(f"{place} answered {failure}", failure.code)


def _not_csv(url: str, content_type: str, body: bytes) -> SourceFailure | None:
    """A web page where CSV was expected: Google's sign-in page (a private sheet) is ``denied``,
    any other page ``unreadable``."""
    head = body[:2048].lstrip().lower()
    if content_type != "text/html" and not head.startswith((b"<!doctype html", b"<html")):
        return None
    if b"accounts.google.com" in body or b"servicelogin" in body.lower():
        return SourceFailure(f"{_place(url)} answered with a sign-in page: the sheet is not "
                             f"public; {PUBLISH_ADVICE}", "denied")
    return SourceFailure(f"{_place(url)} answered with a web page, not CSV; {PUBLISH_ADVICE}",
                         "unreadable")


def _is_google(url: str) -> bool:
    """A Google Sheets link (by its host, or by its path: the sandbox serves those too)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return (host == "docs.google.com" or host.endswith(".googleusercontent.com")
            or parts.path.startswith(("/spreadsheets/d/", "/pub-content/")))


def _is_sign_in(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname == "accounts.google.com" or "servicelogin" in parts.path.lower()


def _place(location: str) -> str:
    """How failures name the sheet: a URL by its host (its path and query may be secrets), a
    file by its name."""
    try:
        parts = urlsplit(location)
    except ValueError:
        return "the sheet"
    if parts.scheme in ("http", "https"):
        return parts.hostname or "the sheet"
    return Path(location.removeprefix("file://")).name or "the sheet"
