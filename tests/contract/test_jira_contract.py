"""Every Jira Cloud endpoint the sandbox serves answers what the official OpenAPI spec documents.

Responses are validated leniently (see ``tests/contract/openapi.py``): types, required keys and
enums, not ``additionalProperties: false``. Each case drives the emulator over HTTP, so a shape
regression in ``planerka_sync/sandbox/jira.py`` fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from planerka_sync.sandbox.server import SandboxServer
from tests.contract.openapi import SpecValidator

AUTH = ("anna@example.org", "api-token")
API = "/rest/api/3"
ADF = {"type": "doc", "version": 1,
       "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Повестка"}]}]}


@dataclass
class Call:
    method: str
    path: str
    status: int
    json: Any = None
    params: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    return SpecValidator.load("jira-cloud")


@pytest.fixture
def populated(jira_cloud_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """MKT-1 (done, with a comment, an attachment and a link to MKT-2) and MKT-2."""
    url = jira_cloud_sandbox.url
    with requests.Session() as s:
        s.auth = AUTH
        for summary in ("Планёрка 26.11", "Запустить рассылку"):
            r = s.post(f"{url}{API}/issue", json={"fields": {
                "project": {"key": "MKT"}, "summary": summary, "issuetype": {"name": "Task"},
                "description": ADF, "labels": ["planerka"], "duedate": "2026-12-01",
                "assignee": {"accountId": "557058:ivan"}}})
            assert r.status_code == 201, r.text
        assert s.post(f"{url}{API}/issue/MKT-1/comment", json={"body": ADF}).status_code == 201
        assert s.post(f"{url}{API}/issueLink", json={
            "type": {"name": "Relates"}, "inwardIssue": {"key": "MKT-1"},
            "outwardIssue": {"key": "MKT-2"}}).status_code == 201
        assert s.post(f"{url}{API}/issue/MKT-1/attachments",
                      files={"file": ("a.txt", b"hi", "text/plain")},
                      headers={"X-Atlassian-Token": "no-check"}).status_code == 200
        assert s.post(f"{url}{API}/issue/MKT-1/transitions",
                      json={"transition": {"id": "31"}}).status_code == 204
    yield jira_cloud_sandbox


ISSUE_FIELDS = {"project": {"key": "MKT"}, "summary": "x", "issuetype": {"name": "Task"}}

CASES: dict[str, Call] = {
    "myself": Call("GET", f"{API}/myself", 200),
    "myself unauthenticated": Call("GET", f"{API}/myself", 401, headers={"Authorization": ""}),
    "serverInfo": Call("GET", f"{API}/serverInfo", 200),
    "project": Call("GET", f"{API}/project/MKT", 200),
    "project by id": Call("GET", f"{API}/project/10000", 200),
    "project missing": Call("GET", f"{API}/project/NOPE", 404),
    "project search": Call("GET", f"{API}/project/search", 200, params={"expand": "issueTypes"}),
    "project list": Call("GET", f"{API}/project", 200),
    "project statuses": Call("GET", f"{API}/project/MKT/statuses", 200),
    "issue types": Call("GET", f"{API}/issuetype", 200),
    "statuses": Call("GET", f"{API}/status", 200),
    "user search": Call("GET", f"{API}/user/search", 200, params={"query": "Иван"}),
    "user": Call("GET", f"{API}/user", 200, params={"accountId": "557058:maria"}),
    "user missing": Call("GET", f"{API}/user", 404, params={"accountId": "nobody"}),
    "assignable": Call("GET", f"{API}/user/assignable/search", 200, params={"project": "MKT"}),
    "create": Call("POST", f"{API}/issue", 201, json={"fields": ISSUE_FIELDS}),
    "create invalid": Call("POST", f"{API}/issue", 400,
                           json={"fields": {**ISSUE_FIELDS, "summary": "x" * 300}}),
    "create bulk": Call("POST", f"{API}/issue/bulk", 201, json={"issueUpdates": [
        {"fields": ISSUE_FIELDS}, {"fields": {**ISSUE_FIELDS, "labels": ["a b"]}}]}),
    "create bulk all failed": Call("POST", f"{API}/issue/bulk", 400, json={"issueUpdates": [
        {"fields": {**ISSUE_FIELDS, "labels": ["a b"]}}]}),
    "issue": Call("GET", f"{API}/issue/MKT-1", 200,
                  params={"expand": "renderedFields,changelog"}),
    "issue some fields": Call("GET", f"{API}/issue/10001", 200, params={"fields": "summary"}),
    "issue missing": Call("GET", f"{API}/issue/MKT-99", 404),
    "edit": Call("PUT", f"{API}/issue/MKT-2", 204, json={"fields": {"summary": "y"}}),
    "edit returning issue": Call("PUT", f"{API}/issue/MKT-2", 200,
                                 json={"fields": {"summary": "z"}},
                                 params={"returnIssue": "true"}),
    "edit invalid": Call("PUT", f"{API}/issue/MKT-2", 400, json={"fields": {"status": "Done"}}),
    "delete": Call("DELETE", f"{API}/issue/MKT-2", 204),
    "search jql post": Call("POST", f"{API}/search/jql", 200, json={
        "jql": "project = MKT ORDER BY key", "fields": ["*all"], "maxResults": 1,
        "expand": "renderedFields"}),
    "search jql ids": Call("POST", f"{API}/search/jql", 200, json={"jql": "labels = planerka"}),
    "search jql get": Call("GET", f"{API}/search/jql", 200,
                           params={"jql": "project = MKT", "fields": "summary,status"}),
    "search jql invalid": Call("POST", f"{API}/search/jql", 400, json={"jql": "project ="}),
    "approximate count": Call("POST", f"{API}/search/approximate-count", 200,
                              json={"jql": "project = MKT"}),
    "comments": Call("GET", f"{API}/issue/MKT-1/comment", 200),
    "add comment": Call("POST", f"{API}/issue/MKT-1/comment", 201, json={"body": ADF}),
    "comment": Call("GET", f"{API}/issue/MKT-1/comment/10000", 200),
    "edit comment": Call("PUT", f"{API}/issue/MKT-1/comment/10000", 200, json={"body": ADF}),
    "delete comment": Call("DELETE", f"{API}/issue/MKT-1/comment/10000", 204),
    "transitions": Call("GET", f"{API}/issue/MKT-2/transitions", 200),
    "transition": Call("POST", f"{API}/issue/MKT-2/transitions", 204,
                       json={"transition": {"id": "21"}}),
    "link": Call("POST", f"{API}/issueLink", 201, json={
        "type": {"name": "Blocks"}, "inwardIssue": {"key": "MKT-2"},
        "outwardIssue": {"key": "MKT-1"}}),
    "link types": Call("GET", f"{API}/issueLinkType", 200),
    "attach": Call("POST", f"{API}/issue/MKT-2/attachments", 200,
                   files={"file": ("b.txt", b"yo", "text/plain")},
                   headers={"X-Atlassian-Token": "no-check"}),
    "attach without xsrf token": Call("POST", f"{API}/issue/MKT-2/attachments", 403,
                                      files={"file": ("b.txt", b"yo", "text/plain")}),
    "attachment": Call("GET", f"{API}/attachment/10000", 200),
    "attachment content": Call("GET", f"{API}/attachment/content/10000", 200),
    "delete attachment": Call("DELETE", f"{API}/attachment/10000", 204),
    "labels": Call("GET", f"{API}/label", 200),
}


def perform(server: SandboxServer, call: Call) -> requests.Response:
    headers = call.headers or {}
    auth = None if headers.get("Authorization") == "" else AUTH
    clean = {k: v for k, v in headers.items() if v}
    return requests.request(call.method, server.url + call.path, json=call.json,
                            params=call.params, files=call.files, headers=clean, auth=auth,
                            timeout=10)


@pytest.mark.parametrize("name", list(CASES))
def test_cloud_response_matches_spec(
    name: str, populated: SandboxServer, validator: SpecValidator
) -> None:
    call = CASES[name]
    response = perform(populated, call)
    assert response.status_code == call.status, response.text
    ctype = response.headers.get("Content-Type", "")
    body = response.json() if "json" in ctype and response.content else None
    assert validator.problems(call.method, call.path, response.status_code, body) == []
    if response.status_code >= 400 and body is not None:
        assert body.get("errorMessages") or body.get("errors"), "Jira errors say what went wrong"


def test_every_documented_list_endpoint_is_covered(validator: SpecValidator) -> None:
    """Each case's path exists in the spec for its method (guards against typos in CASES)."""
    missing = [n for n, c in CASES.items() if validator.match_path(c.method, c.path) is None]
    assert missing == []


def test_enhanced_search_shape_has_no_total(populated: SandboxServer) -> None:
    response = perform(populated, CASES["search jql post"])
    body = response.json()
    assert "total" not in body
    assert body["isLast"] is False and isinstance(body["nextPageToken"], str)
    issue = body["issues"][0]
    assert set(issue) >= {"id", "key", "self", "fields", "renderedFields"}
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"
    assert issue["fields"]["attachment"][0]["filename"] == "a.txt"
    assert issue["fields"]["issuelinks"][0]["outwardIssue"]["key"] == "MKT-2"
