"""What `planerka-sync init` asks a tracker before there is a config: who the credentials belong
to, the boards or projects they see, a board's lists and members, a project's issue types,
statuses and assignable users; and, on request, a new Trello list.

Every request takes the one HTTP path the adapters take (:class:`TrackerSession`: its retry
policy, its error table turning a 401 into TrackerAuthError with no secret in the message, the
per-token / per-site rate limit). The requests, as the trackers document them:

- Trello: ``GET /1/members/me`` (the credentials), ``GET /1/members/me/boards?filter=open``,
  ``GET /1/boards/{id}/lists?filter=open``, ``GET /1/boards/{id}/members``,
  ``POST /1/boards/{id}/lists`` (name, pos). Key and token go in the query, as Trello wants.
- Jira Cloud (REST v3, Basic email:API token): ``myself``, ``project/search`` (paged by
  ``startAt`` until ``isLast``), ``project/{key}`` (its issue types), ``project/{key}/statuses``,
  ``user/assignable/search?project=`` - which takes the users in the window ``startAt`` +
  ``maxResults`` (up to the 1,000th) and answers only the assignable ones among them, so a short
  or even empty page is not the end: the window is moved on until it passes the 1,000th user.
  People are accountIds (Cloud has no usernames); app and bot accounts are left out.
- Jira Data Center (REST v2, Bearer personal access token): ``myself``, ``project``,
  ``project/{key}``, ``project/{key}/statuses``, ``user/assignable/search?project=&username=``
  (DC wants the ``username`` search string; empty matches everyone), paged by ``startAt`` until
  a page comes back short. People are usernames (``name``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from planerka_sync.ratelimit import (
    JIRA_PER_SITE,
    TRELLO_PER_TOKEN,
    bucket_for,
    jira_key,
    trello_key,
)
from planerka_sync.trackers.http import RetryPolicy, TrackerSession

Flavour = Literal["trello", "jira-cloud", "jira-dc"]
FLAVOURS: tuple[Flavour, ...] = ("trello", "jira-cloud", "jira-dc")
TRELLO_API = "https://api.trello.com"

# Discovery is interactive: a wrong URL should say so in seconds, not after minutes of back-off.
INIT_POLICY = RetryPolicy(attempts=3, base_wait=0.2, max_wait=2.0)
ASSIGNABLE_WINDOW = 1000  # Jira Cloud looks at most this far into its user list
ASSIGNABLE_PAGE_DC = 100
PROJECTS_PAGE = 50


@dataclass(frozen=True)
class Account:
    """A person as the tracker knows them: ``account`` is what the config's ``people[].trello``
    or ``people[].jira`` holds (a Trello username, a Cloud accountId, a DC username)."""

    account: str
    name: str
    username: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Place:
    """A board (Trello) or a project (Jira): ``key`` is what the config names it by."""

    id: str
    key: str
    name: str


@dataclass(frozen=True)
class TrackerList:
    id: str
    name: str


@dataclass(frozen=True)
class Status:
    name: str
    category: str  # Jira's status category key: new | indeterminate | done


@dataclass
class Discovery:
    """The questions init asks a tracker; one subclass per API."""

    flavour: Flavour
    url: str
    session: TrackerSession = field(repr=False)

    def me(self) -> Account:
        raise NotImplementedError

    def places(self) -> list[Place]:
        raise NotImplementedError

    def people(self, place: Place) -> list[Account]:
        raise NotImplementedError

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.session.get(f"{self.url.rstrip('/')}{path}", params=params,
                                **self._auth()).json()

    def _post(self, path: str, params: dict[str, Any]) -> Any:
        return self.session.post(f"{self.url.rstrip('/')}{path}", params=params,
                                 **self._auth()).json()

    def _auth(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        self.session.close()


class TrelloDiscovery(Discovery):
    def __init__(self, url: str, api_key: str, token: str,
                 policy: RetryPolicy | None = None) -> None:
        limit = TRELLO_PER_TOKEN
        session = TrackerSession("Trello", policy=policy or INIT_POLICY,
                                 limiter=bucket_for(trello_key(token, url), limit.rate, limit.per))
        super().__init__("trello", url, session)
        self._keys = {"key": api_key, "token": token}

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return super()._get(f"/1{path}", {**(params or {}), **self._keys})

    def _post(self, path: str, params: dict[str, Any]) -> Any:
        return super()._post(f"/1{path}", {**params, **self._keys})

    def me(self) -> Account:
        member = self._get("/members/me", {"fields": "username,fullName"})
        return _trello_account(member)

    def places(self) -> list[Place]:
        boards = self._get("/members/me/boards", {"filter": "open", "fields": "name,url"})
        return [Place(str(b["id"]), str(b["name"]), str(b["name"])) for b in boards]

    def lists(self, board: Place) -> list[TrackerList]:
        found = self._get(f"/boards/{board.id}/lists", {"filter": "open", "fields": "name"})
        return [TrackerList(str(x["id"]), str(x["name"])) for x in found]

    def create_list(self, board: Place, name: str) -> TrackerList:
        made = self._post(f"/boards/{board.id}/lists", {"name": name, "pos": "bottom"})
        return TrackerList(str(made["id"]), str(made["name"]))

    def people(self, place: Place) -> list[Account]:
        members = self._get(f"/boards/{place.id}/members", {"fields": "username,fullName"})
        return [_trello_account(m) for m in members]


def _trello_account(member: dict[str, Any]) -> Account:
    username = str(member["username"])
    return Account(account=username, name=str(member.get("fullName") or username),
                   username=username)


class JiraDiscovery(Discovery):
    def __init__(self, url: str, *, cloud: bool, token: str, email: str | None = None,
                 policy: RetryPolicy | None = None) -> None:
        limit = JIRA_PER_SITE
        session = TrackerSession("Jira", policy=policy or INIT_POLICY,
                                 limiter=bucket_for(jira_key(url), limit.rate, limit.per))
        if cloud:
            session.auth = (email or "", token)
        else:
            session.headers["Authorization"] = f"Bearer {token}"
        session.headers["Accept"] = "application/json"
        super().__init__("jira-cloud" if cloud else "jira-dc", url, session)
        self.cloud = cloud
        self.api = "/rest/api/3" if cloud else "/rest/api/2"

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return super()._get(f"{self.api}{path}", params)

    def me(self) -> Account:
        return self._account(self._get("/myself"))

    def _account(self, user: dict[str, Any]) -> Account:
        name = str(user.get("displayName") or user.get("name") or user.get("accountId") or "")
        email = user.get("emailAddress") or None
        if self.cloud:
            return Account(account=str(user["accountId"]), name=name, email=email)
        username = str(user["name"])
        return Account(account=username, name=name, username=username, email=email)

    def places(self) -> list[Place]:
        projects = self._cloud_projects() if self.cloud else iter(self._get("/project"))
        return [Place(str(p["id"]), str(p["key"]), str(p["name"])) for p in projects]

    def _cloud_projects(self) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            page = self._get("/project/search", {"startAt": start, "maxResults": PROJECTS_PAGE})
            values = page.get("values") or []
            yield from values
            start += len(values)
            if page.get("isLast", True) or not values:
                return

    def issue_types(self, project: Place) -> list[str]:
        found = self._get(f"/project/{project.key}").get("issueTypes") or []
        return [str(t["name"]) for t in found if not t.get("subtask")]

    def statuses(self, project: Place) -> list[Status]:
        """Every status of the project's workflows, once, in workflow order."""
        seen: dict[str, Status] = {}
        for issue_type in self._get(f"/project/{project.key}/statuses"):
            for status in issue_type.get("statuses") or []:
                category = str((status.get("statusCategory") or {}).get("key") or "")
                seen.setdefault(str(status["name"]), Status(str(status["name"]), category))
        return list(seen.values())

    def people(self, place: Place) -> list[Account]:
        users = self._assignable_cloud(place) if self.cloud else self._assignable_dc(place)
        found: dict[str, Account] = {}
        for user in users:
            if user.get("active") is False:
                continue
            if self.cloud and user.get("accountType", "atlassian") != "atlassian":
                continue  # apps and customer accounts are never a meeting's participant
            account = self._account(user)
            found.setdefault(account.account, account)
        return list(found.values())

    def _assignable_cloud(self, place: Place) -> Iterator[dict[str, Any]]:
        start = 0
        while start < ASSIGNABLE_WINDOW:
            yield from self._get("/user/assignable/search", {
                "project": place.key, "startAt": start, "maxResults": ASSIGNABLE_WINDOW})
            start += ASSIGNABLE_WINDOW

    def _assignable_dc(self, place: Place) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            page = self._get("/user/assignable/search", {
                "project": place.key, "username": "", "startAt": start,
                "maxResults": ASSIGNABLE_PAGE_DC})
            yield from page
            start += len(page)
            if len(page) < ASSIGNABLE_PAGE_DC:
                return


def discovery_for(flavour: str, url: str, secrets: dict[str, str],
                  policy: RetryPolicy | None = None) -> Discovery:
    """The discovery client for ``flavour`` with the credentials in ``secrets`` (api_key and
    token for Trello; email and token for Jira Cloud; token for Data Center)."""
    if flavour == "trello":
        return TrelloDiscovery(url or TRELLO_API, secrets["api_key"], secrets["token"], policy)
    return JiraDiscovery(url, cloud=flavour == "jira-cloud", token=secrets["token"],
                         email=secrets.get("email"), policy=policy)
