"""Jira issues: create (one or in bulk), get, edit, assign, delete, and workflow transitions.

Routes (prefix ``/rest/api/{2,3,latest}``): ``POST issue``, ``POST issue/bulk``,
``GET/PUT/DELETE issue/{idOrKey}``, ``PUT issue/{idOrKey}/assignee``,
``GET/POST issue/{idOrKey}/transitions``.

Limits and rules, as Jira enforces them (every field error is collected into one 400):

* only ``CREATE_FIELDS`` may be set on create and ``EDIT_FIELDS`` on edit (others: "cannot be
  set. It is not on the appropriate screen"); ``project``, ``summary`` and ``issuetype`` are
  required on create;
* a summary is at most ``MAX_SUMMARY`` (255) characters on one line; a due date is
  ``YYYY-MM-DD``; a label is non-empty, without spaces, at most 255 characters
  (:func:`check_label`); the issue type must be one of the project's, a sub-task needs a
  ``parent`` in the same project, and a sub-task cannot be a parent;
* ``update`` takes ``set`` (and ``add``/``remove`` for labels), never for a field also in
  ``fields``; an edit cannot turn a sub-task into a standard issue or back;
* a create may link the new issue in the same write: ``update.issuelinks`` with ``add``
  operations (links.py's ``check_create_links``; refused when the ``create_screen_links``
  option is false, as on a site whose create screen lacks "Linked Issues");
* ``issue/bulk`` creates at most ``MAX_BULK`` (50) issues per request and reports each failure
  by its position; deleting an issue with sub-tasks needs ``deleteSubtasks=true``;
* the workflow is global: every status can be reached from every other; entering a "done"
  status sets the resolution, leaving it clears it.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import TYPE_CHECKING, Any

from planerka_sync.sandbox.core import HttpError, Request, Response, route
from planerka_sync.sandbox.jira.common import (
    ALL_FIELDS,
    API,
    DEFAULT_PRIORITY,
    ID,
    JSON,
    FieldError,
    Rec,
    bad_request,
    split_list,
)
from planerka_sync.sandbox.jira.render import RenderMixin

MAX_SUMMARY = 255  # characters, on one line
MAX_BULK = 50  # issues per POST issue/bulk
# The fields a create may set; an edit may set them too, except the project and the parent.
CREATE_FIELDS = {
    "project",
    "summary",
    "description",
    "issuetype",
    "assignee",
    "reporter",
    "duedate",
    "labels",
    "priority",
    "parent",
}
EDIT_FIELDS = CREATE_FIELDS - {"project", "parent"}
DUE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_label(label: str) -> None:
    if not label:
        raise FieldError("The label can not be empty.")
    if re.search(r"\s", label):
        raise FieldError(f"The label '{label}' contains spaces which is invalid.")
    if len(label) > 255:
        raise FieldError(
            f"The label '{label}' exceeds the maximum length for a single label of 255 characters."
        )


class IssuesMixin(RenderMixin):
    """Routes: issues (create, bulk, get, edit, assign, delete) and their transitions."""

    if TYPE_CHECKING:  # links.py's LinksMixin, composed beside this one

        def check_create_links(self, ops: Any) -> None: ...

        def create_links(self, rec: Rec, ops: Any) -> None: ...

    # --- routes: issues ------------------------------------------------------------------
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
        defaults: Rec = {
            "description": None,
            "assignee": None,
            "reporter": self.actor(),
            "labels": [],
            "duedate": None,
            "priority": DEFAULT_PRIORITY,
            "parent": None,
        }
        project = self._project(values.pop("project"))
        self._check_assignable(values.get("assignee"), project)
        if values.get("parent"):
            parent = self.db["issues"][values["parent"]]
            if parent["project"] != project["id"]:
                raise bad_request({"parent": "The parent issue must be in the same project."})
        base = {**defaults, **values}
        update = body.get("update")
        links = None
        if isinstance(update, dict) and "issuelinks" in update:
            links = update["issuelinks"]
            update = {name: ops for name, ops in update.items() if name != "issuelinks"}
            self.check_create_links(links)
        if "update" in body:
            base.update(self.apply_update_ops(base, update, v, fields))
        rec = self._new_issue(project, base, now)
        self.stage_for_search(rec["id"], None)
        if links is not None:
            self.create_links(rec, links)
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
                errors.append(
                    {
                        "status": err.response.status,
                        "elementErrors": err.response.body,
                        "failedElementNumber": n,
                    }
                )
        return Response(201 if issues or not updates else 400, {"issues": issues, "errors": errors})

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
        if (
            "issuetype" in values
            and self.db["issue_types"][values["issuetype"]]["subtask"]
            != self.db["issue_types"][rec["issuetype"]]["subtask"]
        ):
            raise bad_request({"issuetype": "The issue type selected is invalid."})
        if "update" in body:
            values.update(self.apply_update_ops(rec, body["update"], v, fields))
        if "assignee" in values:
            self._check_assignable(values["assignee"], self.db["projects"][rec["project"]])
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
                items.append(
                    self.change_item(name, old, new, self._display(old), self._display(new))
                )
            elif name == "description":
                items.append(
                    self.change_item(
                        name,
                        None,
                        None,
                        self.plain(old) if old else None,
                        self.plain(new) if new else None,
                    )
                )
            else:
                items.append(self.change_item(name, old, new, old, new))
        if not items:
            return None
        self.stage_for_search(rec["id"], before)
        return self.touch(rec, items)

    def _check_assignable(self, pid: str | None, project: Rec) -> None:
        """Jira refuses an assignee who may not be assigned the project's issues (deactivated,
        an app account, without Browse permission) with a 400 on the field."""
        if pid is not None and not self.assignable(pid, project):
            name = self.person(pid)
            shown = name["name"] if name else pid
            raise bad_request({"assignee": f"User '{shown}' cannot be assigned issues."})

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
        self._check_assignable(assignee, self.db["projects"][rec["project"]])
        self.webhooks.issue_updated(rec, [self.apply_edit(rec, {"assignee": assignee})])
        return Response(204)

    @route("DELETE", API + "/issue/" + ID)
    def delete_issue(self, req: Request) -> Response:
        rec = self._issue_rec(req.params["key"])
        subtasks = [i for i in self.db["issues"].values() if i.get("parent") == rec["id"]]
        if subtasks and (req.arg("deleteSubtasks") or "").lower() != "true":
            raise bad_request(
                messages=[
                    f"The issue '{rec['key']}' has subtasks. You must specify the 'deleteSubtasks' "
                    "parameter to delete this issue and all its subtasks."
                ]
            )
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

    # --- field validation ----------------------------------------------------------------
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
                ref = (
                    (project_ref.get("id") or project_ref.get("key"))
                    if isinstance(project_ref, dict)
                    else None
                )
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
                value = (
                    self._parse_field(name, arg, v, current)
                    if name != "labels"
                    else self._parse_labels(arg)
                )
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

    # --- routes: transitions -------------------------------------------------------------
    def transitions_for(self, rec: Rec, v: str) -> list[JSON]:
        """Every status is reachable from every other (a global-transition workflow)."""
        out = []
        for i, status in enumerate(self._workflow()):
            if status["id"] == rec["status"]:
                continue
            out.append(
                {
                    "id": str(11 + 10 * i),
                    "name": status["name"],
                    "to": self.status_json(status["id"], v),
                    "hasScreen": False,
                    "isGlobal": True,
                    "isInitial": False,
                    "isAvailable": True,
                    "isConditional": False,
                    "isLooped": False,
                }
            )
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
        items = [
            self.change_item("status", old["id"], rec["status"], old["name"], target["to"]["name"])
        ]
        if (before["resolutiondate"] is None) != (rec["resolutiondate"] is None):
            items.append(
                self.change_item(
                    "resolution",
                    None,
                    None,
                    "Done" if before["resolutiondate"] else None,
                    "Done" if rec["resolutiondate"] else None,
                )
            )
        self.stage_for_search(rec["id"], before)
        history = self.touch(rec, items)
        edited = self.apply_edit(rec, values) if values else None
        self.webhooks.issue_updated(rec, [history, edited], "issue_generic")
        return Response(204)
