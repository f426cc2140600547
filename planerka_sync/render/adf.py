"""Document -> Atlassian Document Format v1, the rich text of Jira Cloud REST v3.

Jira answers 400 to ADF that breaks the schema, so the rules here are the schema's: no empty
text nodes, no empty lists or tables, every table cell holds at least one paragraph, heading
levels 1..6. Line ends inside user text become ``hardBreak`` nodes.
"""

from __future__ import annotations

import calendar
import uuid
from typing import Any

from planerka_sync.domain.document import (
    Block,
    BulletList,
    DateRef,
    Document,
    Heading,
    Inline,
    Link,
    Mention,
    Paragraph,
    Section,
    Table,
    TaskItem,
    TaskList,
    Text,
)
from planerka_sync.render._common import (
    heading_level,
    is_safe_url,
    link_as_text,
    padded_header,
    padded_rows,
    split_lines,
    table_width,
)

Node = dict[str, Any]

# Fixed namespace: the same key gives the same localId on every machine and every run, so a
# re-render edits task items in place and a read-back maps a taskItem to its key.
_LOCAL_ID_NAMESPACE = uuid.UUID("6f1d7c52-2b0e-4d38-9a51-0c3a8e4b9d21")


def task_local_id(key: str) -> str:
    """The ADF ``localId`` of the task item with ``key``: a UUID, the form Jira's editor writes."""
    return str(uuid.uuid5(_LOCAL_ID_NAMESPACE, f"task:{key}"))


def task_list_local_id(key: str) -> str:
    """The ``localId`` of a task list; section checklists use the section key."""
    return str(uuid.uuid5(_LOCAL_ID_NAMESPACE, f"list:{key}"))


def to_adf(doc: Document) -> Node:
    content: list[Node] = []
    for block in doc.intro:
        content.extend(_block(block))
    for section in doc.sections:
        content.extend(_section(section))
    return {"type": "doc", "version": 1, "content": content}


def _section(section: Section) -> list[Node]:
    nodes = [_heading(2, (Text(section.title),))]
    for block in section.blocks:
        nodes.extend(_block(block))
    if section.checklist is not None:
        nodes.extend(_task_list(section.checklist, task_list_local_id(f"section:{section.key}")))
    return nodes


def _block(block: Block) -> list[Node]:
    """Zero or one node: lists and tables without items have no valid ADF form."""
    if isinstance(block, Heading):
        return [_heading(block.level, block.content)]
    if isinstance(block, Paragraph):
        return [_paragraph(block.content)]
    if isinstance(block, BulletList):
        return _bullet_list(block)
    if isinstance(block, TaskList):
        first_key = block.items[0].key if block.items else ""
        return _task_list(block, task_list_local_id(f"tasks:{first_key}"))
    return _table(block)


def _heading(level: int, content: tuple[Inline, ...]) -> Node:
    attrs = {"level": heading_level(level)}
    return {"type": "heading", "attrs": attrs, "content": _inline(content)}


def _paragraph(content: tuple[Inline, ...]) -> Node:
    return {"type": "paragraph", "content": _inline(content)}


def _bullet_list(block: BulletList) -> list[Node]:
    if not block.items:
        return []
    items = [{"type": "listItem", "content": [_paragraph(item)]} for item in block.items]
    return [{"type": "bulletList", "content": items}]


def _task_list(block: TaskList, local_id: str) -> list[Node]:
    if not block.items:
        return []
    items = [_task_item(item) for item in block.items]
    return [{"type": "taskList", "attrs": {"localId": local_id}, "content": items}]


def _task_item(item: TaskItem) -> Node:
    # An empty taskItem is valid ADF (an unfilled checkbox), unlike an empty text node.
    attrs = {"localId": task_local_id(item.key), "state": "DONE" if item.done else "TODO"}
    return {"type": "taskItem", "attrs": attrs, "content": _inline(item.content)}


def _table(table: Table) -> list[Node]:
    if table_width(table) == 0:
        return []
    rows: list[Node] = []
    if table.header:
        cells = [_cell("tableHeader", (Text(title),)) for title in padded_header(table)]
        rows.append({"type": "tableRow", "content": cells})
    for row in padded_rows(table):
        rows.append({"type": "tableRow", "content": [_cell("tableCell", cell) for cell in row]})
    return [{"type": "table", "content": rows}]


def _cell(kind: str, content: tuple[Inline, ...]) -> Node:
    # A cell needs at least one block; an empty paragraph is how Jira itself writes a blank cell.
    return {"type": kind, "content": [_paragraph(content)]}


# --- inline ------------------------------------------------------------------------------------


def _inline(content: tuple[Inline, ...]) -> list[Node]:
    nodes: list[Node] = []
    for node in content:
        nodes.extend(_inline_node(node))
    return nodes


def _inline_node(node: Inline) -> list[Node]:
    if isinstance(node, Text):
        return _text(node.text, _marks(node))
    if isinstance(node, Link):
        return _link(node)
    if isinstance(node, Mention):
        return _mention(node)
    return [_date(node)]


def _marks(node: Text) -> list[Node]:
    marks: list[Node] = []
    if node.strong:
        marks.append({"type": "strong"})
    if node.em:
        marks.append({"type": "em"})
    return marks


def _text(text: str, marks: list[Node]) -> list[Node]:
    """Text nodes with ``hardBreak`` between lines; never a text node with ``""`` (a 400)."""
    nodes: list[Node] = []
    for index, line in enumerate(split_lines(text)):
        if index:
            nodes.append({"type": "hardBreak"})
        if line:
            nodes.append({"type": "text", "text": line, **({"marks": marks} if marks else {})})
    return nodes


def _link(link: Link) -> list[Node]:
    if not link.url or not is_safe_url(link.url):
        return _text(link_as_text(link.text, link.url), [])
    mark = {"type": "link", "attrs": {"href": link.url.strip()}}
    return _text(link.text or link.url, [mark])


def _mention(mention: Mention) -> list[Node]:
    if not mention.account:
        return _text(mention.name, [])
    attrs = {"id": mention.account, "text": f"@{mention.name}"}
    return [{"type": "mention", "attrs": attrs}]


def _date(ref: DateRef) -> Node:
    # Jira stores a date node as epoch milliseconds at UTC midnight, as a string.
    seconds = calendar.timegm(ref.day.timetuple())
    return {"type": "date", "attrs": {"timestamp": str(seconds * 1000)}}
