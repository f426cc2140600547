"""Document -> plain text: the terminal (``--dry-run``), logs and e-mails.

No markup to escape, but the layout still must not depend on user text: continuation lines of
list items are indented under their item, and table cells are one line each.
"""

from __future__ import annotations

import unicodedata

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
    TaskList,
    Text,
)
from planerka_sync.render._common import (
    heading_level,
    link_as_text,
    one_line,
    padded_header,
    padded_rows,
    split_lines,
    table_width,
)


def to_plain(doc: Document) -> str:
    chunks = [_block(block) for block in doc.intro]
    chunks += [_section(section) for section in doc.sections]
    return "\n\n".join(chunk for chunk in chunks if chunk)


def _section(section: Section) -> str:
    parts = [_heading(2, (Text(section.title),))]
    parts += [_block(block) for block in section.blocks]
    if section.checklist is not None:
        parts.append(_block(section.checklist))
    return "\n\n".join(part for part in parts if part)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return _heading(block.level, block.content)
    if isinstance(block, Paragraph):
        return _inline(block.content).strip()
    if isinstance(block, BulletList):
        return "\n".join(_item("- ", _inline(item)) for item in block.items if plain_text(item))
    if isinstance(block, TaskList):
        return "\n".join(
            _item("[x] " if item.done else "[ ] ", _inline(item.content)) for item in block.items
        )
    return _table(block)


def _heading(level: int, content: tuple[Inline, ...]) -> str:
    # Underlined like setext headings: "=" for the top level, "-" below it.
    title = one_line(_inline(content)).strip()
    if not title:
        return ""
    rule = "=" if heading_level(level) == 1 else "-"
    return f"{title}\n{rule * max(3, _width(title))}"


def _item(marker: str, text: str) -> str:
    lines = [line.strip() for line in split_lines(text.strip())]
    return (marker + ("\n" + " " * len(marker)).join(lines)).rstrip()


def _table(table: Table) -> str:
    if table_width(table) == 0:
        return ""
    rows = [[one_line(_inline(cell)).strip() for cell in row] for row in padded_rows(table)]
    header = [one_line(title).strip() for title in padded_header(table)]
    widths = [max(_width(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    if table.header:
        lines += [_row(header, widths), "-+-".join("-" * width for width in widths)]
    lines += [_row(row, widths) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _row(cells: list[str], widths: list[int]) -> str:
    pairs = zip(cells, widths, strict=True)
    return " | ".join(cell + " " * (width - _width(cell)) for cell, width in pairs)


def _width(text: str) -> int:
    """Terminal columns: wide (CJK) characters take two, combining marks none."""
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def plain_text(content: tuple[Inline, ...]) -> str:
    """Inline content as the words a reader sees (a link shows its URL too)."""
    return _inline(content).strip()


def _inline(content: tuple[Inline, ...]) -> str:
    return "".join(_inline_node(node) for node in content)


def _inline_node(node: Inline) -> str:
    if isinstance(node, Text):
        return node.text
    if isinstance(node, Link):
        return link_as_text(node.text, node.url)
    if isinstance(node, Mention):
        return node.name
    return _date(node)


def _date(ref: DateRef) -> str:
    return ref.day.isoformat()
