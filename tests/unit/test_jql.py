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
