"""Document -> semantic HTML: a fragment per document, and one self-contained page around them
(the meeting summary saved or mailed as a single ``.html`` file).

User text must stay text: every piece of it goes through :func:`html.escape` (quotes too, so it
is safe inside attributes), and its line ends become ``<br>``. Control characters other than tab
and line ends are parse errors in HTML and show as nothing, so they are left out.

Links are live only for http, https and mailto URLs (``javascript:`` and ``data:`` hrefs are an
attack, not a link); any other link shows its text and its URL, as in every other format.

The page loads nothing: no CDN, no web fonts, no scripts; images are ``data:`` URLs, and a
Content-Security-Policy tells the browser to fetch nothing else even if something slipped in.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from html import escape as _html_escape

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
    one_line,
    padded_header,
    padded_rows,
    split_lines,
    table_width,
)

# C0 and C1 controls except tab and what split_lines() already treats as a line end.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")

_STYLE = """\
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; line-height: 1.5; color: #1f2328; background: #fff; max-width: 960px;
  margin: 0 auto; padding: 1rem 1.5rem; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.5rem 0 0.75rem; }
section { margin-bottom: 2rem; }
table { border-collapse: collapse; margin: 1rem 0; display: block; overflow-x: auto;
  max-width: 100%; }
td { font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 0.35rem 0.7rem; text-align: left;
  vertical-align: top; }
th { background: #f6f8fa; }
ul.tasks { list-style: none; padding-left: 0.5rem; }
ul.tasks input { margin-right: 0.4rem; }
.mention { color: #0969da; font-weight: 600; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption { color: #57606a; font-size: 0.9rem; }
@media (max-width: 600px) { body { padding: 0.5rem 0.75rem; font-size: 15px; }
  th, td { padding: 0.25rem 0.4rem; } }
@media print { body { max-width: none; padding: 0; font-size: 11pt; }
  table { display: table; overflow: visible; } section, figure { break-inside: avoid; } }"""

# Nothing may be fetched: inline styles only, images only as data: URLs.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def to_html_fragment(doc: Document, *, section_level: int = 2) -> str:
    """``doc`` as HTML for inside a ``<body>``: blocks, then one ``<section>`` per section, its
    title an ``<h{section_level}>`` (a page holding several documents nests them deeper)."""
    chunks = [_block(block) for block in doc.intro]
    chunks += [_section(section, section_level) for section in doc.sections]
    return "\n".join(chunk for chunk in chunks if chunk)


def html_page(
    title: str,
    body_fragments: Sequence[str],
    *,
    lang: str = "ru",
    images: Sequence[tuple[str, bytes]] = (),
) -> str:
    """One self-contained HTML5 page: ``title`` (escaped) as its title and top heading, the
    fragments in order (trusted HTML, e.g. from :func:`to_html_fragment`, inserted as they are),
    then each ``(caption, png_bytes)`` image as a figure with the PNG embedded as a data URL."""
    title_text = escape(one_line(title)).strip()
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(lang.strip())}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title_text}</title>",
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    if title_text:
        parts.append(f"<h1>{title_text}</h1>")
    parts += [fragment for fragment in body_fragments if fragment]
    parts += [figure(caption, data) for caption, data in images]
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def escape(text: str) -> str:
    """Plain ``text`` as HTML that shows exactly that text; line ends become ``<br>``."""
    lines = [_html_escape(_CONTROL.sub("", line), quote=True) for line in split_lines(text)]
    return "<br>".join(lines)


def _attribute(text: str) -> str:
    """``text`` for inside a double-quoted attribute value (on one line)."""
    return _html_escape(_CONTROL.sub("", one_line(text)), quote=True)


def figure(caption: str, data: bytes) -> str:
    """A PNG as a captioned figure, embedded as a data URL."""
    src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    figcaption = f"<figcaption>{escape(caption)}</figcaption>" if caption.strip() else ""
    return f'<figure><img alt="{_attribute(caption)}" src="{src}">{figcaption}</figure>'


# --- blocks ------------------------------------------------------------------------------------


def _section(section: Section, level: int = 2) -> str:
    parts = ["<section>"]
    if section.title.strip():
        parts.append(f"<h{level}>{escape(section.title.strip())}</h{level}>")
    parts += [_block(block) for block in section.blocks]
    if section.checklist is not None:
        parts.append(_task_list(section.checklist))
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return _heading(block.level, block.content)
    if isinstance(block, Paragraph):
        body = _inline(block.content)
        return f"<p>{body}</p>" if body else ""
    if isinstance(block, BulletList):
        return _list("<ul>", [_inline(item) for item in block.items])
    if isinstance(block, TaskList):
        return _task_list(block)
    return _table(block)


def _heading(level: int, content: tuple[Inline, ...]) -> str:
    # An empty heading shows nothing but a gap: leave it out, as every other format does.
    body = _inline(content)
    tag = f"h{heading_level(level)}"
    return f"<{tag}>{body}</{tag}>" if body else ""


def _list(opening: str, items: list[str]) -> str:
    """A list of the non-empty ``items``, or nothing: an empty ``<li>`` shows a stray bullet."""
    lines = [f"<li>{item}</li>" for item in items if item]
    return "\n".join([opening, *lines, "</ul>"]) if lines else ""


def _task_list(block: TaskList) -> str:
    return _list('<ul class="tasks">', [_task_item(item) for item in block.items])


def _task_item(item: TaskItem) -> str:
    checked = " checked" if item.done else ""
    body = _inline(item.content)
    box = f'<input type="checkbox" disabled{checked}>'
    return f"{box} {body}" if body else box


def _table(table: Table) -> str:
    if table_width(table) == 0:
        return ""
    lines = ["<table>"]
    if table.header:
        cells = "".join(f"<th>{escape(title.strip())}</th>" for title in padded_header(table))
        lines += ["<thead>", f"<tr>{cells}</tr>", "</thead>"]
    rows = padded_rows(table)
    if rows:
        lines.append("<tbody>")
        for row in rows:
            lines.append("<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>")
        lines.append("</tbody>")
    lines.append("</table>")
    return "\n".join(lines)


# --- inline ------------------------------------------------------------------------------------


def _inline(content: tuple[Inline, ...]) -> str:
    """Inline content as HTML, or ``""`` when it shows nothing but spaces and line breaks."""
    markup = "".join(_inline_node(node) for node in content)
    return markup.strip() if markup.replace("<br>", " ").strip() else ""


def _inline_node(node: Inline) -> str:
    if isinstance(node, Text):
        return _text(node)
    if isinstance(node, Link):
        return _link(node)
    if isinstance(node, Mention):
        return _mention(node)
    return _date(node)


def _text(node: Text) -> str:
    body = escape(node.text)
    if not node.text.strip():
        return body  # no empty <strong></strong> around spaces
    if node.em:
        body = f"<em>{body}</em>"
    if node.strong:
        body = f"<strong>{body}</strong>"
    return body


def _link(link: Link) -> str:
    url = link.url.strip()
    if not url or not is_safe_url(url):
        return escape(link_as_text(link.text, link.url))
    label = escape(link.text).strip() or escape(url)
    return f'<a href="{_attribute(url)}" rel="noopener">{label}</a>'


def _mention(mention: Mention) -> str:
    # The account (an opaque tracker id) means nothing to a reader: the name or nothing.
    name = one_line(mention.name).strip()
    if not name:
        return ""
    return f'<span class="mention">@{escape(name)}</span>'


def _date(ref: DateRef) -> str:
    # ISO, not the locale's dd.mm.yyyy: unambiguous for every reader, and what <time> expects.
    day = ref.day.isoformat()
    return f'<time datetime="{day}">{day}</time>'
