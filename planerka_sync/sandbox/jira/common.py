"""What every area of the Jira emulators shares: route prefixes, Jira's error body, the fixed
schemes (status categories, priorities, link types), the rich-text limits and conversions.

Jira answers every client error with ``{"errorMessages": [...], "errors": {field: message}}``;
:func:`bad_request` and :func:`not_found` build it, and :class:`FieldError` is one entry of
``errors`` (validation collects them all before answering, as Jira does).

Rich text: Cloud stores the Atlassian Document Format (ADF) and serves REST v2 as wiki markup,
Data Center stores wiki markup. Either way a description or comment may hold at most
``MAX_TEXT`` (32,767) characters, Jira's limit for a text field (for ADF: its compact JSON).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from planerka_sync.sandbox.core import HttpError, Request

JSON = Any
Rec = dict[str, Any]

API = r"/rest/api/(?P<v>[^/]+)"
API_PREFIX = re.compile(r"^/rest/api/([^/]+)(/|$)")
ID = r"(?P<key>[^/]+)"

ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
NOT_STRING = "Operation value must be a string"
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
MAX_TEXT = 32767

CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]
DEFAULT_PRIORITY = "3"
LINK_TYPES = [
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
]
# Every field an issue carries, in the order Jira lists them.
ALL_FIELDS = (
    "summary",
    "description",
    "status",
    "issuetype",
    "project",
    "assignee",
    "reporter",
    "creator",
    "created",
    "updated",
    "duedate",
    "resolutiondate",
    "resolution",
    "labels",
    "priority",
    "comment",
    "issuelinks",
    "attachment",
    "subtasks",
    "parent",
    "statuscategorychangedate",
)


def bad_request(
    errors: dict[str, str] | None = None, messages: list[str] | None = None
) -> HttpError:
    return HttpError(400, {"errorMessages": messages or [], "errors": errors or {}})


def not_found(message: str) -> HttpError:
    return HttpError(404, {"errorMessages": [message], "errors": {}})


class FieldError(Exception):
    """A field-level validation error, collected into ``errors`` of a 400."""


def parse_when(value: Any) -> float:
    """Seed timestamps: epoch seconds or an ISO 8601 string (naive = UTC)."""
    if isinstance(value, int | float):
        return float(value)
    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def int_arg(req: Request, name: str, default: int) -> int:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(messages=[f"The '{name}' parameter must be an integer."]) from exc


def split_list(values: list[str] | None) -> list[str]:
    """Query lists come repeated (``fields=a&fields=b``) or comma-joined (``fields=a,b``)."""
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


# --- rich text conversions (Cloud keeps ADF, serves v2 as wiki; DC keeps wiki) ---------------


def text_to_adf(text: str) -> JSON:
    """A v2 string on Cloud becomes paragraphs (blank-line separated) with hard breaks."""
    content = []
    for block in re.split(r"\n\s*\n", text.strip()):
        if not block:
            continue
        nodes: list[JSON] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_wiki(node: JSON) -> str:
    """Roughly what Cloud's v2 API answers for an ADF field: wiki markup."""
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    inner = "".join(adf_to_wiki(c) for c in node.get("content") or [])
    attrs = node.get("attrs") or {}
    if kind == "doc":
        return "\n\n".join(adf_to_wiki(c) for c in node.get("content") or []).strip()
    if kind == "text":
        return _wiki_marks(str(node.get("text", "")), node.get("marks") or [])
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return f"[~accountid:{attrs.get('id', '')}]"
    if kind == "date":
        stamp = int(str(attrs.get("timestamp", "0")) or 0) / 1000
        return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
    if kind == "heading":
        return f"h{attrs.get('level', 1)}. {inner}"
    if kind in ("bulletList", "orderedList", "taskList"):
        bullet = {"bulletList": "*", "orderedList": "#", "taskList": "*"}[kind]
        return "\n".join(f"{bullet} {adf_to_wiki(c)}" for c in node.get("content") or [])
    if kind == "taskItem":
        box = "(/)" if attrs.get("state") == "DONE" else "(x)"
        return f"{box} {inner}"
    if kind == "codeBlock":
        return "{code}" + inner + "{code}"
    if kind == "rule":
        return "----"
    if kind == "table":
        return "\n".join(adf_to_wiki(c) for c in node.get("content") or [])
    if kind == "tableRow":
        cells = [adf_to_wiki(c) for c in node.get("content") or []]
        return "|" + "|".join(cells) + "|"
    return inner


def _wiki_marks(text: str, marks: list[JSON]) -> str:
    for mark in marks:
        kind = mark.get("type") if isinstance(mark, dict) else None
        if kind == "strong":
            text = f"*{text}*"
        elif kind == "em":
            text = f"_{text}_"
        elif kind == "strike":
            text = f"-{text}-"
        elif kind == "code":
            text = "{{" + text + "}}"
        elif kind == "link":
            text = f"[{text}|{(mark.get('attrs') or {}).get('href', '')}]"
    return text


def adf_text(node: JSON) -> str:
    """Plain text of an ADF document (for JQL text search and rendered fields)."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "mention":
        return str((node.get("attrs") or {}).get("text", ""))
    parts = [adf_text(c) for c in node.get("content") or []]
    block = node.get("type") in ("doc", "bulletList", "orderedList", "taskList", "table")
    return ("\n" if block else "").join(parts)
