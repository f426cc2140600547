"""The Jira metadata endpoints: who am I, server info, projects, issue types, statuses,
priorities, the system fields, and the users one may assign.

Routes (prefix ``/rest/api/{2,3,latest}``): ``myself``, ``serverInfo`` (no auth, as on Jira),
``project``, ``project/{idOrKey}``, ``project/{idOrKey}/statuses``, ``issuetype``,
``status``, ``priority``, ``field``, ``user/assignable/search``. The flavour-specific user
lookups (``user``, ``user/search``) and Cloud's ``project/search`` live in ``cloud.py`` and
``dc.py``.

Rules: projects a person may not browse are left out of lists and answer 404 by key;
``field`` lists the system fields only, and ``statuscategorychangedate`` (and each field's
``key``) only on Cloud; ``user/assignable/search`` needs a ``project`` or an ``issueKey``/
``issueId`` (400 otherwise) and answers the active person accounts that may browse the project
(its ``members``), paged as each flavour pages it (Cloud filters a ``startAt``/``maxResults``
window of at most the first 1,000 users, so pages run short; DC needs ``username`` and pages
exactly).
"""

from __future__ import annotations

import re
from typing import Any

from planerka_sync.sandbox.core import Request, route
from planerka_sync.sandbox.jira.common import API, JSON, Rec, bad_request, split_list
from planerka_sync.sandbox.jira.render import RenderMixin

# GET field: the system fields as Jira describes them. Columns: id, name, JQL clause names,
# schema type (None: no schema), array item type, orderable, navigable, searchable.
# Clients (pycontribs ``jira``) read this before searching to map field names to ids.
SYSTEM_FIELDS: tuple[
    tuple[str, str, tuple[str, ...], str | None, str | None, bool, bool, bool], ...
] = (
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
    (
        "resolutiondate",
        "Resolved",
        ("resolutiondate", "resolved"),
        "datetime",
        None,
        False,
        True,
        True,
    ),
    ("resolution", "Resolution", ("resolution",), "resolution", None, True, True, True),
    ("labels", "Labels", ("labels",), "array", "string", True, True, True),
    ("priority", "Priority", ("priority",), "priority", None, True, True, True),
    ("comment", "Comment", ("comment",), "comments-page", None, True, False, True),
    ("issuelinks", "Linked Issues", ("issueLink",), "array", "issuelinks", True, True, True),
    ("attachment", "Attachment", ("attachments",), "array", "attachment", True, False, True),
    ("subtasks", "Sub-tasks", ("subtasks",), "array", "issuelinks", False, True, True),
    ("parent", "Parent", ("parent",), None, None, True, False, True),
    (
        "statuscategorychangedate",
        "Status Category Changed",
        ("statusCategoryChangedDate",),
        "datetime",
        None,
        False,
        True,
        True,
    ),
)


class MetaMixin(RenderMixin):
    """Routes: myself, serverInfo, projects, issue types, statuses, priorities, fields, users."""

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
        return [
            self.project_json(p, self.ver(req), expand, full=False)
            for p in self.db["projects"].values()
            if self.can_browse(p)
        ]

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
            {
                "self": self.api_url(v, f"issuetype/{t}"),
                "id": t,
                "name": self.db["issue_types"][t]["name"],
                "subtask": self.db["issue_types"][t]["subtask"],
                "statuses": statuses,
            }
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
        return [
            self.system_field_json(row)
            for row in SYSTEM_FIELDS
            if row[0] != "statuscategorychangedate" or self.deployment_type == "Cloud"
        ]

    def system_field_json(self, row: tuple[Any, ...]) -> JSON:
        """A FieldDetails; Cloud also names the field's ``key`` (DC's answer has none)."""
        fid, name, clauses, kind, items, orderable, navigable, searchable = row
        body: JSON = {
            "id": fid,
            "name": name,
            "custom": False,
            "orderable": orderable,
            "navigable": navigable,
            "searchable": searchable,
            "clauseNames": list(clauses),
        }
        if self.deployment_type == "Cloud":
            body["key"] = fid
        if kind is not None:
            body["schema"] = {"type": kind, "system": fid, **({"items": items} if items else {})}
        return body

    @route("GET", API + "/priority")
    def get_priorities(self, req: Request) -> JSON:
        return [self.priority_json(p, self.ver(req)) for p in self.db["priorities"]]

    @route("GET", API + "/user/assignable/search")
    def assignable_users(self, req: Request) -> JSON:
        if req.arg("project"):
            project = self._project(req.arg("project"))
        elif req.arg("issueKey") or req.arg("issueId"):
            issue = self._issue(str(req.arg("issueKey") or req.arg("issueId")))
            project = self.db["projects"][issue["project"]]
        else:
            raise bad_request(messages=["The project key or issue key must be provided."])
        return self.assignable_search(req, project)

    def assignable_search(self, req: Request, project: Rec) -> JSON:
        """The flavour's paging and matching rules (cloud.py, dc.py)."""
        raise NotImplementedError
