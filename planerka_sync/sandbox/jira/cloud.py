"""Jira Cloud: REST v3 (ADF) and v2 (strings), users by ``accountId``, Basic email:API-token.

What differs from Data Center, as on the real product:

* auth: ``Basic email:token`` only (with seeded ``credentials`` the pair must match one);
* users are ``accountId``s; ``name``/``key`` are refused ("not supported in Jira Cloud");
  ``user`` needs ``accountId`` and ``user/search`` a ``query`` (or ``accountId``);
* rich text: v3 takes and answers ADF (a schema-invalid document is a terse 400
  ``INVALID_INPUT``), v2 takes strings (turned into ADF paragraphs) and answers wiki markup;
  either way at most 32,767 characters;
* Cloud-only routes: ``project/search`` (paged, 50 by default) and ``label`` (paged, 1000 by
  default); search is the enhanced ``search/jql`` (see ``search.py``).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from planerka_sync.sandbox.adf import adf_problems
from planerka_sync.sandbox.core import Request, Response, route
from planerka_sync.sandbox.jira.common import (
    API,
    JSON,
    MAX_TEXT,
    NOT_ADF,
    NOT_STRING,
    TOO_LONG,
    FieldError,
    Rec,
    adf_text,
    adf_to_wiki,
    bad_request,
    int_arg,
    not_found,
    split_list,
    text_to_adf,
)
from planerka_sync.sandbox.jira.emulator import JiraEmulatorBase
from planerka_sync.sandbox.jira.search import EnhancedSearchMixin

# user/assignable/search looks no further than this into the user list (Cloud's documented cap).
ASSIGNABLE_WINDOW = 1000


class JiraCloudEmulator(EnhancedSearchMixin, JiraEmulatorBase):
    """Jira Cloud: REST v3 (ADF) and v2 (strings), accountId users, Basic email:API-token."""

    flavour = "jira-cloud"
    api_versions = ("2", "3")
    deployment_type = "Cloud"
    version = "1001.0.0-SNAPSHOT"

    # --- auth ----------------------------------------------------------------------------
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
        person = next(
            (p for p in self.db["people"].values() if p["email"].lower() == email.lower()), None
        )
        if credentials is not None:
            entry = next(
                (
                    c
                    for c in credentials
                    if c.get("email", "").lower() == email.lower() and c.get("token") == token
                ),
                None,
            )
            if entry is None:
                return self.unauthorized()
            self.set_actor(entry.get("person") or (person["id"] if person else None))
            return None
        self.set_actor(person["id"] if person else None)
        return None

    # --- identity ------------------------------------------------------------------------
    def user_json(self, pid: str | None, v: str) -> JSON:
        person = self.person(pid)
        if person is None:
            return None
        aid = person["jira_account_id"]
        return {
            "self": self.api_url(v, f"user?accountId={quote(aid)}"),
            "accountId": aid,
            "accountType": person.get("account_type", "atlassian"),
            "emailAddress": person["email"],
            "avatarUrls": self.avatar_urls(aid),
            "displayName": person["name"],
            "active": bool(person.get("active", True)),
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
        people = (
            [
                pid
                for pid, p in self.db["people"].items()
                if (account and p["jira_account_id"] == account)
                or query in p["name"].lower()
                or p["email"].lower().startswith(query)
            ]
            if query or account
            else list(self.db["people"])
        )
        chunk, _, _ = self.page(people, req, 50)
        return [self.user_json(pid, self.ver(req)) for pid in chunk]

    def assignable_search(self, req: Request, project: Rec) -> JSON:
        """As Jira Cloud documents it: the users matching ``query``/``accountId`` in the window
        ``startAt`` + ``maxResults`` (up to the 1,000th user) are taken, and only the assignable
        ones among them answered - so a page is often shorter than ``maxResults``, even empty,
        while more assignable users follow."""
        query = (req.arg("query") or "").lower()
        account = req.arg("accountId")
        matched = [
            pid
            for pid, p in self.db["people"].items()
            if (not query and not account)
            or (account and p["jira_account_id"] == account)
            or (query and (any(w.lower().startswith(query) for w in p["name"].split())
                           or p["email"].lower().startswith(query)))
        ]
        start = max(int_arg(req, "startAt", 0), 0)
        limit = max(int_arg(req, "maxResults", 50), 0)
        window = matched[start : min(start + limit, ASSIGNABLE_WINDOW)]
        return [self.user_json(pid, self.ver(req)) for pid in window
                if self.assignable(pid, project)]

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

    # --- rich text -----------------------------------------------------------------------
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

    # --- Cloud-only routes ---------------------------------------------------------------
    @route("GET", API + "/project/search")
    def search_projects(self, req: Request) -> JSON:
        v = self.ver(req)
        query = (req.arg("query") or "").lower()
        keys = set(split_list(req.query.get("keys")))
        expand = set(split_list(req.query.get("expand")))
        projects = [
            p
            for p in self.db["projects"].values()
            if self.can_browse(p)
            and (not query or query in p["key"].lower() or query in p["name"].lower())
            and (not keys or p["key"] in keys)
        ]
        chunk, start, limit = self.page(projects, req, 50)
        last = start + len(chunk) >= len(projects)
        body: JSON = {
            "self": self.url(req.path),
            "maxResults": limit,
            "startAt": start,
            "total": len(projects),
            "isLast": last,
            "values": [self.project_json(p, v, expand, full=False) for p in chunk],
        }
        if not last:
            body["nextPage"] = self.url(f"{req.path}?startAt={start + limit}&maxResults={limit}")
        return body

    @route("GET", API + "/label")
    def get_labels(self, req: Request) -> JSON:
        labels = sorted(
            {*self.db["labels"], *(lab for i in self.db["issues"].values() for lab in i["labels"])}
        )
        chunk, start, limit = self.page(labels, req, 1000)
        last = start + len(chunk) >= len(labels)
        body: JSON = {
            "self": self.url(req.path),
            "maxResults": limit,
            "startAt": start,
            "total": len(labels),
            "isLast": last,
            "values": chunk,
        }
        if not last:
            body["nextPage"] = self.url(f"{req.path}?startAt={start + limit}&maxResults={limit}")
        return body
