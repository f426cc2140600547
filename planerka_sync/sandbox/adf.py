"""Structural validation of Atlassian Document Format (ADF) v1 documents.

Jira Cloud answers 400 to a description or comment whose ADF breaks the schema; the sandbox does
the same with :func:`adf_problems`. The rules below are written out from the ADF "full" schema
(``@atlaskit/adf-schema``, ``json-schema/v1/full.json``) rather than loaded from it, so the sandbox
works without the specs folder. They cover the nodes a planning tool writes and reads - paragraphs,
headings, lists, task lists with mentions and dates, tables, panels, code, quotes, rules, media,
expands - and reject the rest (decision lists, extensions, layouts ...) as unsupported. Within that
subset the verdict matches the schema (``tests/unit/test_adf.py`` cross-checks it, including on
randomly edited documents), except where we are deliberately stricter: ``date`` timestamps must
be epoch milliseconds (what Jira itself writes), heading levels whole numbers, and block-level
marks (alignment, indentation, breakout) are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# --- attribute checks: value -> error text, or None when fine --------------------------------

AttrCheck = Callable[[Any], str | None]


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _non_empty_string(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _number(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return None if ok else "must be a number"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _one_of(*allowed: str) -> AttrCheck:
    def check(value: Any) -> str | None:
        return None if isinstance(value, str) and value in allowed else f"must be one of {allowed}"

    return check


def _matching(pattern: str, what: str) -> AttrCheck:
    regex = re.compile(pattern)

    def check(value: Any) -> str | None:
        return None if isinstance(value, str) and regex.fullmatch(value) else f"must be {what}"

    return check


def _heading_level(value: Any) -> str | None:
    # The schema says number 1..6; a float like 2.0 passes it too, 2.5 does not render anywhere.
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= 6
    return None if ok and value == int(value) else "must be an integer from 1 to 6"


_epoch_millis = _matching(r"-?\d+", "a string of epoch milliseconds")
_hex_colour = _matching(r"#[0-9a-fA-F]{6}", "a colour like #ff5630")
_status_colour = _matching(
    r"neutral|purple|blue|red|yellow|green|#[0-9a-fA-F]{6}", "a status colour"
)
_CELL_ATTRS: dict[str, AttrCheck] = {
    "colspan": _number,
    "rowspan": _number,
    "colwidth": lambda v: (
        None
        if isinstance(v, list) and all(_number(n) is None for n in v)
        else "must be a list of numbers"
    ),
    "background": _string,
    "valign": _one_of("top", "middle", "bottom"),
}


# --- the node table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """What one node type may contain and carry."""

    children: tuple[str, ...] | None = None  # allowed child types; None: no "content" at all
    min_children: int = 0
    content_required: bool = False
    required: dict[str, AttrCheck] = field(default_factory=dict)  # attrs that must be present
    optional: dict[str, AttrCheck] = field(default_factory=dict)  # attrs that may be present


INLINE = ("text", "mention", "date", "emoji", "hardBreak", "inlineCard", "status")
LIST_ITEM_BLOCKS = (
    "paragraph",
    "bulletList",
    "orderedList",
    "taskList",
    "codeBlock",
    "mediaSingle",
)
QUOTE_BLOCKS = ("paragraph", "bulletList", "orderedList", "codeBlock", "mediaSingle")
PANEL_BLOCKS = (*QUOTE_BLOCKS, "heading", "taskList", "rule")
CELL_BLOCKS = (*PANEL_BLOCKS, "panel", "blockquote")
EXPAND_BLOCKS = (*CELL_BLOCKS, "table")  # an expand may hold a table but not another expand
TOP_BLOCKS = (*EXPAND_BLOCKS, "expand")

RULES: dict[str, Rule] = {
    "doc": Rule(TOP_BLOCKS, content_required=True),
    "paragraph": Rule(INLINE),
    "heading": Rule(INLINE, required={"level": _heading_level}),
    "bulletList": Rule(("listItem",), 1, True),
    "orderedList": Rule(("listItem",), 1, True, optional={"order": _number}),
    "listItem": Rule(LIST_ITEM_BLOCKS, 1, True),
    "taskList": Rule(("taskItem", "taskList"), 1, True, required={"localId": _string}),
    "taskItem": Rule(INLINE, required={"localId": _string, "state": _one_of("TODO", "DONE")}),
    "blockquote": Rule(QUOTE_BLOCKS, 1, True),
    "codeBlock": Rule(("text",), optional={"language": _string}),
    "rule": Rule(),
    "panel": Rule(
        PANEL_BLOCKS,
        1,
        True,
        required={
            "panelType": _one_of("info", "note", "tip", "warning", "error", "success", "custom")
        },
        optional={
            "panelIcon": _string,
            "panelIconId": _string,
            "panelIconText": _string,
            "panelColor": _string,
        },
    ),
    "table": Rule(
        ("tableRow",),
        1,
        True,
        optional={
            "isNumberColumnEnabled": _boolean,
            "layout": _one_of(
                "wide", "full-width", "center", "align-end", "align-start", "default"
            ),
            "width": _number,
            "displayMode": _one_of("default", "fixed"),
        },
    ),
    "tableRow": Rule(("tableCell", "tableHeader"), content_required=True),
    "tableHeader": Rule(CELL_BLOCKS, 1, True, optional=_CELL_ATTRS),
    "tableCell": Rule(CELL_BLOCKS, 1, True, optional=_CELL_ATTRS),
    "mediaSingle": Rule(
        ("media",),
        1,
        True,
        optional={
            "layout": _one_of(
                "wide",
                "full-width",
                "center",
                "wrap-right",
                "wrap-left",
                "align-end",
                "align-start",
            ),
            "width": _number,
            "widthType": _one_of("percentage", "pixel"),
        },
    ),
    "media": Rule(
        required={"type": _one_of("file", "link", "external")},
        optional={
            "id": _non_empty_string,
            "collection": _string,
            "url": _string,
            "alt": _string,
            "width": _number,
            "height": _number,
        },
    ),
    "expand": Rule(EXPAND_BLOCKS, 1, True, optional={"title": _string}),
    # inline nodes
    "text": Rule(),
    "mention": Rule(
        required={"id": _string},
        optional={
            "text": _string,
            "accessLevel": _string,
            "userType": _one_of("DEFAULT", "SPECIAL", "APP"),
        },
    ),
    "date": Rule(required={"timestamp": _epoch_millis}),
    "emoji": Rule(required={"shortName": _string}, optional={"id": _string, "text": _string}),
    "hardBreak": Rule(optional={"text": _one_of("\n")}),
    "inlineCard": Rule(required={"url": _string}),
    "status": Rule(
        required={"text": _non_empty_string, "color": _status_colour},
        optional={"style": _string},
    ),
}

# Marks allowed on text: name -> (required attrs, optional attrs).
MARKS: dict[str, tuple[dict[str, AttrCheck], dict[str, AttrCheck]]] = {
    "strong": ({}, {}),
    "em": ({}, {}),
    "code": ({}, {}),
    "strike": ({}, {}),
    "underline": ({}, {}),
    "link": ({"href": _string}, {"title": _string, "id": _string, "collection": _string}),
    "textColor": ({"color": _hex_colour}, {}),
}
# A code mark combines only with a link (the schema's code_inline_node).
CODE_COMPANIONS = ("code", "link")
# Every node with attrs may carry a localId (collaborative editing writes one everywhere).
COMMON_ATTRS: dict[str, AttrCheck] = {"localId": _string}
# Nodes without an "attrs" key at all in the schema.
NO_ATTRS = ("doc", "text")
# Block nodes whose schema has a "marks" key we do not support beyond an empty list (alignment,
# indentation, breakout ...); text marks are checked separately.
EMPTY_MARKS_ONLY = ("paragraph", "heading", "codeBlock", "expand", "table", "mediaSingle", "media")
# The schema lets mediaSingle carry any other keys (additionalProperties: true).
OPEN_NODES = ("mediaSingle",)
MAX_DEPTH = 64  # deeper than any real document; stops a hostile payload from exhausting the stack


# --- the walker -------------------------------------------------------------------------------


def adf_problems(doc: Any) -> list[str]:
    """Why ``doc`` is not a valid ADF v1 document, as ``path: problem`` lines; ``[]`` if valid."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        return [f"doc: expected an object, got {_kind(doc)}"]
    if doc.get("type") != "doc":
        return [f"doc: top-level type must be 'doc', got {doc.get('type')!r}"]
    if doc.get("version") != 1 or isinstance(doc.get("version"), bool):
        problems.append(f"doc: version must be 1, got {doc.get('version')!r}")
    _check_node(doc, "", None, problems, depth=0)
    return problems


def _check_node(node: Any, path: str, parent: str | None, problems: list[str], depth: int) -> None:
    """Check one node and, recursively, its content; ``parent`` is None for the root."""
    where = path or "doc"
    if not isinstance(node, dict):
        problems.append(f"{where}: expected a node object, got {_kind(node)}")
        return
    kind = node.get("type")
    if not isinstance(kind, str) or kind not in RULES:
        problems.append(f"{where}: unknown or unsupported node type {kind!r}")
        return
    allowed = RULES[parent].children or () if parent else ("doc",)
    if kind not in allowed:
        problems.append(f"{where}: {kind} is not allowed inside {parent or 'the top level'}")
        return
    if depth > MAX_DEPTH:
        problems.append(f"{where}: nesting deeper than {MAX_DEPTH} levels")
        return
    rule = RULES[kind]
    _check_keys(node, kind, where, problems)
    if kind not in NO_ATTRS:
        optional = {**COMMON_ATTRS, **rule.optional}
        messages = _attr_messages(node.get("attrs"), "attrs" in node, rule.required, optional)
        problems.extend(f"{where}: {kind} {message}" for message in messages)
    if kind == "text":
        _check_text(node, where, plain=parent == "codeBlock", problems=problems)
    if kind in ("media", "mediaSingle") and isinstance(node.get("attrs"), dict):
        problems.extend(f"{where}: {kind} {message}" for message in _media_messages(node))
    _check_content(node, kind, rule, path, problems, depth)


def _check_keys(node: dict[str, Any], kind: str, where: str, problems: list[str]) -> None:
    """Only the keys the schema lists for the node type (``content`` is _check_content's job)."""
    allowed = {"type", "content"}
    if kind not in NO_ATTRS:
        allowed.add("attrs")
    allowed |= {"doc": {"version"}, "text": {"text", "marks"}}.get(kind, set())
    for key in node:
        if key == "marks" and kind in EMPTY_MARKS_ONLY:
            if node[key] != []:
                problems.append(f"{where}: marks on {kind} are not supported")
        elif key not in allowed and kind not in OPEN_NODES:
            problems.append(f"{where}: {kind} does not take {key!r}")


def _media_messages(node: dict[str, Any]) -> list[str]:
    """The attrs combinations the schema spells out as alternatives (anyOf)."""
    attrs = node["attrs"]
    if node["type"] == "mediaSingle":
        needed = ("layout", "width") if attrs.get("widthType") == "pixel" else ("layout",)
    elif attrs.get("type") == "external":
        needed = ("url",)
    else:
        needed = ("id", "collection")
    return [f"needs attrs.{name}" for name in needed if name not in attrs]


def _attr_messages(
    attrs: Any, present: bool, required: dict[str, AttrCheck], optional: dict[str, AttrCheck]
) -> list[str]:
    """Problems with one ``attrs`` object against required/optional checks."""
    if not present:
        return [f"needs attrs.{name}" for name in required]
    if not isinstance(attrs, dict):
        return [f"attrs must be an object, got {_kind(attrs)}"]
    messages = [f"needs attrs.{name}" for name in required if name not in attrs]
    checks = {**optional, **required}
    for name, value in attrs.items():
        check = checks.get(name)
        if check is None:
            messages.append(f"does not take attrs.{name}")
        elif (error := check(value)) is not None:
            messages.append(f"attrs.{name} {error}")
    return messages


def _check_text(node: dict[str, Any], where: str, plain: bool, problems: list[str]) -> None:
    """A text node: non-empty ``text``; marks from :data:`MARKS` (none inside a code block)."""
    text = node.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: text needs a non-empty string 'text'")
    if "marks" not in node:
        return
    marks = node["marks"]
    if not isinstance(marks, list):
        problems.append(f"{where}: marks must be a list, got {_kind(marks)}")
        return
    if plain and marks:
        problems.append(f"{where}: text inside a codeBlock cannot have marks")
        return
    names = [mark.get("type") for mark in marks if isinstance(mark, dict)]
    if "code" in names and any(name not in CODE_COMPANIONS for name in names):
        problems.append(f"{where}: a code mark combines only with link")
    for index, mark in enumerate(marks):
        problems.extend(f"{where}.marks[{index}]: {message}" for message in _mark_messages(mark))


def _mark_messages(mark: Any) -> list[str]:
    if not isinstance(mark, dict):
        return [f"expected a mark object, got {_kind(mark)}"]
    name = mark.get("type")
    if not isinstance(name, str) or name not in MARKS:
        return [f"unknown or unsupported mark {name!r}"]
    required, optional = MARKS[name]
    keys = ("type", "attrs") if required or optional else ("type",)  # strong, em ...: no attrs
    messages = [f"{name} does not take {key!r}" for key in mark if key not in keys]
    if required or optional:
        attr_problems = _attr_messages(mark.get("attrs"), "attrs" in mark, required, optional)
        messages += [f"{name} {message}" for message in attr_problems]
    return messages


def _check_content(
    node: dict[str, Any], kind: str, rule: Rule, path: str, problems: list[str], depth: int
) -> None:
    where = path or "doc"
    if rule.children is None:
        if "content" in node:
            problems.append(f"{where}: {kind} cannot have content")
        return
    if "content" not in node:
        if rule.content_required:
            problems.append(f"{where}: {kind} needs content")
        return
    content = node["content"]
    if not isinstance(content, list):
        problems.append(f"{where}: content must be a list, got {_kind(content)}")
        return
    if len(content) < rule.min_children:
        problems.append(f"{where}: {kind} needs at least {rule.min_children} child node(s)")
    if kind == "mediaSingle" and len(content) > 1:
        problems.append(f"{where}: mediaSingle holds exactly one media node")
    prefix = f"{path}." if path else ""
    for index, child in enumerate(content):
        _check_node(child, f"{prefix}content[{index}]", kind, problems, depth + 1)


def _kind(value: Any) -> str:
    """A JSON type name for messages."""
    if value is None:
        return "null"
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    return names.get(type(value), "object" if isinstance(value, dict) else type(value).__name__)
