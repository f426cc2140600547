"""Document -> Jira Server/Data Center wiki markup (REST v2 descriptions and comments).

User text must stay text: every character Jira's renderer treats as markup is escaped (see
:func:`escape`), line ends inside text become ``\\\\`` breaks so no user line can start a block,
and a paragraph that would begin with ``h1.``/``bq.`` has its first letter written as an entity.

Task items: Jira wiki markup has no checkbox. ``[ ]``/``[x]`` would be parsed as links, and the
emoticon ``(x)`` is a red cross that reads as "failed", so a task line is a bullet with the
``(/)`` emoticon (a green tick) when done and a literal ``( )`` (not an emoticon, shows as an
empty box) when still to do: ``* (/) Publish the report`` / ``* ( ) Publish the report``. The
markers are exported so the Data Center adapter reads back exactly what is written here.
"""

from __future__ import annotations

import re
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
    plain,
)
from planerka_sync.render._common import (
    heading_level,
    is_safe_url,
    link_as_text,
    one_line,
    padded_header,
    padded_rows,
    split_lines,
    table_width,
)

WIKI_DONE_MARK = "(/)"
WIKI_TODO_MARK = "( )"

# Jira's BackslashEscapeRendererComponent un-escapes these after a backslash ("@" and "%" are in
# its set too but are not markup, so they stay as typed).
_BACKSLASH_ESCAPED = frozenset("-#*_+?^~{}()!")
# Link, table and mention syntax is split on "[", "]" and "|" before any escape is honoured, so
# they go in as numeric entities, which Jira renders as the character. So does a backslash:
# "\\" is a line break and "\*" an escape, so a typed backslash cannot stay raw.
_SPECIAL = re.compile(
    r"&(?=#?\w+;)"  # a typed "&#91;" must show as typed, not as "["
    r"|[:;](?=[PpDdOo])"  # ":P", ":D" are emoticons
    r"|[-#*_+?^~{}()!\[\]|\\]"
)
_BLOCK_START = re.compile(r"\s*(h[1-6]|bq)\.", re.IGNORECASE)
# A Jira username in [~name]: anything that cannot close or split the brackets.
_USERNAME = re.compile(r"[^\[\]|{}\s]+")
_LINE_BREAK = "\\\\ "  # Jira's forced line break "\\", then a space so it never touches text


def to_wiki(doc: Document) -> str:
    chunks = [_block(block) for block in doc.intro]
    chunks += [_section(section) for section in doc.sections]
    return "\n\n".join(chunk for chunk in chunks if chunk)


def escape(text: str) -> str:
    """Plain ``text`` as wiki markup that renders as exactly that text, on one line."""
    lines = [_escape_line(line) for line in split_lines(text)]
    return _LINE_BREAK.join(lines)


def _escape_line(line: str) -> str:
    return _SPECIAL.sub(_escape_char, line)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char == "&":
        return "&amp;"
    if char in _BACKSLASH_ESCAPED:
        return "\\" + char
    return f"&#{ord(char)};"  # [ ] | \ and an emoticon's colon


def _section(section: Section) -> str:
    parts = [_heading(2, (Text(section.title),))]
    parts += [_block(block) for block in section.blocks]
    if section.checklist is not None:
        parts.append(_task_list(section.checklist))
    return "\n\n".join(part for part in parts if part)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return _heading(block.level, block.content)
    if isinstance(block, Paragraph):
        return _guard_block_start(_visible(_inline(block.content)))
    if isinstance(block, BulletList):
        # An empty "* " line renders as a stray asterisk: leave empty items out.
        items = (_visible(_inline(item)) for item in block.items)
        return "\n".join(f"* {item}" for item in items if item)
    if isinstance(block, TaskList):
        return _task_list(block)
    return _table(block)


def _heading(level: int, content: tuple[Inline, ...]) -> str:
    # "h2. " with nothing after it renders as literal text in Jira: leave empty headings out.
    body = _visible(_inline(content))
    return f"h{heading_level(level)}. {body}" if body else ""


def _visible(markup: str) -> str:
    """``markup`` trimmed, or ``""`` when it shows nothing but spaces and line breaks."""
    return markup.strip() if markup.replace(_LINE_BREAK, " ").strip() else ""


def _guard_block_start(line: str) -> str:
    """A paragraph starting ``h1.`` or ``bq.`` would become a heading or a quote."""
    match = _BLOCK_START.match(line)
    if match is None:
        return line
    start = match.start(1)
    return f"{line[:start]}&#{ord(line[start])};{line[start + 1:]}"


def _task_list(block: TaskList) -> str:
    return "\n".join(_task_item(item) for item in block.items)


def _task_item(item: TaskItem) -> str:
    mark = WIKI_DONE_MARK if item.done else WIKI_TODO_MARK
    return f"* {mark} {_inline(item.content)}".rstrip()


def _table(table: Table) -> str:
    if table_width(table) == 0:
        return ""
    lines = []
    if table.header:
        cells = [_cell(escape(title)) for title in padded_header(table)]
        lines.append("||" + "||".join(cells) + "||")
    for row in padded_rows(table):
        lines.append("|" + "|".join(_cell(_inline(cell)) for cell in row) + "|")
    return "\n".join(lines)


def _cell(markup: str) -> str:
    # "||" inside a row opens a header cell, so a blank cell holds a space.
    return markup if markup.strip() else " "


# --- inline ------------------------------------------------------------------------------------


def _inline(content: tuple[Inline, ...]) -> str:
    out = ""
    for index, node in enumerate(content):
        after = plain(content[index + 1 : index + 2])[:1]
        out += _inline_node(node, out[-1:], after)
    return out


def _inline_node(node: Inline, before: str, after: str) -> str:
    if isinstance(node, Text):
        return _text(node, before, after)
    if isinstance(node, Link):
        return _link(node)
    if isinstance(node, Mention):
        return _mention(node)
    return _date(node)


def _text(node: Text, before: str, after: str) -> str:
    """Escaped text inside ``*``/``_`` when marked; spaces stay outside (Jira needs it so)."""
    body = node.text.strip()
    if not body or not (node.strong or node.em):
        return escape(node.text)
    lead = node.text[: len(node.text) - len(node.text.lstrip())]
    trail = node.text[len(node.text.rstrip()) :]
    # Jira ignores "*bold*" glued to a letter or digit; "{*}bold{*}" works anywhere.
    glued = (not lead and before.isalnum()) or (not trail and after.isalnum())
    # A mark does not reach across a line break, so each line carries its own.
    lines = [_marked(line.strip(), node, glued) for line in split_lines(body)]
    return escape(lead) + _LINE_BREAK.join(lines) + escape(trail)


def _marked(line: str, node: Text, glued: bool) -> str:
    marked = escape(line)
    if not line:
        return marked
    for mark, on in (("_", node.em), ("*", node.strong)):
        if on:
            token = f"{{{mark}}}" if glued else mark
            marked = f"{token}{marked}{token}"
    return marked


def _link(link: Link) -> str:
    if not link.url or not is_safe_url(link.url):
        return escape(link_as_text(link.text, link.url))
    url = _link_target(link.url)
    label = escape(one_line(link.text)).strip()
    return f"[{label}|{url}]" if label else f"[{url}]"


def _link_target(url: str) -> str:
    # Percent-encode what would end or split "[text|url]": brackets, "|", braces, whitespace.
    return quote(url.strip(), safe="!#$&'()*+,/:;=?@~%-._")


def _mention(mention: Mention) -> str:
    if mention.account and _USERNAME.fullmatch(mention.account):
        return f"[~{mention.account}]"
    return escape(mention.name)


def _date(ref: DateRef) -> str:
    # ISO, not the locale's dd.mm.yyyy: unambiguous for every reader.
    return ref.day.isoformat()
