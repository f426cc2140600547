"""Document -> a Trello card body: a markdown description plus native checklists.

Each section's checklist becomes a real Trello checklist (members and due dates on items, ticked
by people in Trello); everything else is markdown in the description. User text is escaped so it
cannot open a heading, a list, a quote, a table, code or a link (see :func:`escape`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

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
    LINE_BREAK,
    heading_level,
    is_safe_url,
    link_as_text,
    one_line,
    padded_header,
    padded_rows,
    split_lines,
    table_width,
)

# Trello rejects a longer description. It counts like JavaScript: UTF-16 code units.
TRELLO_DESC_LIMIT = 16384
TRUNCATION_NOTE = "\n\n… (truncated: too long for a Trello card description)"

# Inline markup anywhere in a line; "&" only when it starts an entity ("&amp;" would render "&").
_INLINE_SPECIAL = re.compile(r"[\\`*_\[\]<|~]|&(?=#?\w+;)")
# What opens a block at the start of a line: ATX heading, list, quote, setext underline,
# ordered list ("1." / "1)"). Leading spaces are dropped first (four would make a code block).
_LINE_START = re.compile(r"([#>+=-]|\d{1,9}(?=[.)]))")
_TRAILING_HASHES = re.compile(r"#+\s*$")  # would be read as a heading's closing sequence
_USERNAME = re.compile(r"[A-Za-z0-9_]+")  # what Trello allows in a username


@dataclass(frozen=True)
class ChecklistItem:
    name: str
    checked: bool
    key: str
    member: str | None = None  # Trello username of the item's owner
    due: date | None = None


@dataclass(frozen=True)
class Checklist:
    name: str
    items: tuple[ChecklistItem, ...]


@dataclass(frozen=True)
class TrelloCardBody:
    desc: str
    checklists: tuple[Checklist, ...]


def every_section(section: Section) -> bool:
    return True


def to_trello(
    doc: Document,
    *,
    native: Callable[[Section], bool] = every_section,
    limit: int = TRELLO_DESC_LIMIT,
    truncation_note: str = TRUNCATION_NOTE,
) -> TrelloCardBody:
    """The card body; ``native`` picks the sections whose checklist becomes a Trello checklist
    (by default all); the others' checklists are ``- [ ]`` lines in the description.
    ``checklists`` follows the order of those sections in the document."""
    chunks = [_block(block) for block in doc.intro]
    chunks += [_section(section, native(section)) for section in doc.sections]
    desc = "\n\n".join(chunk for chunk in chunks if chunk)
    checklists = tuple(
        _checklist(section.title, section.checklist)
        for section in doc.sections
        if section.checklist is not None and native(section)
    )
    return TrelloCardBody(truncate(desc, limit, truncation_note), checklists)


# --- checklists --------------------------------------------------------------------------------


def _checklist(title: str, tasks: TaskList) -> Checklist:
    # Kept even when empty: a "Decisions" checklist is filled in during the meeting.
    return Checklist(one_line(title).strip(), tuple(_checklist_item(item) for item in tasks.items))


def _checklist_item(item: TaskItem) -> ChecklistItem:
    mentions = [node for node in item.content if isinstance(node, Mention)]
    dates = [node.day for node in item.content if isinstance(node, DateRef)]
    return ChecklistItem(
        name=item_name(item.content),
        checked=item.done,
        key=item.key,
        # The owner is the first person named; if they have no Trello account, nobody is.
        member=(mentions[0].account or None) if mentions else None,
        due=dates[0] if dates else None,
    )


def item_name(content: tuple[Inline, ...]) -> str:
    """A check item's name: one line of plain text, people as ``@username`` when known."""
    parts = []
    for node in content:
        if isinstance(node, Mention):
            handle = _handle(node)
            parts.append(f"@{handle}" if handle else node.name)
        elif isinstance(node, Link):
            parts.append(node.text or node.url)
        elif isinstance(node, DateRef):
            parts.append(node.day.isoformat())
        else:
            parts.append(node.text)
    return " ".join(one_line("".join(parts)).split())


def _handle(mention: Mention) -> str | None:
    account = mention.account
    return account if account and _USERNAME.fullmatch(account) else None


# --- description -------------------------------------------------------------------------------


def _section(section: Section, native: bool) -> str:
    in_desc: tuple[Block, ...] = section.blocks
    if section.checklist is not None and not native:
        in_desc += (section.checklist,)
    # A section that is only a native checklist lives there; no lone heading for it.
    if not in_desc and section.checklist is not None:
        return ""
    parts = [_heading(2, (Text(section.title),))]
    parts += [_block(block) for block in in_desc]
    return "\n\n".join(part for part in parts if part)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return _heading(block.level, block.content)
    if isinstance(block, Paragraph):
        return _lines(_inline(block.content)).strip()
    if isinstance(block, BulletList):
        return "\n".join(_list_item("- ", item) for item in block.items if _inline(item).strip())
    if isinstance(block, TaskList):
        return "\n".join(_task_item(item) for item in block.items)
    return _table(block)


def _heading(level: int, content: tuple[Inline, ...]) -> str:
    body = _block_start(_inline(content, single_line=True).strip())
    body = _TRAILING_HASHES.sub(lambda m: m.group().replace("#", "\\#"), body)
    return f"{'#' * heading_level(level)} {body}" if body else ""


def _task_item(item: TaskItem) -> str:
    return _list_item("- [x] " if item.done else "- [ ] ", item.content)


def _list_item(marker: str, content: tuple[Inline, ...]) -> str:
    # Continuation lines are indented to stay inside the item.
    indent = "\n" + " " * 2
    return (marker + indent.join(_lines(_inline(content)).split("\n"))).rstrip()


def _lines(markup: str) -> str:
    """Each line of inline markup made safe to stand at the start of a line."""
    return "\n".join(_block_start(line) for line in markup.split("\n"))


def _block_start(line: str) -> str:
    line = line.lstrip()
    match = _LINE_START.match(line)
    if match is None:
        return line
    if match.group().isdigit():  # "1." -> "1\." : the escape goes on the punctuation
        end = match.end()
        return f"{line[:end]}\\{line[end:]}"
    return "\\" + line


def _table(table: Table) -> str:
    if table_width(table) == 0:
        return ""
    # A pipe table needs a header row; a table without one gets blank header cells.
    header = [escape(one_line(title)) for title in padded_header(table)]
    lines = [_row(header), _row(["---"] * len(header))]
    lines += [_row([_inline(cell, single_line=True) for cell in row]) for row in padded_rows(table)]
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.strip() or " " for cell in cells) + " |"


# --- inline ------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Plain ``text`` as markdown that renders as that text (line starts: see :func:`_lines`)."""
    return _INLINE_SPECIAL.sub(lambda m: "\\" + m.group(), text)


def _inline(content: tuple[Inline, ...], single_line: bool = False) -> str:
    out = ""
    for node in content:
        piece = _inline_node(node)
        if piece.startswith("[") and out.endswith("!"):
            out = out[:-1] + "\\!"  # "!" typed just before a link would make it an image
        out += piece
    # Text nodes keep their line ends (Trello shows them as breaks) unless the place has one line.
    return one_line(out) if single_line else LINE_BREAK.sub("\n", out)


def _inline_node(node: Inline) -> str:
    if isinstance(node, Text):
        return _text(node)
    if isinstance(node, Link):
        return _link(node)
    if isinstance(node, Mention):
        handle = _handle(node)
        return f"@{handle}" if handle else escape(node.name)
    return node.day.isoformat()


def _text(node: Text) -> str:
    """Escaped text inside ``**``/``*`` when marked; spaces outside, or the marks do not count."""
    body = node.text.strip()
    if not body or not (node.strong or node.em):
        return escape(node.text)
    lead = node.text[: len(node.text) - len(node.text.lstrip())]
    trail = node.text[len(node.text.rstrip()) :]
    lines = [escape(line.strip()) for line in split_lines(body)]
    # Emphasis cannot span a line end in a way every renderer agrees on: mark each line.
    token = ("**" if node.strong else "") + ("*" if node.em else "")
    marked = "\n".join(f"{token}{line}{token}" if line else "" for line in lines)
    return escape(lead) + marked + escape(trail)


def _link(link: Link) -> str:
    if not link.url or not is_safe_url(link.url):
        return escape(link_as_text(link.text, link.url))
    label = escape(one_line(link.text)).strip() or escape(link.url)
    # Percent-encode what would end the destination early: parentheses, spaces, angle brackets.
    target = quote(link.url.strip(), safe="!#$&'*+,/:;=?@~%-._")
    return f"[{label}]({target})"


# --- length ------------------------------------------------------------------------------------


# The tag planerka-sync ends its own comments with (service/comments.py): it must survive a cut,
# or a re-run could not find the comment to edit.
OWN_TAG_LINE = re.compile(r"\n+(planerka:[a-z]+:[^\s]+)\s*$")


def truncate(desc: str, limit: int = TRELLO_DESC_LIMIT, note: str = TRUNCATION_NOTE) -> str:
    """``desc`` cut to fit ``limit`` (UTF-16 units) with ``note`` at the end, at a line end when
    possible so no markup is cut in half; a closing planerka tag line is kept after the note."""
    if _utf16_len(desc) <= limit:
        return desc
    tag = OWN_TAG_LINE.search(desc)
    if tag is not None:
        desc, note = desc[:tag.start()], f"{note}\n\n{tag.group(1)}"
    cut = _fit(desc, max(0, limit - _utf16_len(note)))
    line_end = cut.rfind("\n")
    if line_end > 0:
        cut = cut[:line_end]
    elif (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]  # a lone trailing backslash would escape the note's first character
    return cut.rstrip() + note


def _fit(text: str, budget: int) -> str:
    """The longest prefix of ``text`` of at most ``budget`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return text[:index]
    return text


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
