"""The state every area of the Jira emulators works on: storage, ids, seeding, lookups, writes.

:class:`JiraCore` is the common base of the area mixins (``meta``, ``issues``, ``comments``,
``links``, ``attachments``, ``search``, ``webhooks``): it declares the shared state and the
helpers they all use, and the flavour hooks (identity, rich text, user search) that
``cloud.py`` and ``dc.py`` fill in. :class:`~planerka_sync.sandbox.jira.emulator.JiraEmulatorBase`
composes the mixins and initialises the state.

Rules kept here because every area relies on them:

* visibility: a project with ``members`` is only browsable by them; an issue of a project one
  may not browse answers 404 with the flavour's ``issue_missing`` message, as if it did not exist;
* every write bumps ``updated`` (:meth:`JiraCore.touch`), field changes also go to the changelog;
* search lag: with the ``search_lag_seconds`` option, :meth:`JiraCore.stage_for_search` keeps the
  version search still sees while a change "indexes";
* ids come from per-kind counters (issues and comments from 10000, links from 10100), issue keys
  from a counter per project;
* unknown API versions (``/rest/api/3`` on Data Center) are 404s, as on the real servers.
"""

from __future__ import annotations

import copy
import itertools
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from planerka_sync.sandbox.core import Emulator, Request, Response
from planerka_sync.sandbox.jira.common import (
    API_PREFIX,
    CATEGORIES,
    DEFAULT_PRIORITY,
    ISSUE_MISSING,
    JSON,
    LINK_TYPES,
    NOT_AUTHENTICATED,
    PRIORITIES,
    Rec,
    int_arg,
    not_found,
    parse_when,
)
from planerka_sync.sandbox.seed import (
    DEFAULT_ACTOR,
    DEFAULT_PEOPLE,
    JIRA_ISSUE_TYPES,
    JIRA_PROJECT_KEY,
    JIRA_PROJECT_NAME,
    JIRA_WORKFLOW,
)

if TYPE_CHECKING:
    from planerka_sync.sandbox.jira.search import _Cursor
    from planerka_sync.sandbox.jira.webhooks import JiraWebhooks


class JiraCore(Emulator):
    """Shared state and helpers of the Jira areas; subclasses set identity, rich text, auth."""

    flavour = "jira"
    api_versions: tuple[str, ...] = ("2",)
    deployment_type = "Cloud"
    version = "1001.0.0-SNAPSHOT"
    issue_missing = ISSUE_MISSING

    # Shared state, set up by JiraEmulatorBase.__init__ before seeding (see the comments there).
    _local: threading.local  # the authenticated person of the current request
    _cursors: dict[str, _Cursor]  # search cursors, see SearchMixin.open_cursor
    _cursor_keys: dict[Any, str]
    _cursor_ids: itertools.count[int]
    jql_evaluations: int  # how many times a JQL query was run against every issue
    webhooks: JiraWebhooks

    # --- seed ----------------------------------------------------------------------------
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
            "counters": {
                "issue": 10000,
                "comment": 10000,
                "link": 10100,
                "attachment": 10000,
                "history": 10000,
                "keys": {},
            },
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
            "description": "A small piece of a task."
            if subtask
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
            self._new_comment(
                rec, c.get("author", self.db["actor"]), self.seed_rich(c["body"]), when
            )
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

    # --- flavour hooks -------------------------------------------------------------------
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

    def seed_rich(self, value: JSON) -> JSON:
        """Seeds may give rich text in either form; store it in this flavour's form."""
        raise NotImplementedError

    def user_search(self, req: Request, required: bool = True) -> JSON:
        raise NotImplementedError

    # --- request plumbing ----------------------------------------------------------------
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
        return (
            moment.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{moment.microsecond // 1000:03d}"
            + moment.strftime("%z")
        )

    def next_id(self, counter: str) -> str:
        self.db["counters"][counter] += 1
        return str(self.db["counters"][counter] - 1)

    def assignable(self, pid: str, project: Rec) -> bool:
        """May ``pid`` be assigned issues of ``project``: an active person account that may
        browse it (a project's ``members``, or everyone)."""
        person = self.db["people"][pid]
        members = project.get("members")
        return (bool(person.get("active", True))
                and person.get("account_type", "atlassian") == "atlassian"
                and (members is None or pid in members))

    def person(self, pid: str | None) -> Rec | None:
        return self.db["people"].get(pid) if pid else None

    def avatar_urls(self, seed: str) -> JSON:
        sizes = {"48x48": 48, "24x24": 24, "16x16": 16, "32x32": 32}
        return {
            k: self.url(f"/secure/useravatar?size={n}&ownerId={quote(seed)}")
            for k, n in sizes.items()
        }

    def page(self, items: list[Any], req: Request, default_max: int) -> tuple[list[Any], int, int]:
        start = max(int_arg(req, "startAt", 0), 0)
        limit = max(int_arg(req, "maxResults", default_max), 0)
        return items[start : start + limit], start, limit

    # --- lookups -------------------------------------------------------------------------
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

    # --- mutations -----------------------------------------------------------------------
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
        history = {
            "id": self.next_id("history"),
            "author": self.actor(),
            "created": now,
            "items": items,
        }
        rec["changelog"].append(history)
        return history

    def change_item(self, field: str, old: Any, new: Any, old_text: Any, new_text: Any) -> JSON:
        def text(value: Any) -> str | None:
            if value is None or value == []:
                return None
            return " ".join(value) if isinstance(value, list) else str(value)

        return {
            "field": field,
            "fieldtype": "jira",
            "fieldId": field,
            "from": text(old),
            "fromString": text(old_text),
            "to": text(new),
            "toString": text(new_text),
        }

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
        comment = {
            "id": cid,
            "issue": rec["id"],
            "author": author,
            "update_author": author,
            "body": body,
            "created": when,
            "updated": when,
        }
        self.db["comments"][cid] = comment
        rec["comments"].append(cid)
        return comment
