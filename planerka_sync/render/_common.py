"""Rules every renderer shares, so the four formats agree on what a document means."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from planerka_sync.domain.document import Inline, Table

# Everything Python's str.splitlines() and Java's regex ``^`` treat as a line end: user text with
# any of these must not open a new line in line-based markup (a heading, a list item, a row).
LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")

# Links are written into trackers other people open; a ``javascript:`` or ``data:`` href there is
# an attack, not a link. Anything else is shown as text.
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def split_lines(text: str) -> list[str]:
    """``text`` cut at every line end; ``"a\\n"`` gives ``["a", ""]`` (unlike splitlines)."""
    return LINE_BREAK.split(text)


def one_line(text: str) -> str:
    """``text`` with line ends as spaces, for places that cannot hold a break (headings, cells)."""
    return LINE_BREAK.sub(" ", text)


def is_safe_url(url: str) -> bool:
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return False
    return scheme in SAFE_SCHEMES


def link_as_text(text: str, url: str) -> str:
    """How a link that cannot be a link (unsafe or empty URL) is shown: its text and its URL."""
    url = url.strip()
    if not url:
        return text
    if not text or text == url:
        return url
    return f"{text} ({url})"


def heading_level(level: int) -> int:
    """Every format has levels 1..6; the model does not enforce it, so clamp here."""
    return min(6, max(1, level))


def table_width(table: Table) -> int:
    return max([len(table.header), *(len(row) for row in table.rows)])


def padded_rows(table: Table) -> list[tuple[tuple[Inline, ...], ...]]:
    """Rows filled up with empty cells to the table's width: ragged rows break every format."""
    width = table_width(table)
    return [row + ((),) * (width - len(row)) for row in table.rows]


def padded_header(table: Table) -> tuple[str, ...]:
    return table.header + ("",) * (table_width(table) - len(table.header))
