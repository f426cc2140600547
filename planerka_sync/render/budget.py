"""Size budgets: every body sent to a tracker fits its limit, or the document is condensed first.

The limits, counted the way each service counts them:

- Jira (Cloud and Data Center) rejects a description or comment over 32,767 characters. For ADF
  (Cloud, REST v3) that is the length of the JSON-serialized document; for wiki markup (DC) the
  length of the string.
- Trello rejects a description, comment or check item name over 16,384 UTF-16 code units.

Condensing keeps the shape a reader knows: every list and table is cut to the same number of
first items (binary-searched, so as much as fits is kept) and says how many more there are and
where they are. Only when even that does not fit are long texts clipped and, last, trailing
sections dropped, so a render never ends in a 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from planerka_sync.domain.document import (
    Block,
    BulletList,
    Document,
    Inline,
    Paragraph,
    Section,
    Table,
    TaskList,
    Text,
)
from planerka_sync.render.adf import to_adf
from planerka_sync.render.trello import TRELLO_DESC_LIMIT, TrelloCardBody, to_trello
from planerka_sync.render.wiki import to_wiki

JIRA_TEXT_LIMIT = 32767
TRELLO_TEXT_LIMIT = TRELLO_DESC_LIMIT

Flavour = Literal["trello", "adf", "wiki"]
# "{shown} of {total}" -> the sentence put after a cut list.
MoreNote = Callable[[int, int], str]
_CLIP = 300  # characters a text keeps in the last-resort condensing


def adf_size(node: Any) -> int:
    """What Jira Cloud counts: the compact JSON of the document, non-ASCII as written."""
    return len(json.dumps(node, ensure_ascii=False, separators=(",", ":")))


def utf16_size(text: str) -> int:
    """What Trello counts (JavaScript string length)."""
    return len(text.encode("utf-16-le")) // 2


def limit_of(flavour: Flavour) -> int:
    return TRELLO_TEXT_LIMIT if flavour == "trello" else JIRA_TEXT_LIMIT


def size_of(doc: Document, flavour: Flavour) -> int:
    """The size of ``doc`` rendered as a comment in ``flavour`` (Trello: all in the text)."""
    if flavour == "adf":
        return adf_size(to_adf(doc))
    if flavour == "wiki":
        return len(to_wiki(doc))
    # Unbounded render: truncation would hide that the document is too long.
    return utf16_size(to_trello(doc, native=lambda _: False, limit=1 << 40).desc)


def fits(doc: Document, flavour: Flavour, reserve: int = 0) -> bool:
    """True when ``doc`` renders within the limit less ``reserve`` (a marker line, a tag)."""
    return size_of(doc, flavour) <= limit_of(flavour) - reserve


def default_note(shown: int, total: int) -> str:
    return f"… {total - shown} more of {total} not shown (too long for the tracker)"


def fit(doc: Document, check: Callable[[Document], bool], note: MoreNote = default_note
        ) -> Document:
    """``doc`` itself when ``check`` accepts it; else the longest condensed form it accepts."""
    if check(doc):
        return doc
    longest = _longest_list(doc)
    low, high = 0, longest - 1  # ``longest`` items is the document itself: it did not fit
    best: Document | None = None
    while low <= high:
        keep = (low + high) // 2
        candidate = cap_lists(doc, keep, note)
        if check(candidate):
            best, low = candidate, keep + 1
        else:
            high = keep - 1
    return best if best is not None else _last_resort(cap_lists(doc, 0, note), check)


def cap_lists(doc: Document, keep: int, note: MoreNote = default_note) -> Document:
    """Every list, task list and table cut to its first ``keep`` items, each cut followed by a
    line saying how many more there are."""
    intro = tuple(b for block in doc.intro for b in _cap_block(block, keep, note))
    return Document(intro, tuple(_cap_section(s, keep, note) for s in doc.sections))


def _cap_section(section: Section, keep: int, note: MoreNote) -> Section:
    blocks = tuple(b for block in section.blocks for b in _cap_block(block, keep, note))
    checklist = section.checklist
    if checklist is not None and len(checklist.items) > keep:
        total = len(checklist.items)
        checklist = TaskList(checklist.items[:keep])
        blocks += (_note(note, keep, total),)  # renderers put blocks before the checklist
    return replace(section, blocks=blocks, checklist=checklist)


def _cap_block(block: Block, keep: int, note: MoreNote) -> tuple[Block, ...]:
    if isinstance(block, BulletList) and len(block.items) > keep:
        kept: tuple[Block, ...] = (BulletList(block.items[:keep]),) if keep else ()
        return (*kept, _note(note, keep, len(block.items)))
    if isinstance(block, TaskList) and len(block.items) > keep:
        kept = (TaskList(block.items[:keep]),) if keep else ()
        return (*kept, _note(note, keep, len(block.items)))
    if isinstance(block, Table) and len(block.rows) > keep:
        kept = (Table(block.header, block.rows[:keep]),) if keep else ()
        return (*kept, _note(note, keep, len(block.rows)))
    return (block,)


def _note(note: MoreNote, shown: int, total: int) -> Paragraph:
    return Paragraph((Text(note(shown, total), em=True),))


def _longest_list(doc: Document) -> int:
    blocks = [*doc.intro, *(b for s in doc.sections for b in s.blocks)]
    lengths = [len(s.checklist.items) for s in doc.sections if s.checklist is not None]
    for block in blocks:
        if isinstance(block, BulletList | TaskList):
            lengths.append(len(block.items))
        elif isinstance(block, Table):
            lengths.append(len(block.rows))
    return max(lengths, default=0)


def _last_resort(doc: Document, check: Callable[[Document], bool]) -> Document:
    """Long texts clipped, then sections dropped from the end: a short document beats a 400."""
    doc = Document(tuple(_clip_block(b) for b in doc.intro),
                   tuple(replace(s, title=s.title[:_CLIP],
                                 blocks=tuple(_clip_block(b) for b in s.blocks))
                         for s in doc.sections))
    sections = list(doc.sections)
    while sections and not check(Document(doc.intro, tuple(sections))):
        sections.pop()
    intro = list(doc.intro)
    while intro and not check(Document(tuple(intro), ())) and not sections:
        intro.pop()
    return Document(tuple(intro), tuple(sections))


def _clip_block(block: Block) -> Block:
    if isinstance(block, Paragraph):
        return Paragraph(_clip(block.content))
    if isinstance(block, BulletList):
        return BulletList(tuple(_clip(item) for item in block.items))
    return block


def _clip(content: tuple[Inline, ...]) -> tuple[Inline, ...]:
    return tuple(replace(n, text=n.text[:_CLIP] + "…") if isinstance(n, Text)
                 and len(n.text) > _CLIP else n for n in content)


# --- bodies ready to send ----------------------------------------------------------------------


def jira_body(doc: Document, cloud: bool, note: MoreNote = default_note) -> Any:
    """ADF (Cloud) or wiki markup (DC) of ``doc`` condensed to fit Jira's limit."""
    flavour: Flavour = "adf" if cloud else "wiki"
    fitted = fit(doc, lambda d: fits(d, flavour), note)
    return to_adf(fitted) if cloud else to_wiki(fitted)


def trello_body(doc: Document, *, native: Callable[[Section], bool] = lambda _: True,
                suffix: str = "", note: MoreNote = default_note) -> TrelloCardBody:
    """The card body of ``doc`` with ``suffix`` (the marker line) appended, all within Trello's
    limit: the document is condensed (or at worst cut) to leave room for the suffix, so the
    marker a lost-state lookup searches for is never the part that is cut off."""
    budget = TRELLO_TEXT_LIMIT - utf16_size(suffix)

    def check(candidate: Document) -> bool:
        desc = to_trello(candidate, native=native, limit=1 << 40).desc
        return utf16_size(desc) <= budget

    body = to_trello(fit(doc, check, note), native=native, limit=budget)
    return replace(body, desc=body.desc + suffix)
