"""The Jira emulators driven over real HTTP by the real atlassian-python-api clients.

Cloud uses ``atlassian.JiraCloud`` (REST v3); Data Center uses ``atlassian.Jira`` with a personal
access token (REST v2). Every client is built with ``backoff_and_retry=False`` *and*
``retry_with_header=False``: atlassian-python-api 5.0.5 otherwise retries any request - POSTs
included - once after a 429 carrying ``Retry-After`` (``test_library_repeats_a_post_after_429``),
and ``backoff_and_retry=True`` re-sends POSTs after a dropped connection
(``test_library_backoff_replays_a_dropped_post``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from atlassian import Jira, JiraCloud
from requests import HTTPError

from planerka_sync.sandbox.server import SandboxServer
from tests.conftest import request_log

EMAIL = "anna@example.org"
TOKEN = "api-token"
JIRA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC).timestamp()


def adf(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs
        ],
    }


class Clock:
    """A controllable ``emulator.now``."""

    def __init__(self, start: float = START) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def cloud_client(url: str, **kwargs: Any) -> JiraCloud:
    kwargs.setdefault("username", EMAIL)
    kwargs.setdefault("password", TOKEN)
    return JiraCloud(
        url, api_version=3, backoff_and_retry=False, retry_with_header=False, **kwargs
    )


def dc_client(url: str, token: str | None = "personal-access-token") -> Jira:
    return Jira(
        url, token=token, cloud=False, backoff_and_retry=False, retry_with_header=False
    )


def control(server: SandboxServer, what: str, body: Any) -> None:
    response = requests.post(f"{server.url}/_sandbox/{what}", json=body, timeout=5)
    assert response.status_code in (200, 201, 204), response.text


def status_of(exc: pytest.ExceptionInfo[HTTPError]) -> int:
    assert exc.value.response is not None
    return exc.value.response.status_code


def task_fields(summary: str = "Подготовить отчёт по SEO", **extra: Any) -> dict[str, Any]:
    return {"project": {"key": "MKT"}, "summary": summary, "issuetype": {"name": "Task"}, **extra}


@pytest.fixture
def clock(jira_cloud_sandbox: SandboxServer) -> Clock:
    c = Clock()
    jira_cloud_sandbox.emulator.now = c  # type: ignore[method-assign]
    return c


@pytest.fixture
def cloud(jira_cloud_sandbox: SandboxServer) -> Iterator[JiraCloud]:
    with cloud_client(jira_cloud_sandbox.url) as client:
        yield client


@pytest.fixture
def dc(jira_dc_sandbox: SandboxServer) -> Iterator[Jira]:
    with dc_client(jira_dc_sandbox.url) as client:
        yield client


def create(cloud: JiraCloud, **fields: Any) -> dict[str, Any]:
    return cloud.create_issue(data={"fields": task_fields(**fields)})


# --- Cloud: auth and meta -------------------------------------------------------------------


def test_cloud_myself_needs_basic_auth(jira_cloud_sandbox: SandboxServer, cloud: JiraCloud) -> None:
    me = cloud.get_current_user()
    assert me["accountId"] == "557058:anna"
    assert me["displayName"] == "Анна Смирнова"

    with cloud_client(jira_cloud_sandbox.url, username=None, password=None) as anonymous, \
            pytest.raises(HTTPError) as exc:
        anonymous.get_current_user()
    assert status_of(exc) == 401
    assert exc.value.response.json()["errorMessages"]

    with cloud_client(jira_cloud_sandbox.url, username="ivan@example.org") as ivan:
        assert ivan.get_current_user()["accountId"] == "557058:ivan"


def test_cloud_seeded_credentials_are_the_only_ones_accepted(
    jira_cloud_sandbox: SandboxServer,
) -> None:
    control(jira_cloud_sandbox, "seed",
            {"credentials": [{"person": "maria", "email": "maria@example.org", "token": "s3cret"}]})
    with cloud_client(jira_cloud_sandbox.url, username="maria@example.org",
                      password="s3cret") as maria:
        assert maria.get_current_user()["accountId"] == "557058:maria"
    with cloud_client(jira_cloud_sandbox.url, username="maria@example.org",
                      password="wrong") as wrong, pytest.raises(HTTPError) as exc:
        wrong.get_current_user()
    assert status_of(exc) == 401


def test_cloud_server_info_and_project(cloud: JiraCloud) -> None:
    info = cloud.get_server_info()
    assert info["deploymentType"] == "Cloud"
    project = cloud.get(cloud.endpoint("project/MKT"))
    assert project["name"] == "Marketing"
    assert [t["name"] for t in project["issueTypes"]] == ["Task", "Sub-task"]
    statuses = cloud.get(cloud.endpoint("project/MKT/statuses"))
    categories = [s["statusCategory"]["key"] for s in statuses[0]["statuses"]]
    assert categories == ["new", "indeterminate", "done"]


# --- Cloud: issues ----------------------------------------------------------------------------


def test_cloud_create_issue_with_adf_and_read_it_back(cloud: JiraCloud) -> None:
    description = adf("Повестка", "Решения")
    created = create(cloud, description=description, assignee={"accountId": "557058:ivan"},
                     duedate="2026-12-01", labels=["planerka-42"])
    assert created["key"] == "MKT-1"
    assert created["id"] == "10000"

    issue = cloud.get_issue("MKT-1")
    fields = issue["fields"]
    assert fields["description"] == description
    assert fields["assignee"]["accountId"] == "557058:ivan"
    assert fields["reporter"]["accountId"] == "557058:anna"
    assert fields["duedate"] == "2026-12-01"
    assert fields["labels"] == ["planerka-42"]
    assert fields["status"]["statusCategory"]["key"] == "new"
    assert JIRA_TIME.match(fields["created"]) and JIRA_TIME.match(fields["updated"])
    assert fields["resolutiondate"] is None

    # Real Cloud also answers v2 with the description as a string.
    v2 = cloud.get(cloud.endpoint("issue/MKT-1", api_version=2))
    assert isinstance(v2["fields"]["description"], str)
    assert "Повестка" in v2["fields"]["description"]


def test_cloud_rejects_malformed_adf_and_bad_fields(
    jira_cloud_sandbox: SandboxServer, cloud: JiraCloud
) -> None:
    broken = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": "x"}]}
    with pytest.raises(HTTPError) as exc:
        create(cloud, description=broken)
    assert status_of(exc) == 400
    assert exc.value.response.json()["errorMessages"] == ["INVALID_INPUT"]

    with pytest.raises(HTTPError) as exc:
        create(cloud, summary="x" * 256, description="plain string", labels=["two words"])
    errors = exc.value.response.json()["errors"]
    assert set(errors) == {"summary", "description", "labels"}
    assert "Atlassian Document" in errors["description"]

    assert jira_cloud_sandbox.emulator.db["issues"] == {}


def test_cloud_bulk_create_reports_each_failure(cloud: JiraCloud) -> None:
    result = cloud.create_issues(data={"issueUpdates": [
        {"fields": task_fields("first")},
        {"fields": task_fields("")},
        {"fields": task_fields("third")},
    ]})
    assert [i["key"] for i in result["issues"]] == ["MKT-1", "MKT-2"]
    assert len(result["errors"]) == 1
    assert result["errors"][0]["failedElementNumber"] == 1
    assert "summary" in result["errors"][0]["elementErrors"]["errors"]


def test_cloud_edit_fields_and_labels_bumps_updated(cloud: JiraCloud, clock: Clock) -> None:
    create(cloud, labels=["planerka-1", "old"])
    before = cloud.get_issue("MKT-1")["fields"]["updated"]
    clock.advance(60)
    cloud.edit_issue("MKT-1", data={
        "fields": {"summary": "Новый заголовок", "duedate": "2026-12-24"},
        "update": {"labels": [{"add": "kpi"}, {"remove": "old"}]},
    })
    fields = cloud.get_issue("MKT-1", fields="summary,labels,duedate,updated")["fields"]
    assert fields["summary"] == "Новый заголовок"
    assert fields["labels"] == ["planerka-1", "kpi"]
    assert fields["duedate"] == "2026-12-24"
    assert fields["updated"] > before
    assert set(fields) == {"summary", "labels", "duedate", "updated"}

    with pytest.raises(HTTPError) as exc:
        cloud.edit_issue("MKT-1", data={"update": {"labels": [{"add": "with space"}]}})
    assert "labels" in exc.value.response.json()["errors"]
    with pytest.raises(HTTPError) as exc:
        cloud.get_issue("MKT-404")
    assert status_of(exc) == 404


# --- Cloud: search ----------------------------------------------------------------------------


def test_cloud_enhanced_search_pages_with_tokens(
    jira_cloud_sandbox: SandboxServer, cloud: JiraCloud
) -> None:
    control(jira_cloud_sandbox, "seed", {"generate": {"issues": 250, "labels": ["planerka"]}})
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        body: dict[str, Any] = {"jql": "project = MKT AND labels = planerka ORDER BY key",
                                "maxResults": 100, "fields": ["summary"]}
        if token:
            body["nextPageToken"] = token
        page = cloud.search_and_reconsile_issues_using_jql_post(data=body)
        pages += 1
        assert "total" not in page
        seen.extend(issue["key"] for issue in page["issues"])
        token = page.get("nextPageToken")
        if page["isLast"]:
            assert token is None
            break
    assert pages == 3
    assert len(seen) == 250 == len(set(seen))
    assert seen[:2] == ["MKT-1", "MKT-2"]

    # The library's own cursor loop (GET, default page of 50) agrees.
    jira_cloud_sandbox.emulator.log.clear()
    listed = cloud.enhanced_jql_get_list_of_tickets("labels = planerka", fields="summary")
    assert len({i["key"] for i in listed}) == 250
    calls = [e for e in request_log(jira_cloud_sandbox) if e["path"].endswith("/search/jql")]
    assert len(calls) == 5


def test_cloud_enhanced_search_returns_ids_by_default(cloud: JiraCloud) -> None:
    create(cloud)
    page = cloud.search_and_reconsile_issues_using_jql_post(data={"jql": "project = MKT"})
    assert page == {"issues": [{"id": "10000"}], "isLast": True}


def test_cloud_jql_errors_are_400s(cloud: JiraCloud) -> None:
    for jql, fragment in [
        ("project = MKT AND", "Error in the JQL Query"),
        ("projekt = MKT", "does not exist"),
        ("order by key", "Unbounded JQL"),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'"),
    ]:
        with pytest.raises(HTTPError) as exc:
            cloud.search_and_reconsile_issues_using_jql_post(data={"jql": jql})
        assert status_of(exc) == 400
        assert fragment in exc.value.response.json()["errorMessages"][0]


def test_cloud_jql_updated_cursor(cloud: JiraCloud, clock: Clock) -> None:
    create(cloud, summary="early")
    clock.advance(10 * 60)
    create(cloud, summary="late")

    def keys(jql: str) -> list[str]:
        page = cloud.search_and_reconsile_issues_using_jql_post(
            data={"jql": jql, "fields": ["key"]})
        return [i["key"] for i in page["issues"]]

    assert keys('project = MKT AND updated >= "2026-11-26 10:05"') == ["MKT-2"]
    assert keys("project = MKT AND updated >= -5m") == ["MKT-2"]
    millis = int((START + 60) * 1000)
    assert keys(f"project = MKT AND updated < {millis}") == ["MKT-1"]
    assert keys("project = MKT ORDER BY updated ASC") == ["MKT-1", "MKT-2"]
    assert keys("key in (MKT-1, MKT-2) AND statusCategory != Done ORDER BY key DESC") == [
        "MKT-2", "MKT-1"]


def test_cloud_legacy_search_is_gone(cloud: JiraCloud) -> None:
    with pytest.raises(HTTPError) as exc:
        cloud.search_for_issues_using_jql(jql="project = MKT")
    assert status_of(exc) == 410
    assert "/rest/api/3/search/jql" in str(exc.value)
    with pytest.raises(HTTPError) as exc:
        cloud.post(cloud.endpoint("search", api_version=2), data={"jql": "project = MKT"})
    assert status_of(exc) == 410


def test_cloud_search_lag_until_reconciled(
    jira_cloud_sandbox: SandboxServer, cloud: JiraCloud, clock: Clock
) -> None:
    control(jira_cloud_sandbox, "options", {"search_lag_seconds": 30})
    created = create(cloud, labels=["planerka-7"])
    jql = "project = MKT AND labels = planerka-7"

    def search(**extra: Any) -> list[str]:
        page = cloud.search_and_reconsile_issues_using_jql_post(data={"jql": jql, **extra})
        return [i["id"] for i in page["issues"]]

    assert search() == []
    assert search(reconcileIssues=[int(created["id"])]) == [created["id"]]
    clock.advance(31)
    assert search() == [created["id"]]

    # An edit is invisible too: the index still holds the old labels.
    cloud.edit_issue(created["key"], data={"update": {"labels": [{"remove": "planerka-7"}]}})
    assert search() == [created["id"]]
    assert search(reconcileIssues=[int(created["id"])]) == []


# --- Cloud: comments, transitions, links, attachments -----------------------------------------


def test_cloud_comments_add_edit_list(cloud: JiraCloud, clock: Clock) -> None:
    create(cloud)
    clock.advance(5)
    comment = cloud.add_comment("MKT-1", data={"body": adf("Прогресс: 3 из 5")})
    assert comment["author"]["accountId"] == "557058:anna"
    assert comment["body"] == adf("Прогресс: 3 из 5")
    clock.advance(5)
    edited = cloud.update_comment("MKT-1", comment["id"], data={"body": adf("Прогресс: 4 из 5")})
    assert edited["body"] == adf("Прогресс: 4 из 5")
    assert edited["updated"] > edited["created"]

    page = cloud.get_comments("MKT-1")
    assert page["total"] == 1
    assert page["comments"][0]["body"] == adf("Прогресс: 4 из 5")
    assert cloud.get_issue("MKT-1")["fields"]["updated"] == edited["updated"]

    with pytest.raises(HTTPError) as exc:
        cloud.add_comment("MKT-1", data={"body": "plain text is not ADF"})
    assert exc.value.response.json()["errors"] == {"comment": "Comment body is not valid!"}


def test_cloud_transition_to_done_and_back(cloud: JiraCloud) -> None:
    create(cloud)
    transitions = cloud.get_transitions("MKT-1")["transitions"]
    done = next(t for t in transitions if t["to"]["statusCategory"]["key"] == "done")
    cloud.do_transition("MKT-1", data={"transition": {"id": done["id"]}})
    fields = cloud.get_issue("MKT-1")["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert JIRA_TIME.match(fields["resolutiondate"])
    found = cloud.search_and_reconsile_issues_using_jql_post(
        data={"jql": "project = MKT AND statusCategory = Done"})
    assert found["issues"] == [{"id": "10000"}]

    todo = next(t for t in cloud.get_transitions("MKT-1")["transitions"]
                if t["to"]["statusCategory"]["key"] == "new")
    cloud.do_transition("MKT-1", data={"transition": {"id": todo["id"]}})
    assert cloud.get_issue("MKT-1")["fields"]["resolutiondate"] is None

    with pytest.raises(HTTPError) as exc:
        cloud.do_transition("MKT-1", data={"transition": {"id": "999"}})
    assert status_of(exc) == 400


def test_cloud_issue_link_shows_on_both_sides(cloud: JiraCloud) -> None:
    create(cloud, summary="Планёрка 26.11")
    create(cloud, summary="Решение")
    names = [t["name"] for t in cloud.get_issue_link_types()["issueLinkTypes"]]
    assert "Relates" in names
    cloud.link_issues(data={"type": {"name": "Relates"}, "inwardIssue": {"key": "MKT-1"},
                            "outwardIssue": {"key": "MKT-2"}})
    meeting_links = cloud.get_issue("MKT-1")["fields"]["issuelinks"]
    task_links = cloud.get_issue("MKT-2")["fields"]["issuelinks"]
    assert meeting_links[0]["outwardIssue"]["key"] == "MKT-2"
    assert task_links[0]["inwardIssue"]["key"] == "MKT-1"
    assert meeting_links[0]["type"]["name"] == "Relates"


def test_cloud_attachment_needs_xsrf_header(
    jira_cloud_sandbox: SandboxServer, cloud: JiraCloud
) -> None:
    create(cloud)
    # JiraCloud.add_attachment (generated code) posts JSON without the no-check header.
    with pytest.raises(HTTPError) as exc:
        cloud.add_attachment("MKT-1")
    assert status_of(exc) == 403
    plain = requests.post(
        f"{jira_cloud_sandbox.url}/rest/api/3/issue/MKT-1/attachments",
        files={"file": ("agenda.ics", b"BEGIN:VCALENDAR", "text/calendar")},
        auth=(EMAIL, TOKEN), timeout=5,
    )
    assert plain.status_code == 403
    assert plain.text == "XSRF check failed"

    uploaded = cloud.post(
        cloud.endpoint("issue/MKT-1/attachments"),
        files={"file": ("agenda.ics", io.BytesIO(b"BEGIN:VCALENDAR"), "text/calendar")},
        headers=cloud.no_check_headers,
    )
    assert [a["filename"] for a in uploaded] == ["agenda.ics"]
    assert uploaded[0]["size"] == len(b"BEGIN:VCALENDAR")
    listed = cloud.get_issue("MKT-1")["fields"]["attachment"]
    assert [a["id"] for a in listed] == [uploaded[0]["id"]]
    content = requests.get(listed[0]["content"], auth=(EMAIL, TOKEN), timeout=5)
    assert content.content == b"BEGIN:VCALENDAR"
    cloud.remove_attachment(uploaded[0]["id"])
    assert cloud.get_issue("MKT-1")["fields"]["attachment"] == []


# --- Cloud: faults and the library's retry behaviour -------------------------------------------


def test_cloud_429_with_retry_after_reaches_the_client(
    jira_cloud_sandbox: SandboxServer, cloud: JiraCloud
) -> None:
    control(jira_cloud_sandbox, "faults", {
        "path": "/rest/api/3/myself", "status": 429, "count": 2,
        "headers": {"Retry-After": "1"},
        "body": {"errorMessages": ["Rate limit exceeded."], "errors": {}},
    })
    for _ in range(2):
        with pytest.raises(HTTPError) as exc:
            cloud.get_current_user()
        assert status_of(exc) == 429
        assert exc.value.response.headers["Retry-After"] == "1"
    assert cloud.get_current_user()["accountId"] == "557058:anna"


def test_library_repeats_a_post_after_429(jira_cloud_sandbox: SandboxServer) -> None:
    """atlassian-python-api's default ``retry_with_header=True`` re-sends a POST once."""
    control(jira_cloud_sandbox, "faults", {
        "path": "/rest/api/3/issue$", "method": "POST", "status": 429, "count": 1,
        "headers": {"Retry-After": "1"},
    })
    with JiraCloud(jira_cloud_sandbox.url, username=EMAIL, password=TOKEN) as default:
        created = default.create_issue(data={"fields": task_fields()})
    assert created["key"] == "MKT-1"
    posts = [e["status"] for e in request_log(jira_cloud_sandbox) if e["method"] == "POST"]
    assert posts == [429, 201]


def test_cloud_dropped_connection_after_create(
    jira_cloud_sandbox: SandboxServer, cloud: JiraCloud
) -> None:
    control(jira_cloud_sandbox, "faults",
            {"path": "/rest/api/3/issue$", "method": "POST", "drop": True})
    with pytest.raises(requests.ConnectionError):
        create(cloud, labels=["planerka-99"])
    # The write happened: a marker search finds it, so a retry must search first.
    found = cloud.search_and_reconsile_issues_using_jql_post(
        data={"jql": "labels = planerka-99", "fields": ["summary"]})
    assert [i["key"] for i in found["issues"]] == ["MKT-1"]


def test_library_backoff_replays_a_dropped_post(jira_cloud_sandbox: SandboxServer) -> None:
    """``backoff_and_retry=True`` mounts urllib3 ``Retry(allowed_methods=None)``: every dropped
    POST is re-sent, so each drop leaves a duplicate issue behind."""
    control(jira_cloud_sandbox, "faults",
            {"path": "/rest/api/3/issue$", "method": "POST", "drop": True, "count": 2})
    with JiraCloud(jira_cloud_sandbox.url, username=EMAIL, password=TOKEN,
                   backoff_and_retry=True, retry_with_header=False) as retrying:
        created = retrying.create_issue(data={"fields": task_fields()})
    assert created["key"] == "MKT-3"
    assert len(jira_cloud_sandbox.emulator.db["issues"]) == 3


# --- Data Center --------------------------------------------------------------------------------


def test_dc_myself_with_personal_access_token(jira_dc_sandbox: SandboxServer, dc: Jira) -> None:
    me = dc.myself()
    assert me["name"] == "anna"
    assert me["key"].startswith("JIRAUSER")
    assert "accountId" not in me
    with dc_client(jira_dc_sandbox.url, token=None) as anonymous, \
            pytest.raises(HTTPError) as exc:
        anonymous.myself()
    assert status_of(exc) == 401
    v3 = requests.get(f"{jira_dc_sandbox.url}/rest/api/3/myself",
                      headers={"Authorization": "Bearer personal-access-token"}, timeout=5)
    assert v3.status_code == 404
    assert dc.get_server_info()["deploymentType"] == "Server"


def test_dc_create_with_wiki_and_username(dc: Jira) -> None:
    created = dc.issue_create(fields=task_fields(
        description="h2. Повестка\n* KPI", assignee={"name": "ivan"}, labels=["planerka-1"]))
    issue = dc.issue(created["key"])
    assert issue["fields"]["description"] == "h2. Повестка\n* KPI"
    assert issue["fields"]["assignee"]["name"] == "ivan"
    assert "accountId" not in issue["fields"]["assignee"]

    with pytest.raises(HTTPError) as exc:
        dc.issue_create(fields=task_fields(description=adf("ADF is Cloud only")))
    assert exc.value.response.json()["errors"]["description"] == "Operation value must be a string"
    with pytest.raises(HTTPError) as exc:
        dc.issue_create(fields=task_fields(assignee={"accountId": "557058:ivan"}))
    assert "assignee" in exc.value.response.json()["errors"]


def test_dc_classic_search_has_start_at_and_total(jira_dc_sandbox: SandboxServer, dc: Jira) -> None:
    control(jira_dc_sandbox, "seed", {"generate": {"issues": 120, "labels": ["planerka"]}})
    keys: list[str] = []
    start = 0
    while True:
        page = dc.jql("project = MKT AND labels = planerka ORDER BY key", fields="summary",
                      start=start, limit=50)
        assert page["total"] == 120
        assert page["startAt"] == start
        keys.extend(i["key"] for i in page["issues"])
        start += len(page["issues"])
        if start >= page["total"]:
            break
    assert len(set(keys)) == 120
    assert keys[0] == "MKT-1"


def test_dc_comments_transition_and_attachment(dc: Jira) -> None:
    dc.issue_create(fields=task_fields())
    comment = dc.issue_add_comment("MKT-1", "*Решение*: запустить рассылку")
    assert comment["body"] == "*Решение*: запустить рассылку"
    assert comment["author"]["name"] == "anna"
    dc.issue_edit_comment("MKT-1", comment["id"], "исправлено")
    assert dc.issue_get_comments("MKT-1")["comments"][0]["body"] == "исправлено"

    dc.set_issue_status("MKT-1", "Done")
    fields = dc.issue("MKT-1")["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert JIRA_TIME.match(fields["resolutiondate"])

    attached = dc.add_attachment_object("MKT-1", io.BytesIO(b"minutes"))
    assert attached[0]["size"] == len(b"minutes")
    assert "/secure/attachment/" in attached[0]["content"]
    assert len(dc.issue("MKT-1")["fields"]["attachment"]) == 1


def test_dc_user_search_by_username(dc: Jira) -> None:
    found = dc.user_find_by_user_string(username="iv")
    assert [u["name"] for u in found] == ["ivan"]
    assert dc.user("maria")["displayName"] == "Мария Иванова"


# --- both: who may be assigned ----------------------------------------------------------------


def test_an_assignee_who_may_not_be_assigned_is_refused_like_jira(
        jira_cloud_sandbox: SandboxServer, cloud: JiraCloud) -> None:
    """A deactivated account (or an app, or someone without Browse) cannot be assigned: create,
    edit and PUT assignee answer 400 on the field, as Jira does, and nothing is stored."""
    people = jira_cloud_sandbox.emulator.db["people"]  # type: ignore[attr-defined]
    person = next(p for k, p in people.items() if k != "anna")
    person["active"] = False
    account = {"accountId": person["jira_account_id"]}
    with pytest.raises(HTTPError) as refused:
        create(cloud, assignee=account)
    assert status_of(refused) == 400
    assert "cannot be assigned issues" in refused.value.response.json()["errors"]["assignee"]
    issue = create(cloud)
    for attempt in (lambda: cloud.edit_issue(issue["key"], data={"fields": {"assignee": account}}),
                    lambda: cloud.assign_issue(issue["key"], data=account)):
        with pytest.raises(HTTPError) as again:
            attempt()
        assert status_of(again) == 400
    assert cloud.get_issue(issue["key"])["fields"]["assignee"] is None
    person["active"] = True  # active again: the same request is taken
    cloud.edit_issue(issue["key"], data={"fields": {"assignee": account}})
    assert cloud.get_issue(issue["key"])["fields"]["assignee"]["accountId"] == account["accountId"]


def test_dc_refuses_an_assignee_outside_the_project(jira_dc_sandbox: SandboxServer,
                                                    dc: Jira) -> None:
    emulator = jira_dc_sandbox.emulator
    project = next(iter(emulator.db["projects"].values()))  # type: ignore[attr-defined]
    people = emulator.db["people"]  # type: ignore[attr-defined]
    outsider = next(k for k in people if k != "anna")
    project["members"] = [k for k in people if k != outsider]
    fields = {**task_fields(), "project": {"key": project["key"]},
              "assignee": {"name": people[outsider]["jira_username"]}}
    with pytest.raises(HTTPError) as refused:
        dc.create_issue(fields=fields)
    assert status_of(refused) == 400
    assert "cannot be assigned issues" in refused.value.response.json()["errors"]["assignee"]
