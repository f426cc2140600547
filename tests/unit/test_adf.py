"""ADF v1 structural validation (planerka_sync/sandbox/adf.py)."""

from __future__ import annotations

import copy
import json
import random
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from planerka_sync.sandbox.adf import MARKS, RULES, adf_problems
from tests.contract.openapi import spec_file


def doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def para(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def heading(level: Any, title: str) -> dict[str, Any]:
    return {"type": "heading", "attrs": {"level": level}, "content": [text(title)]}


def task(local_id: str | None, *inline: dict[str, Any], state: str = "TODO") -> dict[str, Any]:
    attrs = {"state": state} if local_id is None else {"localId": local_id, "state": state}
    return {"type": "taskItem", "attrs": attrs, "content": list(inline)}


def task_list(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "taskList", "attrs": {"localId": "decisions"}, "content": list(items)}


def mention(account_id: str, name: str) -> dict[str, Any]:
    return {"type": "mention", "attrs": {"id": account_id, "text": f"@{name}"}}


def date(millis: Any) -> dict[str, Any]:
    return {"type": "date", "attrs": {"timestamp": millis}}


def cell(kind: str, value: str) -> dict[str, Any]:
    return {"type": kind, "content": [para(text(value))]}


def table(*rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "table", "content": [{"type": "tableRow", "content": row} for row in rows]}


def bullets(*items: str) -> dict[str, Any]:
    return {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": [para(text(item))]} for item in items],
    }


MEETING = doc(
    heading(1, "Planning 2025-06-02"),
    para(text("Where: "), text("room 4", {"type": "strong"}), {"type": "hardBreak"}),
    para(text("Call", {"type": "link", "attrs": {"href": "https://meet.example.com/x"}})),
    heading(2, "Decisions"),
    task_list(
        task(
            "d1",
            text("Launch the campaign "),
            mention("acc-anna", "anna"),
            text(" by "),
            date("1748822400000"),
        ),
        task("d2", text("Report"), state="DONE"),
    ),
    heading(2, "KPI"),
    table(
        [cell("tableHeader", "KPI"), cell("tableHeader", "Value")],
        [cell("tableCell", "ROI"), cell("tableCell", "1.4")],
    ),
    bullets("visits", "conversions"),
    {"type": "rule"},
    {"type": "codeBlock", "attrs": {"language": "text"}, "content": [text("x = 1")]},
    {"type": "panel", "attrs": {"panelType": "info"}, "content": [para(text("Note"))]},
    {"type": "blockquote", "content": [para(text("Quote"))]},
    {
        "type": "orderedList",
        "attrs": {"order": 1},
        "content": [
            {"type": "listItem", "content": [para(text("first"))]},
        ],
    },
    para(
        {"type": "emoji", "attrs": {"shortName": ":tada:", "text": "🎉"}},
        {"type": "status", "attrs": {"text": "ON TRACK", "color": "green"}},
        {"type": "inlineCard", "attrs": {"url": "https://jira.example.com/browse/MKT-1"}},
        text("red", {"type": "textColor", "attrs": {"color": "#ff5630"}}, {"type": "em"}),
        text("code", {"type": "code"}),
    ),
    {"type": "expand", "attrs": {"title": "Details"}, "content": [para(text("hidden"))]},
    {
        "type": "mediaSingle",
        "attrs": {"layout": "center"},
        "content": [
            {"type": "media", "attrs": {"type": "file", "id": "abc", "collection": "jira"}},
        ],
    },
)


# --- plain unit tests ---------------------------------------------------------------------------


def test_meeting_document_is_valid() -> None:
    assert adf_problems(MEETING) == []


def test_empty_document_is_valid() -> None:
    assert adf_problems(doc()) == []


def test_nested_task_lists_are_valid() -> None:
    assert adf_problems(doc(task_list(task("a", text("x")), task_list(task("b"))))) == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (None, "doc: expected an object, got null"),
        ([], "doc: expected an object, got array"),
        ({"type": "paragraph"}, "doc: top-level type must be 'doc', got 'paragraph'"),
        ({"type": "doc", "content": []}, "doc: version must be 1, got None"),
        ({"type": "doc", "version": 2, "content": []}, "doc: version must be 1, got 2"),
        ({"type": "doc", "version": 1}, "doc: doc needs content"),
        ({"type": "doc", "version": 1, "content": {}}, "doc: content must be a list, got object"),
        (doc(text("loose")), "content[0]: text is not allowed inside doc"),
        (doc({"type": "decisionList"}), "content[0]: unknown or unsupported node type"),
        (doc(para(text(""))), "content[0].content[0]: text needs a non-empty string 'text'"),
        (doc(para({"type": "text"})), "content[0].content[0]: text needs a non-empty string"),
        (doc(para({**text("x"), "content": [para()]})), "text cannot have content"),
        (doc(heading(7, "H7")), "content[0]: heading attrs.level must be an integer from 1 to 6"),
        (doc(heading("2", "H")), "attrs.level must be an integer"),
        (doc({"type": "heading"}), "content[0]: heading needs attrs.level"),
        (doc(task_list(task(None))), "content[0].content[0]: taskItem needs attrs.localId"),
        (doc(task_list(task("t", state="done"))), "taskItem attrs.state must be one of"),
        (doc({"type": "taskList", "content": [task("t")]}), "taskList needs attrs.localId"),
        (doc(task_list()), "content[0]: taskList needs at least 1 child node(s)"),
        (doc(task_list(para())), "content[0].content[0]: paragraph is not allowed inside taskList"),
        (doc(para(mention("", "x") | {"attrs": {}})), "mention needs attrs.id"),
        (doc(para(date(1748822400000))), "date attrs.timestamp must be a string of epoch"),
        (doc(para(date("2025-06-02"))), "date attrs.timestamp must be a string of epoch"),
        (doc(para(text("x", {"type": "link"}))), "content[0].content[0].marks[0]: link needs"),
        (doc(para(text("x", {"type": "bold"}))), "unknown or unsupported mark 'bold'"),
        (doc(para(text("x", {"type": "em", "attrs": {}}))), "marks[0]: em does not take 'attrs'"),
        (doc(para(text("x", {"type": "code"}, {"type": "em"}))), "code mark combines only"),
        (doc(para(), {"type": "paragraph", "style": 1}), "content[1]: paragraph does not take"),
        (doc({"type": "rule", "content": []}), "content[0]: rule cannot have content"),
        (doc(table()), "content[0]: table needs at least 1 child node(s)"),
        (doc(table([{"type": "tableCell", "content": []}])), "tableCell needs at least 1"),
        (doc(table([para()])), "paragraph is not allowed inside tableRow"),
        (doc({"type": "bulletList", "content": [para()]}), "not allowed inside bulletList"),
        (doc({"type": "panel", "attrs": {"panelType": "x"}, "content": [para()]}), "panelType"),
        (doc({"type": "expand", "content": [{"type": "expand", "content": [para()]}]}), "expand"),
        (doc({"type": "codeBlock", "content": [text("x", {"type": "em"})]}), "cannot have marks"),
        (doc({"type": "mediaSingle", "content": []}), "mediaSingle needs at least 1"),
        (doc(para({"type": "status", "attrs": {"text": "x", "color": "pink"}})), "attrs.color"),
        (doc(para({"type": "hardBreak", "attrs": {"foo": 1}})), "does not take attrs.foo"),
    ],
)
def test_invalid_documents_are_reported(document: Any, expected: str) -> None:
    problems = adf_problems(document)
    assert any(expected in problem for problem in problems), problems


def test_problems_are_path_qualified_and_all_reported() -> None:
    document = doc(para(text("ok")), task_list(task("a"), task(None)), heading(0, "x"))
    assert adf_problems(document) == [
        "content[1].content[1]: taskItem needs attrs.localId",
        "content[2]: heading attrs.level must be an integer from 1 to 6",
    ]


def test_hostile_nesting_is_reported_not_a_crash() -> None:
    node: dict[str, Any] = bullets("deep")
    for _ in range(2000):  # listItem -> bulletList -> listItem ... is legal at every step
        node = {"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]}
    problems = adf_problems(doc(node))
    assert len(problems) == 1
    assert "nesting deeper than" in problems[0]


# --- cross-check against the official JSON schema ----------------------------------------------


@cache
def _schema_validator() -> Draft4Validator:
    schema = json.loads(spec_file("adf-full.schema.json").read_text(encoding="utf-8"))
    return Draft4Validator(schema)


def _without_version(document: dict[str, Any]) -> dict[str, Any]:
    trimmed = copy.deepcopy(document)
    del trimmed["version"]
    return trimmed


CROSS_CHECK: dict[str, tuple[Any, bool]] = {
    "meeting (headings, task list, mentions, dates, table, marks ...)": (MEETING, True),
    "headings": (doc(heading(1, "A"), heading(6, "F")), True),
    "task list with mention and date": (
        doc(task_list(task("d1", text("Do "), mention("acc-1", "ivan"), date("1748822400000")))),
        True,
    ),
    "table": (doc(table([cell("tableHeader", "h")], [cell("tableCell", "c")])), True),
    "missing version": (_without_version(doc(para(text("x")))), False),
    "text with empty text": (doc(para(text(""))), False),
    "taskItem without localId": (doc(task_list(task(None, text("x")))), False),
    "paragraph inside text": (doc(para({**text("x"), "content": [para()]})), False),
    "heading level 7": (doc(heading(7, "H")), False),
    "taskList without attrs": (doc({"type": "taskList", "content": [task("a")]}), False),
    "empty bullet list": (doc({"type": "bulletList", "content": []}), False),
    "unknown mark": (doc(para(text("x", {"type": "bold"}))), False),
    "text directly in doc": (doc(text("x")), False),
}


@pytest.mark.parametrize("name", list(CROSS_CHECK))
def test_same_verdict_as_official_schema(name: str) -> None:
    document, expected_valid = CROSS_CHECK[name]
    schema_errors = list(_schema_validator().iter_errors(document))
    ours = adf_problems(document)
    assert (not schema_errors) is expected_valid, [e.message[:200] for e in schema_errors]
    assert (not ours) is expected_valid, ours


SMALL_VALID = [
    document for document, valid in CROSS_CHECK.values() if valid and document is not MEETING
] + [
    doc(para(text("a", {"type": "link", "attrs": {"href": "x"}}), {"type": "hardBreak"})),
    doc({"type": "panel", "attrs": {"panelType": "note"}, "content": [bullets("b")]}),
    doc({"type": "codeBlock", "content": [text("c")]}, {"type": "rule"}),
    doc(
        {
            "type": "mediaSingle",
            "attrs": {"layout": "center"},
            "content": [
                {"type": "media", "attrs": {"type": "external", "url": "https://x/y.png"}},
            ],
        }
    ),
]
POOL = [1, 7, 2.5, "1", "x", "", "TODO", "123", True, None, "#ff0000", "info", "file", [], {}]
KEYS = [
    "level",
    "localId",
    "state",
    "id",
    "timestamp",
    "url",
    "href",
    "type",
    "color",
    "layout",
    "content",
    "attrs",
    "marks",
    "text",
    "version",
    "bogus",
]
NAMES = [*sorted(RULES), *sorted(MARKS)]
# Where adf_problems is deliberately stricter than the schema (see the module docstring).
STRICTER = ("epoch milliseconds", "must be an integer from 1 to 6")


def _nodes(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(n for v in value.values() for n in _nodes(v))]
    if isinstance(value, list):
        return [n for v in value for n in _nodes(v)]
    return []


def _mutate(document: dict[str, Any], rng: random.Random) -> None:
    """One random edit of a random node (or mark): drop/set a key, retype, add/remove a child."""
    node = rng.choice(_nodes(document))
    edit = rng.randrange(5)
    if edit == 0 and node:
        node.pop(rng.choice(list(node)))
    elif edit == 1:
        node[rng.choice(KEYS)] = rng.choice(POOL)
    elif edit == 2:
        node["type"] = rng.choice(NAMES)
    elif isinstance(node.get("content"), list):
        if edit == 3:
            donor = copy.deepcopy(rng.choice(_nodes(rng.choice(SMALL_VALID))))
            node["content"].insert(rng.randrange(len(node["content"]) + 1), donor)
        elif node["content"]:
            node["content"].pop()


def test_random_edits_get_the_same_verdict_as_official_schema() -> None:
    rng = random.Random(20250602)
    validator = _schema_validator()
    for _ in range(60):  # the official schema takes ~50 ms per document: keep the test quick
        document = copy.deepcopy(rng.choice(SMALL_VALID))
        for _ in range(rng.randint(1, 2)):
            _mutate(document, rng)
        ours = adf_problems(document)
        theirs = validator.is_valid(document)
        if theirs and ours and all(any(s in p for s in STRICTER) for p in ours):
            continue
        assert (not ours) is theirs, (json.dumps(document), ours)


# --- robustness ---------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "version", "content", "attrs", "text", "marks", "x"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
NODE_TYPES = st.sampled_from(
    [
        "doc",
        "paragraph",
        "text",
        "taskList",
        "taskItem",
        "heading",
        "table",
        "tableRow",
        "tableCell",
        "mention",
        "date",
        "media",
        "mediaSingle",
        "link",
        "strong",
        "bogus",
    ]
)
NODEISH = st.recursive(
    st.builds(lambda t, a: {"type": t, "attrs": a}, NODE_TYPES, JSON),
    lambda children: st.builds(
        lambda t, c, a, m: {"type": t, "content": c, "attrs": a, "marks": m, "text": "x"},
        NODE_TYPES,
        st.lists(children, max_size=3),
        JSON,
        st.lists(children, max_size=2),
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(JSON, NODEISH, st.builds(lambda c: doc(*c), st.lists(NODEISH, max_size=3))))
def test_any_json_gives_a_list_of_strings(value: Any) -> None:
    problems = adf_problems(value)
    assert isinstance(problems, list)
    assert all(isinstance(problem, str) for problem in problems)
