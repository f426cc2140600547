"""The lenient OpenAPI response validator itself (tests/contract/openapi.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract import openapi
from tests.contract.openapi import SpecValidator

CARD_ID = "5abbe4b7ddc1b351ef961414"
MYSELF = {
    "accountId": "5b10a2844c20165700ede21g",
    "accountType": "atlassian",
    "active": True,
    "displayName": "Anna Petrova",
    "emailAddress": "anna@example.com",
    "self": "http://127.0.0.1:8080/rest/api/3/user?accountId=5b10a2844c20165700ede21g",
    "timeZone": "Europe/Moscow",
    "avatarUrls": {"48x48": "http://127.0.0.1:8080/avatar/anna.png"},
}


@pytest.fixture(scope="module")
def jira() -> SpecValidator:
    return SpecValidator.load("jira-cloud")


@pytest.fixture(scope="module")
def trello() -> SpecValidator:
    return SpecValidator.load("trello")


# --- Jira Cloud ---------------------------------------------------------------------------------


def test_valid_myself_passes(jira: SpecValidator) -> None:
    assert jira.problems("GET", "/rest/api/3/myself", 200, MYSELF) == []


def test_minimal_user_passes_unknown_fields_too(jira: SpecValidator) -> None:
    # additionalProperties: false is not enforced: live Jira adds fields before the spec does.
    body = {"accountId": "abc", "active": True, "somethingNew": {"x": 1}}
    assert jira.problems("GET", "/rest/api/3/myself", 200, body) == []


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("active", "yes", "boolean"), ("accountId", 5, "string"), ("displayName", None, "string")],
)
def test_wrong_type_is_reported(
    jira: SpecValidator, field: str, value: object, expected: str
) -> None:
    problems = jira.problems("GET", "/rest/api/3/myself", 200, {**MYSELF, field: value})
    assert len(problems) == 1
    assert f"body.{field}" in problems[0]
    assert expected in problems[0]
    assert problems[0].startswith("GET /rest/api/3/myself 200: ")


def test_nested_wrong_type_names_the_path(jira: SpecValidator) -> None:
    body = {**MYSELF, "avatarUrls": {"48x48": 48}}
    (problem,) = jira.problems("GET", "/rest/api/3/myself", 200, body)
    assert "body.avatarUrls.48x48" in problem


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/rest/api/3/search/jql", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/search/jql?fields=summary", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/issue/bulk", "/rest/api/3/issue/bulk"),
        ("GET", "/rest/api/3/issue/MKT-1", "/rest/api/3/issue/{issueIdOrKey}"),
        ("PUT", "/rest/api/3/issue/10001", "/rest/api/3/issue/{issueIdOrKey}"),
        ("POST", "/rest/api/3/issue/MKT-1/comment", "/rest/api/3/issue/{issueIdOrKey}/comment"),
        (
            "PUT",
            "/rest/api/3/issue/MKT-1/comment/10000",
            "/rest/api/3/issue/{issueIdOrKey}/comment/{id}",
        ),
    ],
)
def test_path_matching_prefers_literal_segments(
    jira: SpecValidator, method: str, path: str, template: str
) -> None:
    assert jira.match_path(method, path) == template


def test_method_decides_between_templates(jira: SpecValidator) -> None:
    # /rest/api/3/issue/bulk has no GET: a GET there is an issue key lookup.
    assert jira.match_path("GET", "/rest/api/3/issue/bulk") == "/rest/api/3/issue/{issueIdOrKey}"


def test_search_jql_page_validates(jira: SpecValidator) -> None:
    page = {"issues": [{"id": "10001", "key": "MKT-1", "fields": {}}], "isLast": True}
    assert jira.problems("POST", "/rest/api/3/search/jql", 200, page) == []
    bad = {"issues": [{"id": 10001, "key": "MKT-1"}], "isLast": "true"}
    problems = jira.problems("POST", "/rest/api/3/search/jql", 200, bad)
    assert any("body.issues[0].id" in p for p in problems)
    assert any("body.isLast" in p for p in problems)


def test_unknown_path_is_reported(jira: SpecValidator) -> None:
    assert jira.problems("GET", "/rest/api/3/no-such-thing", 200, {}) == [
        "no spec path matches GET /rest/api/3/no-such-thing"
    ]


def test_unknown_method_is_reported(jira: SpecValidator) -> None:
    assert jira.problems("PATCH", "/rest/api/3/myself", 200, {}) == [
        "no spec path matches PATCH /rest/api/3/myself"
    ]


def test_undocumented_status_is_reported(jira: SpecValidator) -> None:
    assert jira.problems("GET", "/rest/api/3/myself", 418, {}) == [
        "status 418 not documented for GET /rest/api/3/myself"
    ]


def test_documented_status_without_schema_passes(jira: SpecValidator) -> None:
    # 401 on /myself is documented with a description only.
    assert jira.problems("GET", "/rest/api/3/myself", 401, {"anything": "goes"}) == []


def test_nullable_fields_accept_null(jira: SpecValidator) -> None:
    # IssueBean.fields values and JsonTypeBean are fine; Filter.approximateLastUsed is relaxed.
    body = {"id": "10000", "name": "mine", "approximateLastUsed": None}
    assert jira.problems("GET", "/rest/api/3/filter/10000", 200, body) == []


def test_enum_relaxed_only_where_examples_break_it(jira: SpecValidator) -> None:
    # Project.style: the spec's own example says "CLASSIC" against enum [classic, next-gen].
    project = {"id": "10000", "key": "MKT", "name": "Marketing", "style": "CLASSIC"}
    assert jira.problems("GET", "/rest/api/3/project/MKT", 200, project) == []
    # ...but other enums stay strict: User.accountType.
    user = {**MYSELF, "accountType": "robot"}
    (problem,) = jira.problems("GET", "/rest/api/3/myself", 200, user)
    assert "body.accountType" in problem


def test_format_is_not_enforced(jira: SpecValidator) -> None:
    # emailAddress has no format in the spec, but self is a "uri"-ish string; dates are date-time.
    comment = {"id": "10000", "created": "not a date", "self": "not a uri"}
    path = "/rest/api/3/issue/MKT-1/comment/10000"
    assert jira.problems("GET", path, 200, comment) == []


def test_spec_is_cached_per_process() -> None:
    assert SpecValidator.load("jira-cloud") is SpecValidator.load("jira-cloud")


def test_unknown_spec_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown spec"):
        SpecValidator.load("asana")


# --- Trello -------------------------------------------------------------------------------------


def test_trello_card_passes(trello: SpecValidator) -> None:
    card = {
        "id": CARD_ID,
        "name": "Planning 2025-06-02",
        "closed": False,
        "due": "2025-06-02T09:00:00.000Z",
        "start": None,
        "idList": CARD_ID,
        "idBoard": CARD_ID,
        "idMembers": [CARD_ID],
        "idChecklists": [CARD_ID],
        "labels": [],
    }
    assert trello.problems("GET", f"/1/cards/{CARD_ID}", 200, card) == []


def test_trello_card_wrong_type_is_reported(trello: SpecValidator) -> None:
    card = {"id": CARD_ID, "name": "x", "closed": "no"}
    (problem,) = trello.problems("GET", f"/1/cards/{CARD_ID}", 200, card)
    assert problem.startswith("GET /cards/{id} 200: body.closed: ")
    assert "boolean" in problem


def test_trello_base_path_is_stripped(trello: SpecValidator) -> None:
    assert trello.match_path("GET", f"/1/cards/{CARD_ID}") == "/cards/{id}"
    assert trello.match_path("GET", f"/1/boards/{CARD_ID}/cards") == "/boards/{id}/cards"
    assert trello.match_path("GET", "/1/batch?urls=/cards/x") == "/batch"


def test_trello_example_witnesses_are_accepted(trello: SpecValidator) -> None:
    # CheckItem.pos is typed string but exemplified (and served) as a number; nameData is null.
    item = {"id": CARD_ID, "name": "Ship it", "state": "incomplete", "pos": 16384, "nameData": None}
    path = f"/1/cards/{CARD_ID}/checklist/{CARD_ID}/checkItem/{CARD_ID}"
    assert trello.problems("PUT", path, 200, item) == []
    assert trello.problems("PUT", path, 200, {**item, "pos": 8192.5}) == []
    (problem,) = trello.problems("PUT", path, 200, {**item, "state": "done"})
    assert "body.state" in problem


def test_trello_one_of_overlap_is_accepted(trello: SpecValidator) -> None:
    # /search items are oneOf Member | Card | ...; a card matches several loose branches.
    body = [{"id": CARD_ID, "name": "Planning", "closed": False}]
    assert trello.problems("GET", "/1/search", 200, body) == []
    assert trello.problems("GET", "/1/members/me", 200, {"id": CARD_ID, "fullName": "Anna"}) == []


def test_trello_unknown_path_is_reported(trello: SpecValidator) -> None:
    assert trello.problems("GET", "/1/nope", 200, {}) == ["no spec path matches GET /1/nope"]


def test_trello_default_response(trello: SpecValidator) -> None:
    # Some Trello operations document only "default"; a 404 with a message then validates.
    responses = {
        (template, method): item[method]["responses"]
        for template, item in trello.spec["paths"].items()
        for method in item
        if isinstance(item[method], dict) and "responses" in item[method]
    }
    with_default = [key for key, value in responses.items() if "default" in value]
    if not with_default:
        pytest.skip("no Trello operation documents a default response")
    template, method = with_default[0]
    path = "/1" + template.replace("{", "").replace("}", "")
    assert not any("not documented" in p for p in trello.problems(method, path, 599, {}))


# --- the spec folder ----------------------------------------------------------------------------


@pytest.fixture
def empty_specs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(openapi.SPECS_ENV, str(tmp_path))
    openapi.clear_cache()
    yield tmp_path
    openapi.clear_cache()


def test_absent_specs_skip(empty_specs_dir: Path) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        SpecValidator.load("jira-cloud")
    message = str(skipped.value)
    assert str(empty_specs_dir) in message
    assert openapi.SPECS_ENV in message


def test_specs_dir_defaults_to_the_in_repo_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(openapi.SPECS_ENV, raising=False)
    in_repo = Path(openapi.__file__).resolve().parent / "specs"
    assert openapi.specs_dir() == in_repo
    for filename in [*openapi.SPEC_FILES.values(), "adf-full.schema.json"]:
        assert openapi.spec_file(filename) == in_repo / filename


def test_a_missing_in_repo_spec_fails_instead_of_skipping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(openapi.SPECS_ENV, raising=False)
    monkeypatch.setattr(openapi, "IN_REPO_SPECS", tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"reduce\.py"):
        SpecValidator.load("trello")
