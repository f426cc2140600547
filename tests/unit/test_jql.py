"""The sandbox's JQL subset: parsing, Jira-like errors, evaluation and ordering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planerka_sync.sandbox import jql

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()


class Ctx:
    now = NOW
    tz = ZoneInfo("UTC")

    def values(self, issue: Any, field: str) -> list[str]:
        value = issue.get(field)
        return value if isinstance(value, list) else ([value] if value else [])

    def timestamp(self, issue: Any, field: str) -> float | None:
        return issue.get(field)

    def key_number(self, issue: Any) -> tuple[str, int]:
        project, number = issue["key"].split("-")
        return project, int(number)

    def current_user(self) -> list[str]:
        return ["anna"]

    def check_value(self, field: str, value: str) -> None:
        if field == "project" and value.upper() != "MKT":
            raise jql.JqlError(f"The value '{value}' does not exist for the field 'project'.")


ISSUES = [
    {"key": "MKT-1", "project": "MKT", "labels": ["planerka", "kpi"], "status": "Done",
     "assignee": "anna", "updated": NOW - 3600, "summary": "Отчёт по SEO"},
    {"key": "MKT-2", "project": "MKT", "labels": ["planerka"], "status": "To Do",
     "assignee": None, "updated": NOW - 60, "summary": "Рассылка"},
    {"key": "MKT-10", "project": "MKT", "labels": [], "status": "In Progress",
     "assignee": "ivan", "updated": NOW - 86400 * 3, "summary": "SEO аудит"},
]


def keys(text: str) -> list[str]:
    query = jql.parse(text)
    hits = [i for i in ISSUES if jql.matcher(query, Ctx())(i)]
    return [i["key"] for i in jql.sort_issues(hits, query.order, Ctx())]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project = MKT ORDER BY key", ["MKT-1", "MKT-2", "MKT-10"]),
        ("project = MKT", ["MKT-10", "MKT-2", "MKT-1"]),  # default: key DESC
        ("labels = planerka ORDER BY key", ["MKT-1", "MKT-2"]),
        ("labels in (kpi, nothing)", ["MKT-1"]),
        ("labels is EMPTY", ["MKT-10"]),
        ('status = "in progress"', ["MKT-10"]),
        ("key in (MKT-1, mkt-10) ORDER BY key", ["MKT-1", "MKT-10"]),
        ("issuekey > MKT-1 ORDER BY key", ["MKT-2", "MKT-10"]),
        ("updated >= -5m", ["MKT-2"]),
        ("updated >= -2h ORDER BY updated DESC", ["MKT-2", "MKT-1"]),
        ('updated < "2026-11-24 00:00"', ["MKT-10"]),
        (f"updated >= {int((NOW - 120) * 1000)}", ["MKT-2"]),
        ("assignee = currentUser()", ["MKT-1"]),
        ("assignee != anna", ["MKT-10"]),  # != never matches an empty field
        ("assignee is EMPTY OR labels = kpi ORDER BY key", ["MKT-1", "MKT-2"]),
        ("NOT (labels = planerka) AND project = MKT", ["MKT-10"]),
        ("summary ~ seo ORDER BY key", ["MKT-1", "MKT-10"]),
        ("project = MKT ORDER BY updated ASC, key", ["MKT-10", "MKT-1", "MKT-2"]),
    ],
)
def test_queries(text: str, expected: list[str]) -> None:
    assert keys(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("project = ", "Expecting either a value, list or function but got 'EOF'"),
        ("project MKT", "Expecting operator but got 'MKT'"),
        ('summary ~ "open', "The quoted string 'open' has not been completed"),
        ("foo = 1", "Field 'foo' does not exist"),
        ("labels > a", "The operator '>' is not supported by the 'labels' field."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("updated >= yesterday", "Date value 'yesterday' for field 'updated' is invalid"),
        ("status was Done", "not supported"),
        ("project = MKT ORDER BY bogus", "Field 'bogus' does not exist"),
        ("(project = MKT", "Expecting ')'"),
    ],
)
def test_errors_read_like_jira(text: str, fragment: str) -> None:
    with pytest.raises(jql.JqlError) as exc:
        query = jql.parse(text)
        jql.matcher(query, Ctx())
    assert fragment in str(exc.value)


def test_order_only_query_is_unbounded() -> None:
    assert jql.parse("order by key desc").unbounded
    assert not jql.parse("labels = x").unbounded


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_any_quoted_value_round_trips(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    query = jql.parse(f'labels = "{escaped}"')
    assert isinstance(query.where, jql.Clause)
    assert query.where.values == (jql.Value(value, quoted=True),)


# --- evaluated once per search cursor (the emulators page a stored result) --------------------

BIG_SEED = {"generate": {"issues": 2500, "project": "MKT", "labels": ["planerka"]}}


def test_cloud_token_pages_evaluate_the_query_once() -> None:
    from planerka_sync.sandbox.jira import JiraCloudEmulator

    emulator = JiraCloudEmulator(BIG_SEED)
    params: dict[str, Any] = {"jql": "project = MKT AND priority = Medium ORDER BY key ASC",
                              "maxResults": 1000, "fields": ["summary"]}
    keys: list[str] = []
    pages = 0
    while True:  # a field besides id/key: Cloud answers at most 100 a page, whatever is asked
        page = emulator.enhanced_search(params, "3")
        pages += 1
        keys += [i["key"] for i in page["issues"]]
        if page["isLast"]:
            break
        params["nextPageToken"] = page["nextPageToken"]
    assert pages == 25 and "nextPageToken" not in page
    assert keys == [f"MKT-{n}" for n in range(1, 2501)]
    assert emulator.jql_evaluations == 1


def test_dc_start_at_pages_evaluate_the_query_once_until_a_write() -> None:
    from planerka_sync.sandbox.jira import JiraDCEmulator

    emulator = JiraDCEmulator(BIG_SEED)
    params: dict[str, Any] = {"jql": "labels = planerka ORDER BY key DESC", "maxResults": 1000,
                              "fields": ["summary"]}
    pages = [emulator.classic_search(dict(params, startAt=s), "2") for s in (0, 1000, 2000)]
    assert [len(p["issues"]) for p in pages] == [1000, 1000, 500]
    assert {p["total"] for p in pages} == {2500}
    assert pages[0]["issues"][0]["key"] == "MKT-2500"
    assert emulator.jql_evaluations == 1
    # A write changes what the query would find: the next page evaluates anew.
    emulator.db["issues"]["10000"]["updated"] += 1
    emulator.classic_search(dict(params, startAt=1000), "2")
    assert emulator.jql_evaluations == 2


def test_expired_cloud_cursor_evaluates_again() -> None:
    from planerka_sync.sandbox.jira import CURSOR_TTL, JiraCloudEmulator

    emulator = JiraCloudEmulator({"generate": {"issues": 5, "project": "MKT"}})
    params: dict[str, Any] = {"jql": "project = MKT", "maxResults": 2}
    token = emulator.enhanced_search(params, "3")["nextPageToken"]
    emulator.advance_clock(CURSOR_TTL + 1)
    page = emulator.enhanced_search(dict(params, nextPageToken=token), "3")
    assert len(page["issues"]) == 2 and emulator.jql_evaluations == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("priority = High", ["MKT-2"]),
        ("priority != High ORDER BY key", ["MKT-1", "MKT-3"]),
        ("priority IN (Highest, Low) ORDER BY key", ["MKT-1", "MKT-3"]),
        ("project = MKT ORDER BY priority DESC", ["MKT-1", "MKT-2", "MKT-3"]),
        ("project = MKT ORDER BY priority ASC", ["MKT-3", "MKT-2", "MKT-1"]),
        ("resolution = Unresolved ORDER BY key", ["MKT-1", "MKT-2"]),
        ("resolution = Done", ["MKT-3"]),
        ("resolution IS NOT EMPTY", ["MKT-3"]),
    ],
)
def test_priority_and_resolution_on_the_emulator(text: str, expected: list[str]) -> None:
    from planerka_sync.sandbox.jira import JiraCloudEmulator

    emulator = JiraCloudEmulator({"issues": [
        {"project": "MKT", "summary": "a"}, {"project": "MKT", "summary": "b"},
        {"project": "MKT", "summary": "c", "status": "Done"}]})
    emulator.db["issues"]["10000"]["priority"] = "1"  # Highest
    emulator.db["issues"]["10001"]["priority"] = "2"  # High
    emulator.db["issues"]["10002"]["priority"] = "4"  # Low
    assert [r["key"] for r in emulator.run_jql(text, set())] == expected


def test_unknown_priority_is_rejected() -> None:
    from planerka_sync.sandbox.jira import JiraCloudEmulator

    with pytest.raises(Exception, match="does not exist for the field 'priority'"):
        JiraCloudEmulator().run_jql("priority = Urgent", set())


def test_priority_sorts_by_name_without_a_rank_hook() -> None:
    issues = [{"key": "MKT-1", "priority": "Low"}, {"key": "MKT-2", "priority": "High"}]
    ordered = jql.sort_issues(issues, jql.parse("ORDER BY priority").order, Ctx())
    assert [i["key"] for i in ordered] == ["MKT-2", "MKT-1"]
