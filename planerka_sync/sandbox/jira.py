"""Loopback emulators of Jira Cloud (REST v3, ADF, accountId) and Data Center (REST v2, wiki).

Both follow the Jira Cloud OpenAPI spec (``/work/shared/specs/jira-cloud-openapi.json``) for
paths, parameters, response shapes, status codes and the error body
``{"errorMessages": [...], "errors": {field: message}}``; Data Center differs where the real
product does: ``/rest/api/2`` only, wiki-markup strings, users by ``name``/``key``, Bearer
personal access tokens, and the classic ``/search`` with ``startAt``/``total``.

Endpoints (prefix ``/rest/api/{2,3,latest}``; Cloud serves 2 and 3, DC only 2, ``latest`` = 2):
myself, serverInfo, project (list), project/search (Cloud), project/{idOrKey},
project/{idOrKey}/statuses, issuetype, status, priority, field (system fields), user, user/search,
user/assignable/search, issue (POST), issue/bulk, issue/{idOrKey} (GET/PUT/DELETE),
issue/{idOrKey}/assignee, issue/{idOrKey}/comment[/{id}], issue/{idOrKey}/transitions,
issueLink[/{id}], issueLinkType, issue/{idOrKey}/attachments, attachment/{id},
attachment/content/{id} and /secure/attachment/{id}/{filename} (downloads), label (Cloud),
search/jql + search/approximate-count (Cloud), search (410 Gone on Cloud, classic on DC;
a search's JQL is evaluated once per cursor, see ``open_cursor``);
admin webhooks at /rest/webhooks/1.0/webhook[/{id}] plus ``/_sandbox/webhooks``, delivered
signed from a background thread: see ``jira_webhooks.py`` (its seed keys ``admins`` and
``webhooks``, its options ``webhook_retries``, ``webhook_backoff_seconds``,
``webhook_duplicates``, ``deliver_webhooks``).

Seed format (every key optional; :meth:`JiraEmulatorBase.default_seed` gives the demo team)::

    {
      "people": [SeedPerson, ...],          # see seed.py; Cloud uses jira_account_id,
                                            # DC uses jira_username (key JIRAUSER<10000+i>)
      "actor": "anna",                      # whose credentials unknown emails/tokens map to
      "credentials": [                      # when present, only these are accepted
        {"person": "anna", "email": "anna@example.org", "token": "t0ken"}
      ],                                    # Cloud: Basic email:token; DC: Bearer token,
                                            # or Basic jira_username:token
      "projects": [{"key": "MKT", "name": "Marketing", "id": "10000", "lead": "anna",
                    "issue_types": ["Task", "Sub-task"],
                    "members": ["anna", "ivan"]}],   # members: who may browse (default all)
      "workflow": [["To Do", "new"], ["In Progress", "indeterminate"], ["Done", "done"]],
      "labels": ["extra-known-label"],
      "issues": [{"project": "MKT", "summary": "...", "type": "Task", "status": "To Do",
                  "assignee": "ivan", "reporter": "anna", "labels": ["x"],
                  "duedate": "2026-12-01", "description": <ADF dict on Cloud | wiki str>,
                  "created": "2026-11-20T10:00:00+00:00" | epoch seconds, "updated": ...,
                  "comments": [{"author": "anna", "body": <ADF | str>, "created": ...}]}],
      "generate": {"issues": 250, "project": "MKT", "labels": ["planerka"],
                   "summary": "Generated task {n}", "statuses": ["To Do", "Done"],
                   "assignees": ["ivan", "maria"]}
    }

Generated issues get ``created``/``updated`` one minute apart, ending at seed time.

Options (``options=`` or ``POST /_sandbox/options``):
``search_lag_seconds`` (float, 0): issues created/changed within that many seconds are invisible
(or still in their previous version) to search, except those named in ``reconcileIssues``;
``timezone`` (IANA name, "UTC"): the users' zone for timestamps and JQL dates;
``attachment_max_bytes`` (int, none): larger uploads answer 413;
``dc_deployment_type`` ("Server"): what DC's serverInfo reports (Jira 10 DC says "Server").
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import itertools
import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from planerka_sync.sandbox import jql
from planerka_sync.sandbox.adf import adf_problems
from planerka_sync.sandbox.core import Emulator, HttpError, Request, Response, route
from planerka_sync.sandbox.jira_webhooks import WEBHOOK_ID_ROUTE, WEBHOOK_ROUTE, JiraWebhooks
from planerka_sync.sandbox.seed import (
    DEFAULT_ACTOR,
    DEFAULT_PEOPLE,
    JIRA_ISSUE_TYPES,
    JIRA_PROJECT_KEY,
    JIRA_PROJECT_NAME,
    JIRA_WORKFLOW,
)

JSON = Any
Rec = dict[str, Any]

API = r"/rest/api/(?P<v>[^/]+)"
API_PREFIX = re.compile(r"^/rest/api/([^/]+)(/|$)")
ID = r"(?P<key>[^/]+)"

ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
NOT_STRING = "Operation value must be a string"
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
MAX_TEXT = 32767
MAX_SUMMARY = 255
MAX_BULK = 50
MAX_RECONCILE = 50
ENHANCED_MAX = 5000
HEAVY_PAGE_MAX = 100  # Jira shrinks pages when many fields are requested
CLASSIC_MAX = 1000  # jira.search.views.default.max on Data Center
CURSOR_TTL = 300.0  # sandbox seconds a search cursor stays valid
CURSOR_MAX = 64  # cursors kept; the oldest is dropped first

CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]
DEFAULT_PRIORITY = "3"
LINK_TYPES = [
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
]
# Every field an issue carries, in the order Jira lists them.
ALL_FIELDS = (
    "summary", "description", "status", "issuetype", "project", "assignee", "reporter",
    "creator", "created", "updated", "duedate", "resolutiondate", "resolution", "labels",
    "priority", "comment", "issuelinks", "attachment", "subtasks", "parent",
    "statuscategorychangedate",
)
HEAVY_FIELDS = {"*all", "*navigable", "description", "comment"}
# GET field: the system fields as Jira describes them. Columns: id, name, JQL clause names,
# schema type (None: no schema), array item type, orderable, navigable, searchable.
# Clients (pycontribs ``jira``) read this before searching to map field names to ids.
SYSTEM_FIELDS: tuple[tuple[str, str, tuple[str, ...], str | None, str | None,
                           bool, bool, bool], ...] = (
    ("issuekey", "Key", ("id", "issue", "issuekey", "key"), None, None, False, True, False),
    ("summary", "Summary", ("summary",), "string", None, True, True, True),
    ("description", "Description", ("description",), "string", None, True, True, True),
    ("status", "Status", ("status",), "status", None, False, True, True),
    ("issuetype", "Issue Type", ("issuetype", "type"), "issuetype", None, True, True, True),
    ("project", "Project", ("project",), "project", None, False, True, True),
    ("assignee", "Assignee", ("assignee",), "user", None, True, True, True),
    ("reporter", "Reporter", ("reporter",), "user", None, True, True, True),
    ("creator", "Creator", ("creator",), "user", None, False, True, True),
    ("created", "Created", ("created", "createdDate"), "datetime", None, False, True, True),
    ("updated", "Updated", ("updated", "updatedDate"), "datetime", None, False, True, True),
    ("duedate", "Due date", ("due", "duedate"), "date", None, True, True, True),
    ("resolutiondate", "Resolved", ("resolutiondate", "resolved"), "datetime", None,
     False, True, True),
    ("resolution", "Resolution", ("resolution",), "resolution", None, True, True, True),
    ("labels", "Labels", ("labels",), "array", "string", True, True, True),
    ("priority", "Priority", ("priority",), "priority", None, True, True, True),
    ("comment", "Comment", ("comment",), "comments-page", None, True, False, True),
    ("issuelinks", "Linked Issues", ("issueLink",), "array", "issuelinks", True, True, True),
    ("attachment", "Attachment", ("attachments",), "array", "attachment", True, False, True),
    ("subtasks", "Sub-tasks", ("subtasks",), "array", "issuelinks", False, True, True),
    ("parent", "Parent", ("parent",), None, None, True, False, True),
    ("statuscategorychangedate", "Status Category Changed", ("statusCategoryChangedDate",),
     "datetime", None, False, True, True),
)
# GET issue/{key}/comment pages 100 at a time on Cloud (default and silent clamp). Data Center
# documents a default of 50 yet has been seen answering everything without maxResults: unsure,
# so both flavours get Cloud's stricter 100 here and a client must page either way.
COMMENT_PAGE_MAX = 100
# The ``comment`` field embedded in an issue holds only the first comments (100 seen on Cloud)
# while ``total`` counts them all: a client that stops there loses the rest.
EMBEDDED_COMMENTS_MAX = 100
CREATE_FIELDS = {"project", "summary", "description", "issuetype", "assignee", "reporter",
                 "duedate", "labels", "priority", "parent"}
EDIT_FIELDS = CREATE_FIELDS - {"project", "parent"}
DUE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def bad_request(
    errors: dict[str, str] | None = None, messages: list[str] | None = None
) -> HttpError:
    return HttpError(400, {"errorMessages": messages or [], "errors": errors or {}})


def not_found(message: str) -> HttpError:
    return HttpError(404, {"errorMessages": [message], "errors": {}})


def parse_when(value: Any) -> float:
    """Seed timestamps: epoch seconds or an ISO 8601 string (naive = UTC)."""
    if isinstance(value, int | float):
        return float(value)
    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def int_arg(req: Request, name: str, default: int) -> int:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(messages=[f"The '{name}' parameter must be an integer."]) from exc


def split_list(values: list[str] | None) -> list[str]:
    """Query lists come repeated (``fields=a&fields=b``) or comma-joined (``fields=a,b``)."""
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


# --- rich text conversions (Cloud keeps ADF, serves v2 as wiki; DC keeps wiki) ---------------


def text_to_adf(text: str) -> JSON:
    """A v2 string on Cloud becomes paragraphs (blank-line separated) with hard breaks."""
    content = []
    for block in re.split(r"\n\s*\n", text.strip()):
        if not block:
            continue
        nodes: list[JSON] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_wiki(node: JSON) -> str:
    """Roughly what Cloud's v2 API answers for an ADF field: wiki markup."""
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    inner = "".join(adf_to_wiki(c) for c in node.get("content") or [])
    attrs = node.get("attrs") or {}
    if kind == "doc":
        return "\n\n".join(adf_to_wiki(c) for c in node.get("content") or []).strip()
    if kind == "text":
        return _wiki_marks(str(node.get("text", "")), node.get("marks") or [])
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return f"[~accountid:{attrs.get('id', '')}]"
    if kind == "date":
        stamp = int(str(attrs.get("timestamp", "0")) or 0) / 1000
        return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
    if kind == "heading":
        return f"h{attrs.get('level', 1)}. {inner}"
    if kind in ("bulletList", "orderedList", "taskList"):
        bullet = {"bulletList": "*", "orderedList": "#", "taskList": "*"}[kind]
        return "\n".join(f"{bullet} {adf_to_wiki(c)}" for c in node.get("content") or [])
    if kind == "taskItem":
        box = "(/)" if attrs.get("state") == "DONE" else "(x)"
        return f"{box} {inner}"
    if kind == "codeBlock":
        return "{code}" + inner + "{code}"
    if kind == "rule":
        return "----"
    if kind == "table":
        return "\n".join(adf_to_wiki(c) for c in node.get("content") or [])
    if kind == "tableRow":
        cells = [adf_to_wiki(c) for c in node.get("content") or []]
        return "|" + "|".join(cells) + "|"
    return inner


def _wiki_marks(text: str, marks: list[JSON]) -> str:
    for mark in marks:
        kind = mark.get("type") if isinstance(mark, dict) else None
        if kind == "strong":
            text = f"*{text}*"
        elif kind == "em":
            text = f"_{text}_"
        elif kind == "strike":
            text = f"-{text}-"
        elif kind == "code":
            text = "{{" + text + "}}"
        elif kind == "link":
            text = f"[{text}|{(mark.get('attrs') or {}).get('href', '')}]"
    return text


def adf_text(node: JSON) -> str:
    """Plain text of an ADF document (for JQL text search and rendered fields)."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "mention":
        return str((node.get("attrs") or {}).get("text", ""))
    parts = [adf_text(c) for c in node.get("content") or []]
    block = node.get("type") in ("doc", "bulletList", "orderedList", "taskList", "table")
    return ("\n" if block else "").join(parts)


@dataclass
class _Cursor:
    """One search's ordered result ids, kept so that later pages need not re-run the JQL."""

    ids: list[str]
    expires: float  # sandbox clock
    key: Any  # DC: (actor, jql, fields, validate); Cloud: None (the token names the cursor)
    fingerprint: tuple[Any, ...]


class _Search(jql.JqlContext):
    """The view of the emulator the JQL evaluator needs."""

    def __init__(self, emulator: JiraEmulatorBase, validate: bool = True) -> None:
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


class JiraEmulatorBase(Emulator):
    """What Jira Cloud and Data Center share; subclasses set identity, rich text, auth."""

    flavour = "jira"
    api_versions: tuple[str, ...] = ("2",)
    deployment_type = "Cloud"
    version = "1001.0.0-SNAPSHOT"
    issue_missing = ISSUE_MISSING

    def __init__(self, seed: JSON | None = None, options: dict[str, Any] | None = None) -> None:
        # The authenticated person travels from authenticate() to the handler on the same
        # server thread; a thread-local keeps concurrent requests from mixing actors.
        self._local = threading.local()
        # Search cursors (see open_cursor); insertion order makes the first the oldest.
        self._cursors: dict[str, _Cursor] = {}
        self._cursor_keys: dict[Any, str] = {}
        self._cursor_ids = itertools.count(1)
        # How many times a JQL query was evaluated against every issue (tests count it).
        self.jql_evaluations = 0
        self.webhooks = JiraWebhooks(self, lambda: _Search(self, validate=False))
        super().__init__(seed, options)

    # --- seed ------------------------------------------------------------------------------
    def default_seed(self) -> JSON:
        return {
            "people": [dict(p) for p in DEFAULT_PEOPLE],
            "actor": DEFAULT_ACTOR,
            "projects": [
                {
                    "key": JIRA_PROJECT_KEY,
                    "name": JIRA_PROJECT_NAME,
                    "id": "10000",
                    "lead": DEFAULT_ACTOR,
                    "issue_types": list(JIRA_ISSUE_TYPES),
                }
            ],
            "workflow": [list(step) for step in JIRA_WORKFLOW],
        }

    def load_seed(self, seed: JSON) -> None:
        seed = seed or {}
        people = seed.get("people") or [dict(p) for p in DEFAULT_PEOPLE]
        self.db = {
            "people": {p["id"]: dict(p, index=i) for i, p in enumerate(people)},
            "actor": seed.get("actor", DEFAULT_ACTOR),
            "credentials": seed.get("credentials"),
            "issue_types": {},
            "statuses": {},
            "projects": {},
            "priorities": {pid: {"id": pid, "name": name} for pid, name in PRIORITIES},
            "link_types": {
                t[0]: {"id": t[0], "name": t[1], "inward": t[2], "outward": t[3]}
                for t in LINK_TYPES
            },
            "labels": sorted(set(seed.get("labels") or [])),
            "issues": {},
            "comments": {},
            "links": {},
            "attachments": {},
            "search_shadow": {},
            "counters": {"issue": 10000, "comment": 10000, "link": 10100, "attachment": 10000,
                         "history": 10000, "keys": {}},
        }
        self._seed_workflow(seed.get("workflow") or [list(s) for s in JIRA_WORKFLOW])
        for project in seed.get("projects") or self.default_seed()["projects"]:
            self._seed_project(project)
        for spec in seed.get("issues") or []:
            self._seed_issue(spec)
        if seed.get("generate"):
            self._generate(seed["generate"])
        self.webhooks.load(seed)
        self._cursors = {}
        self._cursor_keys = {}

    def _seed_workflow(self, workflow: list[list[str]]) -> None:
        for i, (name, category) in enumerate(workflow):
            if category not in CATEGORIES:
                raise ValueError(f"unknown status category {category!r} for {name!r}")
            sid = str(10000 + i)
            self.db["statuses"][sid] = {"id": sid, "name": name, "category": category}

    def _seed_project(self, spec: Rec) -> None:
        pid = str(spec.get("id") or 10000 + len(self.db["projects"]))
        type_ids = []
        for name in spec.get("issue_types") or list(JIRA_ISSUE_TYPES):
            type_ids.append(self._issue_type_id(name))
        self.db["projects"][pid] = {
            "id": pid,
            "key": spec["key"],
            "name": spec.get("name", spec["key"]),
            "description": spec.get("description", ""),
            "lead": spec.get("lead", self.db["actor"]),
            "issue_types": type_ids,
            "members": spec.get("members"),
        }
        self.db["counters"]["keys"].setdefault(spec["key"], 0)

    def _issue_type_id(self, name: str) -> str:
        for tid, existing in self.db["issue_types"].items():
            if existing["name"] == name:
                return str(tid)
        tid = str(10001 + len(self.db["issue_types"]))
        subtask = name.lower().replace("-", "") == "subtask"
        self.db["issue_types"][tid] = {
            "id": tid,
            "name": name,
            "subtask": subtask,
            "hierarchyLevel": -1 if subtask else 0,
            "description": "A small piece of a task." if subtask
            else "A task that needs to be done.",
        }
        return tid

    def _seed_issue(self, spec: Rec) -> Rec:
        project = self._project(spec.get("project", JIRA_PROJECT_KEY), check=False)
        now = self.now()
        created = parse_when(spec["created"]) if "created" in spec else now
        status = self._status_by_name(str(spec["status"])) if spec.get("status") else None
        rec = self._new_issue(
            project,
            {
                "summary": spec.get("summary", "Seeded issue"),
                "issuetype": self._issue_type_id(spec.get("type", "Task")),
                "description": self.seed_rich(spec.get("description")),
                "assignee": spec.get("assignee"),
                "reporter": spec.get("reporter", self.db["actor"]),
                "labels": list(spec.get("labels") or []),
                "duedate": spec.get("duedate"),
                "priority": DEFAULT_PRIORITY,
                "parent": None,
            },
            created,
        )
        if status is not None:
            self._set_status(rec, status["id"], created)
        for c in spec.get("comments") or []:
            when = parse_when(c["created"]) if "created" in c else created
            self._new_comment(rec, c.get("author", self.db["actor"]), self.seed_rich(c["body"]),
                              when)
        rec["updated"] = parse_when(spec["updated"]) if "updated" in spec else rec["updated"]
        return rec

    def _generate(self, spec: Rec) -> None:
        count = int(spec.get("issues", 0))
        statuses = spec.get("statuses") or [self._workflow()[0]["name"]]
        assignees = spec.get("assignees") or [None]
        now = self.now()
        for n in range(1, count + 1):
            when = now - (count - n) * 60
            self._seed_issue(
                {
                    "project": spec.get("project", JIRA_PROJECT_KEY),
                    "summary": str(spec.get("summary", "Generated task {n}")).format(n=n),
                    "labels": list(spec.get("labels") or []),
                    "status": statuses[(n - 1) % len(statuses)],
                    "assignee": assignees[(n - 1) % len(assignees)],
                    "created": when,
                    "updated": when,
                }
            )

    # --- flavour hooks ---------------------------------------------------------------------
    def user_json(self, pid: str | None, v: str) -> JSON:
        raise NotImplementedError

    def user_ids(self, pid: str | None) -> list[str]:
        """How JQL and requests may name a person on this flavour."""
        raise NotImplementedError

    def resolve_user(self, value: JSON, field: str) -> str | None:
        """The person a request's user object names (None = nobody); 400 when unknown."""
        raise NotImplementedError

    def rich_in(self, value: JSON, v: str, field: str) -> JSON:
        """Validate a description/comment body as sent on API version ``v``; storage form."""
        raise NotImplementedError

    def rich_out(self, stored: JSON, v: str) -> JSON:
        raise NotImplementedError

    def plain(self, stored: JSON) -> str:
        raise NotImplementedError

    # --- request plumbing ------------------------------------------------------------------
    def _dispatch(self, req: Request) -> Response:
        # Unknown API versions (/rest/api/3 on DC) are 404s, as on the real servers.
        match = API_PREFIX.match(req.path)
        if match and match.group(1) not in (*self.api_versions, "latest"):
            return self.not_found(req)
        return super()._dispatch(req)

    def extra_control(self, method: str, what: str, req: Request) -> Response | None:
        return self.webhooks.control(method, what, req)

    def actor(self) -> str:
        return getattr(self._local, "actor", None) or self.db["actor"]

    def set_actor(self, pid: str | None) -> None:
        self._local.actor = pid

    def unauthorized(self, reason: str = "AUTHENTICATED_FAILED") -> Response:
        return Response(
            401,
            {"errorMessages": [NOT_AUTHENTICATED], "errors": {}},
            {"X-Seraph-LoginReason": reason, "WWW-Authenticate": 'Basic realm="protected-area"'},
        )

    @staticmethod
    def ver(req: Request) -> str:
        v = req.params.get("v", "2")
        return "2" if v == "latest" else v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(str(self.options.get("timezone") or "UTC"))

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def api_url(self, v: str, path: str) -> str:
        return f"{self.base_url}/rest/api/{v}/{path}"

    def jira_time(self, stamp: float | None) -> str | None:
        if stamp is None:
            return None
        moment = datetime.fromtimestamp(stamp, self.tz)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + \
            moment.strftime("%z")

    def next_id(self, counter: str) -> str:
        self.db["counters"][counter] += 1
        return str(self.db["counters"][counter] - 1)

    def person(self, pid: str | None) -> Rec | None:
        return self.db["people"].get(pid) if pid else None

    def avatar_urls(self, seed: str) -> JSON:
        sizes = {"48x48": 48, "24x24": 24, "16x16": 16, "32x32": 32}
        return {k: self.url(f"/secure/useravatar?size={n}&ownerId={quote(seed)}")
                for k, n in sizes.items()}

    # --- lookups -----------------------------------------------------------------------------
    def can_browse(self, project: Rec) -> bool:
        members = project.get("members")
        return members is None or self.actor() in members

    def _project(self, id_or_key: Any, check: bool = True) -> Rec:
        text = str(id_or_key)
        for project in self.db["projects"].values():
            if text in (project["id"], project["key"]) or text.upper() == project["key"]:
                if check and not self.can_browse(project):
                    break
                return dict(project)
        raise not_found(f"No project could be found with key '{text}'.")

    def _issue(self, id_or_key: str) -> Rec:
        issue = self.db["issues"].get(id_or_key)
        if issue is None:
            wanted = id_or_key.upper()
            issue = next((i for i in self.db["issues"].values() if i["key"] == wanted), None)
        if issue is None or not self.can_browse(self.db["projects"][issue["project"]]):
            raise not_found(self.issue_missing)
        return dict(issue)

    def _issue_rec(self, id_or_key: str) -> Rec:
        """The stored (mutable) record of a visible issue."""
        return self.db["issues"][self._issue(id_or_key)["id"]]

    def _workflow(self) -> list[Rec]:
        return list(self.db["statuses"].values())

    def _status_by_name(self, name: str) -> Rec:
        for status in self._workflow():
            if status["name"].lower() == str(name).lower() or status["id"] == str(name):
                return dict(status)
        raise ValueError(f"unknown status {name!r} in seed")

    # --- JSON shapes -------------------------------------------------------------------------
    def category_json(self, key: str) -> JSON:
        cat = CATEGORIES[key]
        return {"self": self.url(f"/rest/api/2/statuscategory/{cat['id']}"), **cat}

    def status_json(self, sid: str, v: str) -> JSON:
        status = self.db["statuses"][sid]
        return {
            "self": self.api_url(v, f"status/{sid}"),
            "description": "",
            "iconUrl": self.url("/images/icons/statuses/generic.png"),
            "name": status["name"],
            "untranslatedName": status["name"],
            "id": sid,
            "statusCategory": self.category_json(status["category"]),
        }

    def issuetype_json(self, tid: str, v: str) -> JSON:
        itype = self.db["issue_types"][tid]
        return {
            "self": self.api_url(v, f"issuetype/{tid}"),
            "id": tid,
            "description": itype["description"],
            "iconUrl": self.url(
                f"/secure/viewavatar?size=medium&avatarId={tid}&avatarType=issuetype"
            ),
            "name": itype["name"],
            "subtask": itype["subtask"],
            "avatarId": int(tid),
            "hierarchyLevel": itype["hierarchyLevel"],
        }

    def priority_json(self, prid: str, v: str) -> JSON:
        priority = self.db["priorities"][prid]
        return {
            "self": self.api_url(v, f"priority/{prid}"),
            "iconUrl": self.url(f"/images/icons/priorities/{priority['name'].lower()}.svg"),
            "name": priority["name"],
            "id": prid,
        }

    def project_json(self, project: Rec, v: str, expand: set[str], full: bool) -> JSON:
        body: JSON = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            "self": self.api_url(v, f"project/{project['id']}"),
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "avatarUrls": self.avatar_urls(f"project-{project['id']}"),
            "projectTypeKey": "software",
            "isPrivate": False,
            "properties": {},
        }
        if full:
            body.update(
                description=project["description"],
                lead=self.user_json(project["lead"], v),
                components=[],
                versions=[],
                assigneeType="UNASSIGNED",
                roles={},
            )
        if full or "issueTypes" in expand:
            body["issueTypes"] = [self.issuetype_json(t, v) for t in project["issue_types"]]
        return body

    def project_ref(self, project: Rec, v: str) -> JSON:
        return {
            "self": self.api_url(v, f"project/{project['id']}"),
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "projectTypeKey": "software",
            "avatarUrls": self.avatar_urls(f"project-{project['id']}"),
        }

    def issue_brief(self, rec: Rec, v: str) -> JSON:
        """How an issue appears inside another (links, parent, subtasks)."""
        return {
            "id": rec["id"],
            "key": rec["key"],
            "self": self.api_url(v, f"issue/{rec['id']}"),
            "fields": {
                "summary": rec["summary"],
                "status": self.status_json(rec["status"], v),
                "priority": self.priority_json(rec["priority"], v),
                "issuetype": self.issuetype_json(rec["issuetype"], v),
            },
        }

    def comment_json(self, comment: Rec, v: str, rendered: bool = False) -> JSON:
        body: JSON = {
            "self": self.api_url(v, f"issue/{comment['issue']}/comment/{comment['id']}"),
            "id": comment["id"],
            "author": self.user_json(comment["author"], v),
            "body": self.rich_out(comment["body"], v),
            "updateAuthor": self.user_json(comment["update_author"], v),
            "created": self.jira_time(comment["created"]),
            "updated": self.jira_time(comment["updated"]),
        }
        if self.deployment_type == "Cloud":
            body["jsdPublic"] = True
        if rendered:
            body["renderedBody"] = self.render_html(comment["body"])
        return body

    def attachment_json(self, att: Rec, v: str) -> JSON:
        return {
            "self": self.api_url(v, f"attachment/{att['id']}"),
            "id": att["id"],
            "filename": att["filename"],
            "author": self.user_json(att["author"], v),
            "created": self.jira_time(att["created"]),
            "size": att["size"],
            "mimeType": att["mimeType"],
            "content": self.content_url(att),
        }

    def content_url(self, att: Rec) -> str:
        return self.url(f"/secure/attachment/{att['id']}/{quote(att['filename'])}")

    def link_type_json(self, tid: str, v: str) -> JSON:
        return {"self": self.api_url(v, f"issueLinkType/{tid}"), **self.db["link_types"][tid]}

    def issue_link_json(self, link: Rec, seen_from: str | None, v: str) -> JSON:
        body: JSON = {
            "id": link["id"],
            "self": self.api_url(v, f"issueLink/{link['id']}"),
            "type": self.link_type_json(link["type"], v),
        }
        inward = self.db["issues"].get(link["inward"])
        outward = self.db["issues"].get(link["outward"])
        # Seen from the inward issue the other end is its outwardIssue, and vice versa.
        if seen_from != link["outward"] and outward:
            body["outwardIssue"] = self.issue_brief(outward, v)
        if seen_from != link["inward"] and inward:
            body["inwardIssue"] = self.issue_brief(inward, v)
        return body

    def render_html(self, stored: JSON) -> str:
        paragraphs = [p for p in self.plain(stored).split("\n") if p.strip()]
        return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)

    def field_json(self, rec: Rec, name: str, v: str) -> JSON:
        project = self.db["projects"][rec["project"]]
        if name in ("created", "updated", "resolutiondate", "statuscategorychangedate"):
            return self.jira_time(rec.get(name))
        if name == "description":
            return self.rich_out(rec["description"], v) if rec["description"] is not None else None
        if name == "status":
            return self.status_json(rec["status"], v)
        if name == "issuetype":
            return self.issuetype_json(rec["issuetype"], v)
        if name == "project":
            return self.project_ref(project, v)
        if name in ("assignee", "reporter", "creator"):
            return self.user_json(rec[name], v) if rec[name] else None
        if name == "priority":
            return self.priority_json(rec["priority"], v)
        if name == "resolution":
            if rec["resolutiondate"] is None:
                return None
            return {"self": self.api_url(v, "resolution/10000"), "id": "10000",
                    "description": "Work has been completed on this issue.", "name": "Done"}
        if name == "comment":
            ids = [c for c in rec["comments"] if c in self.db["comments"]]
            comments = [self.comment_json(self.db["comments"][c], v)
                        for c in ids[:EMBEDDED_COMMENTS_MAX]]
            return {"comments": comments, "self": self.api_url(v, f"issue/{rec['id']}/comment"),
                    "maxResults": len(comments), "total": len(ids), "startAt": 0}
        if name == "issuelinks":
            return [self.issue_link_json(self.db["links"][lid], rec["id"], v)
                    for lid in rec["links"] if lid in self.db["links"]]
        if name == "attachment":
            return [self.attachment_json(self.db["attachments"][a], v)
                    for a in rec["attachments"] if a in self.db["attachments"]]
        if name == "subtasks":
            return [self.issue_brief(i, v) for i in self.db["issues"].values()
                    if i.get("parent") == rec["id"]]
        if name == "parent":
            parent = self.db["issues"].get(rec.get("parent") or "")
            return self.issue_brief(parent, v) if parent else None
        if name == "labels":
            return list(rec["labels"])
        return rec.get(name)

    def issue_json(self, rec: Rec, v: str, fields: list[str] | None, expand: set[str]) -> JSON:
        """An IssueBean; ``fields=None`` is the enhanced search's id-only answer."""
        if fields is None:
            return {"id": rec["id"]}
        out: JSON = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
                      "versionedRepresentations",
            "id": rec["id"],
            "self": self.api_url(v, f"issue/{rec['id']}"),
            "key": rec["key"],
            "fields": {},
        }
        for name in fields:
            if name == "parent" and not rec.get("parent"):
                continue  # Jira omits parent on top-level issues
            if name == "statuscategorychangedate" and self.deployment_type != "Cloud":
                continue
            out["fields"][name] = self.field_json(rec, name, v)
        if "renderedFields" in expand:
            out["renderedFields"] = {
                "description": self.render_html(rec["description"]) if rec["description"] else None,
                "created": self.jira_time(rec["created"]),
                "updated": self.jira_time(rec["updated"]),
            }
        if "changelog" in expand:
            out["changelog"] = self.changelog_json(rec, v)
        return out

    def changelog_json(self, rec: Rec, v: str) -> JSON:
        histories = [
            {"id": h["id"], "author": self.user_json(h["author"], v),
             "created": self.jira_time(h["created"]), "items": h["items"]}
            for h in rec["changelog"]
        ]
        return {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                "histories": histories}

    @staticmethod
    def select_fields(requested: list[str], default: list[str]) -> list[str] | None:
        """Jira's ``fields`` rules: *all, *navigable, names, -exclusions; ["id"] = ids only."""
        tokens = requested or default
        if tokens == ["id"]:
            return None
        include: set[str] = set()
        exclude: set[str] = set()
        for token in tokens:
            if token in ("*all", "*navigable"):
                include.update(ALL_FIELDS)
            elif token.startswith("-"):
                exclude.add(token[1:])
            else:
                include.add(token)  # unknown names are ignored, as Jira does
        return [f for f in ALL_FIELDS if f in include and f not in exclude]

    # --- mutations ---------------------------------------------------------------------------
    def _new_issue(self, project: Rec, values: Rec, when: float) -> Rec:
        counters = self.db["counters"]
        counters["keys"][project["key"]] = counters["keys"].get(project["key"], 0) + 1
        iid = self.next_id("issue")
        first = self._workflow()[0]
        rec: Rec = {
            "id": iid,
            "key": f"{project['key']}-{counters['keys'][project['key']]}",
            "project": project["id"],
            "status": first["id"],
            "created": when,
            "updated": when,
            "statuscategorychangedate": when,
            "resolutiondate": None,
            "creator": self.actor(),
            "comments": [],
            "links": [],
            "attachments": [],
            "changelog": [],
            **values,
        }
        self.db["issues"][iid] = rec
        return rec

    def stage_for_search(self, issue_id: str, before: Rec | None) -> None:
        """Keep the version search still sees while the change 'indexes' (search lag)."""
        lag = float(self.options.get("search_lag_seconds") or 0)
        if lag <= 0:
            return
        now = self.now()
        shadow = self.db["search_shadow"].get(issue_id)
        if shadow is None or shadow["until"] <= now:
            shadow = {"previous": copy.deepcopy(before)}
        shadow["until"] = now + lag
        self.db["search_shadow"][issue_id] = shadow

    def touch(self, rec: Rec, items: list[JSON] | None = None) -> Rec | None:
        """Every change bumps ``updated``; field changes also go to the changelog (returned)."""
        now = self.now()
        rec["updated"] = max(now, rec["updated"])
        if not items:
            return None
        history = {"id": self.next_id("history"), "author": self.actor(), "created": now,
                   "items": items}
        rec["changelog"].append(history)
        return history

    def change_item(self, field: str, old: Any, new: Any, old_text: Any, new_text: Any) -> JSON:
        def text(value: Any) -> str | None:
            if value is None or value == []:
                return None
            return " ".join(value) if isinstance(value, list) else str(value)

        return {"field": field, "fieldtype": "jira", "fieldId": field,
                "from": text(old), "fromString": text(old_text),
                "to": text(new), "toString": text(new_text)}

    def _set_status(self, rec: Rec, sid: str, when: float) -> None:
        old = self.db["statuses"][rec["status"]]
        new = self.db["statuses"][sid]
        rec["status"] = sid
        if old["category"] != new["category"]:
            rec["statuscategorychangedate"] = when
        if new["category"] == "done" and rec["resolutiondate"] is None:
            rec["resolutiondate"] = when
        elif new["category"] != "done":
            rec["resolutiondate"] = None

    def _new_comment(self, rec: Rec, author: str, body: JSON, when: float) -> Rec:
        cid = self.next_id("comment")
        comment = {"id": cid, "issue": rec["id"], "author": author, "update_author": author,
                   "body": body, "created": when, "updated": when}
        self.db["comments"][cid] = comment
        rec["comments"].append(cid)
        return comment

    # --- field validation --------------------------------------------------------------------
    def parse_fields(self, fields: Rec, v: str, allowed: set[str], creating: bool) -> Rec:
        """Turn request ``fields`` into stored values; collects every error like Jira."""
        errors: dict[str, str] = {}
        values: Rec = {}
        for name, value in fields.items():
            if name not in allowed:
                errors[name] = (
                    f"Field '{name}' cannot be set. It is not on the appropriate screen, "
                    "or unknown."
                )
                continue
            try:
                values[name] = self._parse_field(name, value, v, fields)
            except FieldError as err:
                errors[name] = str(err)
        if creating:
            if "project" not in fields:
                errors["project"] = "Specify a valid project ID or key"
            if not str(fields.get("summary") or "").strip() and "summary" not in errors:
                errors["summary"] = "You must specify a summary of the issue."
            if "issuetype" not in fields:
                errors["issuetype"] = "Specify an issue type"
        if errors:
            raise bad_request(errors)
        return values

    def _parse_field(self, name: str, value: Any, v: str, fields: Rec) -> Any:
        if name == "project":
            ref = value.get("id") or value.get("key") if isinstance(value, dict) else None
            try:
                return self._project(ref)["id"]
            except HttpError as exc:
                raise FieldError("Specify a valid project ID or key") from exc
        if name == "summary":
            return self._parse_summary(value)
        if name == "description":
            return None if value is None else self.rich_in(value, v, "description")
        if name == "issuetype":
            return self._parse_issuetype(value, fields)
        if name in ("assignee", "reporter"):
            return self.resolve_user(value, name)
        if name == "duedate":
            return self._parse_due(value)
        if name == "labels":
            return self._parse_labels(value)
        if name == "priority":
            return self._parse_priority(value)
        if name == "parent":
            return self._parse_parent(value)
        raise FieldError(f"Field '{name}' cannot be set.")

    @staticmethod
    def _parse_summary(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise FieldError("You must specify a summary of the issue.")
        if len(value) > MAX_SUMMARY:
            raise FieldError("Summary must be less than 255 characters.")
        if "\n" in value or "\r" in value:
            raise FieldError("The summary is invalid because it contains newline characters.")
        return value

    def _parse_issuetype(self, value: Any, fields: Rec) -> str:
        if not isinstance(value, dict):
            raise FieldError("Specify an issue type")
        for tid, itype in self.db["issue_types"].items():
            if str(value.get("id")) == tid or value.get("name") == itype["name"]:
                project_ref = fields.get("project") or {}
                ref = (project_ref.get("id") or project_ref.get("key")) \
                    if isinstance(project_ref, dict) else None
                if ref:
                    try:
                        project = self._project(ref)
                    except HttpError:
                        return str(tid)  # the project error is reported on its own
                    if tid not in project["issue_types"]:
                        break
                if itype["subtask"] and not fields.get("parent"):
                    raise FieldError(
                        "Issue type is a sub-task but parent issue key or id not specified."
                    )
                return str(tid)
        raise FieldError("The issue type selected is invalid.")

    @staticmethod
    def _parse_due(value: Any) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not DUE_RE.match(value):
            raise FieldError(f"Error parsing date string: {value}")
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise FieldError(f"Error parsing date string: {value}") from exc
        return value

    @staticmethod
    def _parse_labels(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise FieldError("Labels must be a list of strings.")
        for label in value:
            check_label(label)
        return list(dict.fromkeys(value))

    def _parse_priority(self, value: Any) -> str:
        if isinstance(value, dict):
            for prid, priority in self.db["priorities"].items():
                if str(value.get("id")) == prid or value.get("name") == priority["name"]:
                    return str(prid)
        raise FieldError("The priority selected is invalid.")

    def _parse_parent(self, value: Any) -> str:
        ref = (value.get("key") or value.get("id")) if isinstance(value, dict) else None
        try:
            parent = self._issue(str(ref))
        except HttpError as exc:
            raise FieldError("Could not find issue by id or key.") from exc
        if self.db["issue_types"][parent["issuetype"]]["subtask"]:
            raise FieldError("Given parent work item does not belong to appropriate hierarchy.")
        return str(parent["id"])

    def apply_update_ops(self, current: Rec, update: Any, v: str, fields_sent: Rec) -> Rec:
        """The ``update`` verbs (set/add/remove) Jira accepts; returns new stored values."""
        if not isinstance(update, dict):
            raise bad_request(messages=["Can not deserialize 'update': expected an object."])
        errors: dict[str, str] = {}
        values: Rec = {}
        for name, ops in update.items():
            if name in fields_sent:
                errors[name] = f"Field '{name}' cannot be set in both 'fields' and 'update'."
                continue
            if name not in EDIT_FIELDS or not isinstance(ops, list):
                errors[name] = (
                    f"Field '{name}' cannot be set. It is not on the appropriate screen, "
                    "or unknown."
                )
                continue
            try:
                values[name] = self._apply_ops(name, current, ops, v)
            except FieldError as err:
                errors[name] = str(err)
        if errors:
            raise bad_request(errors)
        return values

    def _apply_ops(self, name: str, current: Rec, ops: list[Any], v: str) -> Any:
        value: Any = copy.deepcopy(current.get(name))
        if name == "labels":
            value = list(value or [])
        for op in ops:
            if not isinstance(op, dict) or len(op) != 1:
                raise FieldError("Each operation must have exactly one verb.")
            verb, arg = next(iter(op.items()))
            if verb == "set":
                value = self._parse_field(name, arg, v, current) if name != "labels" \
                    else self._parse_labels(arg)
            elif name == "labels" and verb in ("add", "remove"):
                if not isinstance(arg, str):
                    raise FieldError("Label operations take a single label string.")
                if verb == "add":
                    check_label(arg)
                    value = [*value, arg] if arg not in value else value
                else:
                    value = [x for x in value if x != arg]
            else:
                raise FieldError(f"The operation '{verb}' is not supported by the field '{name}'.")
        return value

    # --- JQL hooks ---------------------------------------------------------------------------
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
            return [self.plain(self.db["comments"][c]["body"])
                    for c in rec["comments"] if c in self.db["comments"]]
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
            names = {str(x).lower() for c in CATEGORIES.values()
                     for x in (c["name"], c["key"], c["id"])}
        elif field == "issuetype":
            names = {x.lower() for t in self.db["issue_types"].values()
                     for x in (t["name"], t["id"])}
        elif field in ("assignee", "reporter"):
            names = {x.lower() for pid in self.db["people"] for x in self.user_ids(pid)}
        elif field == "priority":
            names = {x.lower() for pr in self.db["priorities"].values()
                     for x in (pr["name"], pr["id"])}
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

    # --- search cursors: evaluate once, page by slicing ------------------------------------
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
        return (len(self.db["issues"]), sum(i["updated"] for i in issues),
                self.db["counters"]["history"], self.db["counters"]["comment"])

    def cursor_page(self, cursor: _Cursor, offset: int, limit: int,
                    reconcile: set[str]) -> list[Rec]:
        """The issues of one page, as they are now (deleted ones are skipped)."""
        now = self.now()
        chunk = cursor.ids[offset:offset + limit]
        return [rec for iid in chunk if (rec := self.search_rec(iid, now, reconcile)) is not None]

    # --- routes: meta ------------------------------------------------------------------------
    @route("GET", API + "/myself")
    def get_myself(self, req: Request) -> JSON:
        body = self.user_json(self.actor(), self.ver(req))
        body.update(
            groups={"size": 1, "items": []},
            applicationRoles={"size": 1, "items": []},
            expand="groups,applicationRoles",
            locale="ru_RU",
        )
        return body

    @route("GET", API + "/serverInfo", auth=False)
    def get_server_info(self, req: Request) -> JSON:
        numbers = [int(x) for x in re.findall(r"\d+", self.version)[:3]]
        return {
            "baseUrl": self.base_url,
            "displayUrl": self.base_url,
            "version": self.version,
            "versionNumbers": numbers,
            "deploymentType": self.deployment_type,
            "buildNumber": 100300,
            "buildDate": "2026-11-01T00:00:00.000+0000",
            "serverTime": self.jira_time(self.now()),
            "scmInfo": "0123456789abcdef0123456789abcdef01234567",
            "serverTitle": "Jira",
        }

    @route("GET", API + "/project")
    def list_projects(self, req: Request) -> JSON:
        expand = set(split_list(req.query.get("expand")))
        return [self.project_json(p, self.ver(req), expand, full=False)
                for p in self.db["projects"].values() if self.can_browse(p)]

    @route("GET", API + r"/project/(?P<key>(?!search$)[^/]+)")
    def get_project(self, req: Request) -> JSON:
        project = self._project(req.params["key"])
        return self.project_json(project, self.ver(req), set(), full=True)

    @route("GET", API + r"/project/(?P<key>[^/]+)/statuses")
    def get_project_statuses(self, req: Request) -> JSON:
        v = self.ver(req)
        project = self._project(req.params["key"])
        statuses = [self.status_json(s["id"], v) for s in self._workflow()]
        return [
            {"self": self.api_url(v, f"issuetype/{t}"), "id": t,
             "name": self.db["issue_types"][t]["name"],
             "subtask": self.db["issue_types"][t]["subtask"], "statuses": statuses}
            for t in project["issue_types"]
        ]

    @route("GET", API + "/issuetype")
    def get_issue_types(self, req: Request) -> JSON:
        return [self.issuetype_json(t, self.ver(req)) for t in self.db["issue_types"]]

    @route("GET", API + "/status")
    def get_statuses(self, req: Request) -> JSON:
        return [self.status_json(s["id"], self.ver(req)) for s in self._workflow()]

    @route("GET", API + "/field")
    def get_fields(self, req: Request) -> JSON:
        return [self.system_field_json(row) for row in SYSTEM_FIELDS
                if row[0] != "statuscategorychangedate" or self.deployment_type == "Cloud"]

    def system_field_json(self, row: tuple[Any, ...]) -> JSON:
        """A FieldDetails; Cloud also names the field's ``key`` (DC's answer has none)."""
        fid, name, clauses, kind, items, orderable, navigable, searchable = row
        body: JSON = {"id": fid, "name": name, "custom": False, "orderable": orderable,
                      "navigable": navigable, "searchable": searchable,
                      "clauseNames": list(clauses)}
        if self.deployment_type == "Cloud":
            body["key"] = fid
        if kind is not None:
            body["schema"] = {"type": kind, "system": fid, **({"items": items} if items else {})}
        return body

    @route("GET", API + "/priority")
    def get_priorities(self, req: Request) -> JSON:
        return [self.priority_json(p, self.ver(req)) for p in self.db["priorities"]]

    @route("GET", API + "/issueLinkType")
    def get_link_types(self, req: Request) -> JSON:
        return {"issueLinkTypes": [self.link_type_json(t, self.ver(req))
                                   for t in self.db["link_types"]]}

    @route("GET", API + "/user/assignable/search")
    def assignable_users(self, req: Request) -> JSON:
        if req.arg("project"):
            self._project(req.arg("project"))
        elif req.arg("issueKey") or req.arg("issueId"):
            self._issue(str(req.arg("issueKey") or req.arg("issueId")))
        else:
            raise bad_request(messages=["The project key or issue key must be provided."])
        return self.user_search(req, required=False)

    def user_search(self, req: Request, required: bool = True) -> JSON:
        raise NotImplementedError

    def seed_rich(self, value: JSON) -> JSON:
        """Seeds may give rich text in either form; store it in this flavour's form."""
        raise NotImplementedError

    def page(self, items: list[Any], req: Request, default_max: int) -> tuple[list[Any], int, int]:
        start = max(int_arg(req, "startAt", 0), 0)
        limit = max(int_arg(req, "maxResults", default_max), 0)
        return items[start:start + limit], start, limit

    # --- routes: issues ----------------------------------------------------------------------
    @route("POST", API + "/issue")
    def create_issue(self, req: Request) -> Response:
        body = req.json()
        created = self.create_one(body, self.ver(req))
        return Response(201, created)

    def create_one(self, body: Any, v: str) -> JSON:
        if not isinstance(body, dict) or not isinstance(body.get("fields", {}), dict):
            raise bad_request(messages=["Can not deserialize the request: expected 'fields'."])
        fields = body.get("fields") or {}
        values = self.parse_fields(fields, v, CREATE_FIELDS, creating=True)
        now = self.now()
        defaults: Rec = {"description": None, "assignee": None, "reporter": self.actor(),
                         "labels": [], "duedate": None, "priority": DEFAULT_PRIORITY,
                         "parent": None}
        project = self._project(values.pop("project"))
        if values.get("parent"):
            parent = self.db["issues"][values["parent"]]
            if parent["project"] != project["id"]:
                raise bad_request({"parent": "The parent issue must be in the same project."})
        base = {**defaults, **values}
        if "update" in body:
            base.update(self.apply_update_ops(base, body["update"], v, fields))
        rec = self._new_issue(project, base, now)
        self.stage_for_search(rec["id"], None)
        self.webhooks.issue_created(rec)
        return {"id": rec["id"], "key": rec["key"], "self": self.api_url(v, f"issue/{rec['id']}")}

    @route("POST", API + "/issue/bulk")
    def create_issues(self, req: Request) -> Response:
        body = req.json()
        updates = body.get("issueUpdates") if isinstance(body, dict) else None
        if not isinstance(updates, list):
            raise bad_request(
                messages=["Can not deserialize the request: expected 'issueUpdates'."]
            )
        if len(updates) > MAX_BULK:
            raise bad_request(messages=[f"Cannot create more than {MAX_BULK} issues at once."])
        issues, errors = [], []
        for n, update in enumerate(updates):
            try:
                issues.append(self.create_one(update, self.ver(req)))
            except HttpError as err:
                errors.append({"status": err.response.status, "elementErrors": err.response.body,
                               "failedElementNumber": n})
        return Response(201 if issues or not updates else 400,
                        {"issues": issues, "errors": errors})

    @route("GET", API + "/issue/" + ID)
    def get_issue(self, req: Request) -> JSON:
        rec = self._issue(req.params["key"])
        fields = self.select_fields(split_list(req.query.get("fields")), ["*all"])
        expand = set(split_list(req.query.get("expand")))
        return self.issue_json(rec, self.ver(req), fields or [], expand)

    @route("PUT", API + "/issue/" + ID)
    def edit_issue(self, req: Request) -> Response:
        v = self.ver(req)
        rec = self._issue_rec(req.params["key"])
        body = req.json()
        if not isinstance(body, dict):
            raise bad_request(messages=["Can not deserialize the request: expected an object."])
        fields = body.get("fields") or {}
        values = self.parse_fields(fields, v, EDIT_FIELDS, creating=False)
        if "issuetype" in values and self.db["issue_types"][values["issuetype"]]["subtask"] \
                != self.db["issue_types"][rec["issuetype"]]["subtask"]:
            raise bad_request({"issuetype": "The issue type selected is invalid."})
        if "update" in body:
            values.update(self.apply_update_ops(rec, body["update"], v, fields))
        self.webhooks.issue_updated(rec, [self.apply_edit(rec, values)])
        if (req.arg("returnIssue") or "").lower() == "true":
            return Response(200, self.issue_json(rec, v, list(ALL_FIELDS), set()))
        return Response(204)

    def apply_edit(self, rec: Rec, values: Rec) -> Rec | None:
        """Store changed values; the changelog history of the edit, None when nothing changed."""
        before = copy.deepcopy(rec)
        items = []
        for name, new in values.items():
            old = rec.get(name)
            if old == new:
                continue
            rec[name] = new
            if name in ("assignee", "reporter"):
                items.append(self.change_item(name, old, new, self._display(old),
                                              self._display(new)))
            elif name == "description":
                items.append(self.change_item(name, None, None, self.plain(old) if old else None,
                                              self.plain(new) if new else None))
            else:
                items.append(self.change_item(name, old, new, old, new))
        if not items:
            return None
        self.stage_for_search(rec["id"], before)
        return self.touch(rec, items)

    def _display(self, pid: str | None) -> str | None:
        person = self.person(pid)
        return person["name"] if person else None

    @route("PUT", API + "/issue/" + ID + "/assignee")
    def assign_issue(self, req: Request) -> Response:
        rec = self._issue_rec(req.params["key"])
        try:
            assignee = self.resolve_user(req.json(), "assignee")
        except FieldError as err:
            raise bad_request({"assignee": str(err)}) from err
        self.webhooks.issue_updated(rec, [self.apply_edit(rec, {"assignee": assignee})])
        return Response(204)

    @route("DELETE", API + "/issue/" + ID)
    def delete_issue(self, req: Request) -> Response:
        rec = self._issue_rec(req.params["key"])
        subtasks = [i for i in self.db["issues"].values() if i.get("parent") == rec["id"]]
        if subtasks and (req.arg("deleteSubtasks") or "").lower() != "true":
            raise bad_request(messages=[
                f"The issue '{rec['key']}' has subtasks. You must specify the 'deleteSubtasks' "
                "parameter to delete this issue and all its subtasks."
            ])
        for victim in [*subtasks, rec]:
            self.webhooks.issue_deleted(victim)
            self._remove_issue(victim)
        return Response(204)

    def _remove_issue(self, rec: Rec) -> None:
        self.stage_for_search(rec["id"], copy.deepcopy(rec))
        for cid in rec["comments"]:
            self.db["comments"].pop(cid, None)
        for aid in rec["attachments"]:
            self.db["attachments"].pop(aid, None)
        for lid in rec["links"]:
            link = self.db["links"].pop(lid, None)
            if link:
                other = link["outward"] if link["inward"] == rec["id"] else link["inward"]
                if other in self.db["issues"]:
                    self.db["issues"][other]["links"].remove(lid)
        del self.db["issues"][rec["id"]]

    # --- routes: comments --------------------------------------------------------------------
    @route("GET", API + "/issue/" + ID + "/comment")
    def list_comments(self, req: Request) -> JSON:
        rec = self._issue(req.params["key"])
        comments = [self.db["comments"][c] for c in rec["comments"] if c in self.db["comments"]]
        order = req.arg("orderBy") or "created"
        comments.sort(key=lambda c: (c["created"], int(c["id"])), reverse=order.startswith("-"))
        rendered = "renderedBody" in split_list(req.query.get("expand"))
        start = max(int_arg(req, "startAt", 0), 0)
        limit = min(max(int_arg(req, "maxResults", COMMENT_PAGE_MAX), 0), COMMENT_PAGE_MAX)
        chunk = comments[start:start + limit]
        return {"startAt": start, "maxResults": limit, "total": len(comments),
                "comments": [self.comment_json(c, self.ver(req), rendered) for c in chunk]}

    @route("POST", API + "/issue/" + ID + "/comment")
    def add_comment(self, req: Request) -> Response:
        v = self.ver(req)
        rec = self._issue_rec(req.params["key"])
        stored = self.comment_body(req, v)
        before = copy.deepcopy(rec)
        comment = self._new_comment(rec, self.actor(), stored, self.now())
        self.stage_for_search(rec["id"], before)
        self.touch(rec)
        self.webhooks.comment_changed(rec, comment, "created")
        return Response(201, self.comment_json(comment, v))

    def comment_body(self, req: Request, v: str) -> JSON:
        body = req.json()
        if not isinstance(body, dict) or "body" not in body:
            raise bad_request({"comment": "Comment body can not be empty!"})
        try:
            return self.rich_in(body["body"], v, "comment")
        except FieldError as err:
            raise bad_request({"comment": str(err)}) from err

    def _comment(self, req: Request) -> tuple[Rec, Rec]:
        rec = self._issue_rec(req.params["key"])
        comment = self.db["comments"].get(req.params["cid"])
        if comment is None or comment["issue"] != rec["id"]:
            raise not_found(f"Can not find a comment for the id: {req.params['cid']}.")
        return rec, comment

    @route("GET", API + "/issue/" + ID + r"/comment/(?P<cid>[^/]+)")
    def get_comment(self, req: Request) -> JSON:
        _, comment = self._comment(req)
        rendered = "renderedBody" in split_list(req.query.get("expand"))
        return self.comment_json(comment, self.ver(req), rendered)

    @route("PUT", API + "/issue/" + ID + r"/comment/(?P<cid>[^/]+)")
    def edit_comment(self, req: Request) -> JSON:
        v = self.ver(req)
        rec, comment = self._comment(req)
        stored = self.comment_body(req, v)
        before = copy.deepcopy(rec)
        comment.update(body=stored, updated=self.now(), update_author=self.actor())
        self.stage_for_search(rec["id"], before)
        self.touch(rec)
        self.webhooks.comment_changed(rec, comment, "updated")
        return self.comment_json(comment, v)

    @route("DELETE", API + "/issue/" + ID + r"/comment/(?P<cid>[^/]+)")
    def delete_comment(self, req: Request) -> Response:
        rec, comment = self._comment(req)
        before = copy.deepcopy(rec)
        del self.db["comments"][comment["id"]]
        rec["comments"].remove(comment["id"])
        self.stage_for_search(rec["id"], before)
        self.touch(rec)
        self.webhooks.comment_changed(rec, comment, "deleted")
        return Response(204)

    # --- routes: transitions -----------------------------------------------------------------
    def transitions_for(self, rec: Rec, v: str) -> list[JSON]:
        """Every status is reachable from every other (a global-transition workflow)."""
        out = []
        for i, status in enumerate(self._workflow()):
            if status["id"] == rec["status"]:
                continue
            out.append({"id": str(11 + 10 * i), "name": status["name"],
                        "to": self.status_json(status["id"], v), "hasScreen": False,
                        "isGlobal": True, "isInitial": False, "isAvailable": True,
                        "isConditional": False, "isLooped": False})
        return out

    @route("GET", API + "/issue/" + ID + "/transitions")
    def get_transitions(self, req: Request) -> JSON:
        rec = self._issue(req.params["key"])
        transitions = self.transitions_for(rec, self.ver(req))
        wanted = req.arg("transitionId")
        if wanted:
            transitions = [t for t in transitions if t["id"] == wanted]
        return {"expand": "transitions", "transitions": transitions}

    @route("POST", API + "/issue/" + ID + "/transitions")
    def do_transition(self, req: Request) -> Response:
        v = self.ver(req)
        rec = self._issue_rec(req.params["key"])
        body = req.json()
        transition = body.get("transition") if isinstance(body, dict) else None
        tid = str(transition.get("id", "")) if isinstance(transition, dict) else ""
        if not tid:
            raise bad_request(messages=["Missing 'transition' identifier"])
        target = next((t for t in self.transitions_for(rec, v) if t["id"] == tid), None)
        if target is None:
            raise bad_request(messages=[f"Transition id '{tid}' is not valid for this issue."])
        fields = body.get("fields") or {}
        values = self.parse_fields(fields, v, EDIT_FIELDS, creating=False)
        if "update" in body:
            values.update(self.apply_update_ops(rec, body["update"], v, fields))
        before = copy.deepcopy(rec)
        old = self.db["statuses"][rec["status"]]
        self._set_status(rec, target["to"]["id"], self.now())
        items = [self.change_item("status", old["id"], rec["status"], old["name"],
                                  target["to"]["name"])]
        if (before["resolutiondate"] is None) != (rec["resolutiondate"] is None):
            items.append(self.change_item("resolution", None, None,
                                          "Done" if before["resolutiondate"] else None,
                                          "Done" if rec["resolutiondate"] else None))
        self.stage_for_search(rec["id"], before)
        history = self.touch(rec, items)
        edited = self.apply_edit(rec, values) if values else None
        self.webhooks.issue_updated(rec, [history, edited], "issue_generic")
        return Response(204)

    # --- routes: links -----------------------------------------------------------------------
    def _link_type(self, ref: Any) -> str:
        if isinstance(ref, dict):
            for tid, ltype in self.db["link_types"].items():
                if str(ref.get("id")) == tid or ref.get("name") == ltype["name"]:
                    return str(tid)
            shown = ref.get("name", ref.get("id"))
            raise not_found(f"No issue link type with name '{shown}' found.")
        raise bad_request(messages=["Issue link type must be specified."])

    def _linked_issue(self, ref: Any) -> Rec:
        if not isinstance(ref, dict) or not (ref.get("key") or ref.get("id")):
            raise bad_request(messages=["Issue must be specified by 'id' or 'key'."])
        try:
            return self._issue_rec(str(ref.get("key") or ref.get("id")))
        except HttpError as exc:
            raise not_found(
                f"Issue '{ref.get('key') or ref.get('id')}' does not exist or you do not have "
                "permission to see it."
            ) from exc

    @route("POST", API + "/issueLink")
    def link_issues(self, req: Request) -> Response:
        v = self.ver(req)
        body = req.json()
        if not isinstance(body, dict):
            raise bad_request(messages=["Can not deserialize the request: expected an object."])
        tid = self._link_type(body.get("type"))
        inward = self._linked_issue(body.get("inwardIssue"))
        outward = self._linked_issue(body.get("outwardIssue"))
        for link in self.db["links"].values():
            same = (link["type"], link["inward"], link["outward"])
            if same == (tid, inward["id"], outward["id"]):
                return Response(201)  # Jira does not duplicate an existing link
        comment = body.get("comment")
        stored_comment = None
        if isinstance(comment, dict) and "body" in comment:
            try:
                stored_comment = self.rich_in(comment["body"], v, "comment")
            except FieldError as err:
                raise bad_request({"comment": str(err)}) from err
        lid = self.next_id("link")
        self.db["links"][lid] = {"id": lid, "type": tid, "inward": inward["id"],
                                 "outward": outward["id"]}
        ltype = self.db["link_types"][tid]
        for rec, other, verb in ((inward, outward, ltype["outward"]),
                                 (outward, inward, ltype["inward"])):
            before = copy.deepcopy(rec)
            rec["links"].append(lid)
            self.stage_for_search(rec["id"], before)
            self.touch(rec, [self.change_item("Link", None, other["key"], None,
                                              f"This issue {verb} {other['key']}")])
        if stored_comment is not None:
            self._new_comment(inward, self.actor(), stored_comment, self.now())
        return Response(201)

    @route("GET", API + r"/issueLink/(?P<lid>[^/]+)")
    def get_issue_link(self, req: Request) -> JSON:
        link = self.db["links"].get(req.params["lid"])
        if link is None:
            raise not_found(f"No issue link with id '{req.params['lid']}' exists.")
        self._issue(link["inward"])
        return self.issue_link_json(link, None, self.ver(req))

    @route("DELETE", API + r"/issueLink/(?P<lid>[^/]+)")
    def delete_issue_link(self, req: Request) -> Response:
        link = self.db["links"].get(req.params["lid"])
        if link is None:
            raise not_found(f"No issue link with id '{req.params['lid']}' exists.")
        for iid in (link["inward"], link["outward"]):
            rec = self._issue_rec(iid)
            before = copy.deepcopy(rec)
            rec["links"].remove(link["id"])
            self.stage_for_search(iid, before)
            self.touch(rec)
        del self.db["links"][link["id"]]
        return Response(204)

    # --- routes: attachments -----------------------------------------------------------------
    @route("POST", API + "/issue/" + ID + "/attachments")
    def add_attachments(self, req: Request) -> Response:
        token = (req.header("X-Atlassian-Token") or "").lower()
        if token not in ("no-check", "nocheck"):
            # Jira's XSRF filter answers before looking at the issue or the body.
            return Response(403, "XSRF check failed", content_type="text/plain;charset=UTF-8")
        v = self.ver(req)
        rec = self._issue_rec(req.params["key"])
        parts = [p for p in req.multipart() if p.name == "file" and p.filename is not None]
        if not parts:
            raise bad_request(messages=["No file was attached: use the multipart field 'file'."])
        limit = self.options.get("attachment_max_bytes")
        if limit is not None and any(len(p.data) > int(limit) for p in parts):
            message = f"The file is too large: the attachment size limit is {limit} bytes."
            raise HttpError(413, {"errorMessages": [message], "errors": {}})
        before = copy.deepcopy(rec)
        created = []
        for part in parts:
            aid = self.next_id("attachment")
            att = {"id": aid, "issue": rec["id"], "filename": part.filename or "file",
                   "mimeType": part.content_type or "application/octet-stream",
                   "size": len(part.data), "created": self.now(), "author": self.actor(),
                   "data": base64.b64encode(part.data).decode("ascii")}
            self.db["attachments"][aid] = att
            rec["attachments"].append(aid)
            created.append(att)
        self.stage_for_search(rec["id"], before)
        self.touch(rec, [self.change_item("Attachment", None, a["id"], None, a["filename"])
                         for a in created])
        return Response(200, [self.attachment_json(a, v) for a in created])

    def _attachment(self, aid: str) -> Rec:
        att = self.db["attachments"].get(aid)
        if att is None:
            raise not_found(f"The attachment with id '{aid}' does not exist")
        try:
            self._issue(att["issue"])
        except HttpError as exc:
            raise HttpError(403, {"errorMessages": [
                "You do not have permission to view attachment with id: " + aid], "errors": {}}
            ) from exc
        return dict(att)

    @route("GET", API + r"/attachment/(?P<aid>\d+)")
    def get_attachment(self, req: Request) -> JSON:
        v = self.ver(req)
        att = self._attachment(req.params["aid"])
        body = self.attachment_json(att, v)
        body["id"] = int(att["id"])  # AttachmentMetadata has a numeric id, unlike Attachment
        body["properties"] = {}
        return body

    @route("DELETE", API + r"/attachment/(?P<aid>\d+)")
    def delete_attachment(self, req: Request) -> Response:
        att = self._attachment(req.params["aid"])
        rec = self.db["issues"][att["issue"]]
        before = copy.deepcopy(rec)
        rec["attachments"].remove(att["id"])
        del self.db["attachments"][att["id"]]
        self.stage_for_search(rec["id"], before)
        self.touch(rec, [self.change_item("Attachment", att["id"], None, att["filename"], None)])
        return Response(204)

    def attachment_content(self, aid: str) -> Response:
        att = self._attachment(aid)
        disposition = f"attachment; filename*=UTF-8''{quote(att['filename'])}"
        return Response(200, base64.b64decode(att["data"]), {"Content-Disposition": disposition},
                        content_type=att["mimeType"])

    @route("GET", API + r"/attachment/content/(?P<aid>\d+)")
    def get_attachment_content(self, req: Request) -> Response:
        return self.attachment_content(req.params["aid"])

    @route("GET", r"/secure/attachment/(?P<aid>\d+)/(?P<name>[^/]*)")
    def download_attachment(self, req: Request) -> Response:
        return self.attachment_content(req.params["aid"])

    # --- routes: admin webhooks (see jira_webhooks.py) ---------------------------------------
    @route("GET", WEBHOOK_ROUTE)
    def list_webhooks(self, req: Request) -> JSON:
        return self.webhooks.rest_list(req)

    @route("POST", WEBHOOK_ROUTE)
    def create_webhook(self, req: Request) -> Response:
        return self.webhooks.rest_create(req)

    @route("GET", WEBHOOK_ID_ROUTE)
    def get_webhook(self, req: Request) -> JSON:
        return self.webhooks.rest_get(req)

    @route("PUT", WEBHOOK_ID_ROUTE)
    def update_webhook(self, req: Request) -> JSON:
        return self.webhooks.rest_update(req)

    @route("DELETE", WEBHOOK_ID_ROUTE)
    def delete_webhook(self, req: Request) -> Response:
        return self.webhooks.rest_delete(req)

    # --- search helpers ----------------------------------------------------------------------
    def search_fields(self, requested: list[str], default: list[str]) -> list[str] | None:
        return self.select_fields(requested, default)


class FieldError(Exception):
    """A field-level validation error, collected into ``errors`` of a 400."""


def check_label(label: str) -> None:
    if not label:
        raise FieldError("The label can not be empty.")
    if re.search(r"\s", label):
        raise FieldError(f"The label '{label}' contains spaces which is invalid.")
    if len(label) > 255:
        raise FieldError(
            f"The label '{label}' exceeds the maximum length for a single label of 255 characters."
        )


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


class JiraCloudEmulator(JiraEmulatorBase):
    """Jira Cloud: REST v3 (ADF) and v2 (strings), accountId users, Basic email:API-token."""

    flavour = "jira-cloud"
    api_versions = ("2", "3")
    deployment_type = "Cloud"
    version = "1001.0.0-SNAPSHOT"

    # --- auth --------------------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        header = req.header("Authorization") or ""
        if not header:
            return self.unauthorized("AUTHENTICATION_DENIED")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return self.unauthorized()
        try:
            email, _, token = base64.b64decode(value).decode("utf-8").partition(":")
        except ValueError:
            return self.unauthorized()
        if not email or not token:
            return self.unauthorized()
        credentials = self.db["credentials"]
        person = next((p for p in self.db["people"].values()
                       if p["email"].lower() == email.lower()), None)
        if credentials is not None:
            entry = next((c for c in credentials if c.get("email", "").lower() == email.lower()
                          and c.get("token") == token), None)
            if entry is None:
                return self.unauthorized()
            self.set_actor(entry.get("person") or (person["id"] if person else None))
            return None
        self.set_actor(person["id"] if person else None)
        return None

    # --- identity ----------------------------------------------------------------------------
    def user_json(self, pid: str | None, v: str) -> JSON:
        person = self.person(pid)
        if person is None:
            return None
        aid = person["jira_account_id"]
        return {
            "self": self.api_url(v, f"user?accountId={quote(aid)}"),
            "accountId": aid,
            "accountType": "atlassian",
            "emailAddress": person["email"],
            "avatarUrls": self.avatar_urls(aid),
            "displayName": person["name"],
            "active": True,
            "timeZone": str(self.tz),
            "locale": "ru_RU",
        }

    def user_ids(self, pid: str | None) -> list[str]:
        person = self.person(pid)
        return [person["jira_account_id"]] if person else []

    def resolve_user(self, value: JSON, field: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise FieldError(f"Specify the {field} as an object with an accountId.")
        if "accountId" not in value and "id" not in value:
            if "name" in value or "key" in value:
                raise FieldError(
                    "'name' and 'key' are not supported in Jira Cloud; specify 'accountId'."
                )
            raise FieldError(f"Specify the {field} as an object with an accountId.")
        aid = value.get("accountId", value.get("id"))
        if aid is None or (aid == "-1" and field == "assignee"):
            return None
        for pid, person in self.db["people"].items():
            if person["jira_account_id"] == aid:
                return str(pid)
        raise FieldError(f"User '{aid}' does not exist.")

    def user_search(self, req: Request, required: bool = True) -> JSON:
        query = (req.arg("query") or "").lower()
        account = req.arg("accountId")
        if required and not query and not account:
            raise bad_request(messages=["The query parameter 'query' is required."])
        people = [
            pid for pid, p in self.db["people"].items()
            if (account and p["jira_account_id"] == account)
            or query in p["name"].lower() or p["email"].lower().startswith(query)
        ] if query or account else list(self.db["people"])
        chunk, _, _ = self.page(people, req, 50)
        return [self.user_json(pid, self.ver(req)) for pid in chunk]

    @route("GET", API + "/user/search")
    def search_users(self, req: Request) -> JSON:
        return self.user_search(req)

    @route("GET", API + "/user")
    def get_user(self, req: Request) -> JSON:
        account = req.arg("accountId")
        if not account:
            raise bad_request(messages=["The query parameter 'accountId' is required."])
        for pid, person in self.db["people"].items():
            if person["jira_account_id"] == account:
                return self.user_json(pid, self.ver(req))
        raise not_found(f"User with accountId '{account}' does not exist.")

    # --- rich text ---------------------------------------------------------------------------
    def rich_in(self, value: JSON, v: str, field: str) -> JSON:
        if v == "2":
            if not isinstance(value, str):
                raise FieldError(NOT_STRING)
            if len(value) > MAX_TEXT:
                raise FieldError(TOO_LONG)
            return text_to_adf(value)
        if not isinstance(value, dict):
            raise FieldError("Comment body is not valid!" if field == "comment" else NOT_ADF)
        if adf_problems(value):
            # Jira answers a schema-invalid document with this terse top-level message.
            raise bad_request(messages=["INVALID_INPUT"])
        if len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) > MAX_TEXT:
            raise FieldError(TOO_LONG)
        return value

    def rich_out(self, stored: JSON, v: str) -> JSON:
        return stored if v == "3" else adf_to_wiki(stored)

    def seed_rich(self, value: JSON) -> JSON:
        return text_to_adf(value) if isinstance(value, str) else value

    def plain(self, stored: JSON) -> str:
        return adf_text(stored)

    def content_url(self, att: Rec) -> str:
        return self.url(f"/rest/api/3/attachment/content/{att['id']}")

    # --- Cloud-only routes -------------------------------------------------------------------
    @route("GET", API + "/project/search")
    def search_projects(self, req: Request) -> JSON:
        v = self.ver(req)
        query = (req.arg("query") or "").lower()
        keys = set(split_list(req.query.get("keys")))
        expand = set(split_list(req.query.get("expand")))
        projects = [
            p for p in self.db["projects"].values()
            if self.can_browse(p)
            and (not query or query in p["key"].lower() or query in p["name"].lower())
            and (not keys or p["key"] in keys)
        ]
        chunk, start, limit = self.page(projects, req, 50)
        last = start + len(chunk) >= len(projects)
        body: JSON = {"self": self.url(req.path), "maxResults": limit, "startAt": start,
                      "total": len(projects), "isLast": last,
                      "values": [self.project_json(p, v, expand, full=False) for p in chunk]}
        if not last:
            body["nextPage"] = self.url(f"{req.path}?startAt={start + limit}&maxResults={limit}")
        return body

    @route("GET", API + "/label")
    def get_labels(self, req: Request) -> JSON:
        labels = sorted({*self.db["labels"],
                         *(lab for i in self.db["issues"].values() for lab in i["labels"])})
        chunk, start, limit = self.page(labels, req, 1000)
        last = start + len(chunk) >= len(labels)
        body: JSON = {"self": self.url(req.path), "maxResults": limit, "startAt": start,
                      "total": len(labels), "isLast": last, "values": chunk}
        if not last:
            body["nextPage"] = self.url(f"{req.path}?startAt={start + limit}&maxResults={limit}")
        return body

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
            raise bad_request(messages=[
                f"The number of issues to reconcile cannot exceed {MAX_RECONCILE}."])
        fields = self.select_fields(list(params.get("fields") or []), ["id"])
        heavy = bool(HEAVY_FIELDS & set(params.get("fields") or []))
        cap = HEAVY_PAGE_MAX if heavy else ENHANCED_MAX
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


class JiraDCEmulator(JiraEmulatorBase):
    """Jira Data Center: REST v2 only, wiki strings, users by name/key, Bearer PAT (or Basic)."""

    flavour = "jira-dc"
    api_versions = ("2",)
    version = "10.3.13"
    issue_missing = "Issue Does Not Exist"

    @property
    def deployment_type(self) -> str:  # type: ignore[override]
        return str(self.options.get("dc_deployment_type") or "Server")

    # --- auth --------------------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        header = req.header("Authorization") or ""
        if not header:
            return self.unauthorized("AUTHENTICATION_DENIED")
        scheme, _, value = header.partition(" ")
        credentials = self.db["credentials"]
        if scheme.lower() == "bearer" and value.strip():
            return self._accept_token(value.strip(), None, credentials)
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            except ValueError:
                return self.unauthorized()
            if user and password:
                return self._accept_token(password, user, credentials)
        return self.unauthorized()

    def _accept_token(self, token: str, username: str | None, credentials: Any) -> Response | None:
        by_name = next((pid for pid, p in self.db["people"].items()
                        if username and p["jira_username"] == username), None)
        if credentials is None:
            if username and by_name is None:
                return self.unauthorized()
            self.set_actor(by_name)
            return None
        entry = next((c for c in credentials if c.get("token") == token), None)
        if entry is None or (username and entry.get("person") != by_name):
            return self.unauthorized()
        self.set_actor(entry.get("person"))
        return None

    # --- identity ----------------------------------------------------------------------------
    def user_key(self, person: Rec) -> str:
        return f"JIRAUSER{10000 + int(person['index'])}"

    def user_json(self, pid: str | None, v: str) -> JSON:
        person = self.person(pid)
        if person is None:
            return None
        name = person["jira_username"]
        return {
            "self": self.api_url(v, f"user?username={quote(name)}"),
            "key": self.user_key(person),
            "name": name,
            "emailAddress": person["email"],
            "avatarUrls": self.avatar_urls(name),
            "displayName": person["name"],
            "active": True,
            "deleted": False,
            "timeZone": str(self.tz),
            "locale": "ru_RU",
        }

    def user_ids(self, pid: str | None) -> list[str]:
        person = self.person(pid)
        return [person["jira_username"], self.user_key(person)] if person else []

    def resolve_user(self, value: JSON, field: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not ({"name", "key"} & set(value)):
            raise FieldError(f"Specify the {field} as an object with a 'name'.")
        wanted = value.get("name", value.get("key"))
        if wanted is None:
            return None
        for pid, person in self.db["people"].items():
            if wanted in (person["jira_username"], self.user_key(person)):
                return str(pid)
        raise FieldError(f"User '{wanted}' does not exist.")

    def user_search(self, req: Request, required: bool = True) -> JSON:
        query = (req.arg("username") or "").lower()
        if required and not query:
            raise bad_request(messages=["The username query parameter was not provided"])
        people = [
            pid for pid, p in self.db["people"].items()
            if query in ("", ".") or any(x.lower().startswith(query) for x in
                                         (p["jira_username"], p["email"], *p["name"].split()))
        ]
        chunk, _, _ = self.page(people, req, 50)
        return [self.user_json(pid, self.ver(req)) for pid in chunk]

    @route("GET", API + "/user/search")
    def search_users(self, req: Request) -> JSON:
        return self.user_search(req)

    @route("GET", API + "/user")
    def get_user(self, req: Request) -> JSON:
        wanted = req.arg("username") or req.arg("key")
        if not wanted:
            raise bad_request(messages=["Either the 'username' or the 'key' query parameter "
                                        "must be provided"])
        for pid, person in self.db["people"].items():
            if wanted in (person["jira_username"], self.user_key(person)):
                return self.user_json(pid, self.ver(req))
        raise not_found(f"The user named '{wanted}' does not exist")

    # --- rich text ---------------------------------------------------------------------------
    def rich_in(self, value: JSON, v: str, field: str) -> JSON:
        if not isinstance(value, str):
            raise FieldError(NOT_STRING)
        if len(value) > MAX_TEXT:
            raise FieldError(TOO_LONG)
        return value

    def rich_out(self, stored: JSON, v: str) -> JSON:
        return stored

    def seed_rich(self, value: JSON) -> JSON:
        return adf_to_wiki(value) if isinstance(value, dict) else value

    def plain(self, stored: JSON) -> str:
        return stored if isinstance(stored, str) else ""

    # --- classic search ----------------------------------------------------------------------
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
        params = dict(body, fields=split_list([str(f) for f in fields]) if isinstance(
            fields, list) else split_list([str(fields)]))
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
        limit = min(max(limit, 0), CLASSIC_MAX)
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
            "issues": [self.issue_json(r, v, fields or [], expand)
                       for r in self.cursor_page(cursor, start, limit, set())],
        }

    def classic_cursor(self, text: str, fields: list[str], validate: bool, start: int) -> _Cursor:
        """startAt paging: page 0 always evaluates; later pages reuse it while nothing changed."""
        key = (self.actor(), text, tuple(fields), validate)
        cursor_id = self.keyed_cursor(key) if start > 0 else None
        if cursor_id is None:
            cursor_id = self.open_cursor(key, text, set(), validate)
        return self._cursors[cursor_id]
