"""Jira Data Center: REST v2 only, wiki-markup strings, users by ``name``/``key``, Bearer PAT.

What differs from Cloud, as on the real product:

* ``/rest/api/3`` does not exist (404); ``latest`` means 2;
* auth: ``Bearer <personal access token>``, or ``Basic username:token``; with seeded
  ``credentials`` the token must be one of them (and belong to that username);
* users have a ``name`` (``jira_username``) and a ``key`` (``JIRAUSER<10000+i>``); ``user``
  needs ``username`` or ``key``, ``user/search`` a ``username``;
* rich text is stored and answered as wiki-markup strings of at most 32,767 characters;
* ``serverInfo`` reports the ``dc_deployment_type`` option ("Server", as Jira 10 DC does);
  a missing issue answers "Issue Does Not Exist";
* search is the classic ``search`` with ``startAt``/``total`` (see ``search.py``).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from planerka_sync.sandbox.core import Request, Response, route
from planerka_sync.sandbox.jira.common import (
    API,
    JSON,
    MAX_TEXT,
    NOT_STRING,
    TOO_LONG,
    FieldError,
    Rec,
    adf_to_wiki,
    bad_request,
    int_arg,
    not_found,
)
from planerka_sync.sandbox.jira.emulator import JiraEmulatorBase
from planerka_sync.sandbox.jira.search import ClassicSearchMixin

ASSIGNABLE_MAX = 1000  # user/assignable/search's largest page


class JiraDCEmulator(ClassicSearchMixin, JiraEmulatorBase):
    """Jira Data Center: REST v2 only, wiki strings, users by name/key, Bearer PAT (or Basic)."""

    flavour = "jira-dc"
    api_versions = ("2",)
    version = "10.3.13"
    issue_missing = "Issue Does Not Exist"

    @property
    def deployment_type(self) -> str:  # type: ignore[override]
        return str(self.options.get("dc_deployment_type") or "Server")

    # --- auth ----------------------------------------------------------------------------
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
        by_name = next(
            (
                pid
                for pid, p in self.db["people"].items()
                if username and p["jira_username"] == username
            ),
            None,
        )
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

    # --- identity ------------------------------------------------------------------------
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
            "active": bool(person.get("active", True)),
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
            pid
            for pid, p in self.db["people"].items()
            if query in ("", ".")
            or any(
                x.lower().startswith(query)
                for x in (p["jira_username"], p["email"], *p["name"].split())
            )
        ]
        chunk, _, _ = self.page(people, req, 50)
        return [self.user_json(pid, self.ver(req)) for pid in chunk]

    def assignable_search(self, req: Request, project: Rec) -> JSON:
        """As Data Center answers it: ``username`` is the search string and must be given (empty
        matches everyone); matching, assignable users are paged exactly by ``startAt`` and
        ``maxResults`` (default 50, at most 1,000)."""
        query = req.arg("username")
        if query is None:
            raise bad_request(messages=["The username query parameter was not provided"])
        query = query.lower()
        people = [
            pid
            for pid, p in self.db["people"].items()
            if self.assignable(pid, project)
            and (query in ("", ".") or any(
                x.lower().startswith(query)
                for x in (p["jira_username"], p["email"], *p["name"].split())))
        ]
        start = max(int_arg(req, "startAt", 0), 0)
        limit = min(max(int_arg(req, "maxResults", 50), 0), ASSIGNABLE_MAX)
        return [self.user_json(pid, self.ver(req)) for pid in people[start : start + limit]]

    @route("GET", API + "/user/search")
    def search_users(self, req: Request) -> JSON:
        return self.user_search(req)

    @route("GET", API + "/user")
    def get_user(self, req: Request) -> JSON:
        wanted = req.arg("username") or req.arg("key")
        if not wanted:
            raise bad_request(
                messages=["Either the 'username' or the 'key' query parameter must be provided"]
            )
        for pid, person in self.db["people"].items():
            if wanted in (person["jira_username"], self.user_key(person)):
                return self.user_json(pid, self.ver(req))
        raise not_found(f"The user named '{wanted}' does not exist")

    # --- rich text -----------------------------------------------------------------------
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
