"""Renderers: one hand-built document in every format, the edge cases each format's rules call
for, and properties over arbitrary documents (valid ADF, no crash, user text stays text)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    heading,
    paragraph,
    text,
)
from planerka_sync.render import (
    TRELLO_DESC_LIMIT,
    WIKI_DONE_MARK,
    WIKI_TODO_MARK,
    Checklist,
    ChecklistItem,
    TrelloCardBody,
    task_list_local_id,
    task_local_id,
    to_adf,
    to_plain,
    to_trello,
    to_wiki,
)
from planerka_sync.render._common import is_safe_url
from planerka_sync.render.trello import TRUNCATION_NOTE, truncate
from planerka_sync.sandbox.adf import adf_problems
from tests.contract.openapi import spec_file, specs_dir
from tests.strategies import documents_from, texts_from

# 2026-12-01 00:00 UTC: 56 years since 1970 with 14 leap days = 20454 days, plus 334 days from
# 1 January to 1 December 2026 = 20788 days; x 86400 s x 1000 ms.
DEC_1_MS = str(20788 * 86400 * 1000)
assert DEC_1_MS == "1796083200000"

MEETING = Document(
    intro=(
        heading(1, "Planning 2026-12-01"),
        Paragraph(
            (
                Text("Where: "),
                Link("room 3", "https://meet.example.org/mkt"),
                Text(". "),
                Text("Be on time", strong=True),
                Text(" "),
                Text("please", em=True),
            )
        ),
        BulletList(((Text("Traffic"),), (Text("CAC "), Text("and", em=True), Text(" LTV")))),
        Table(("KPI", "Value"), (((Text("ROI"),), (Text("12%"),)),)),
    ),
    sections=(
        Section(
            key="decisions",
            title="Decisions",
            blocks=(paragraph("Agreed:"),),
            checklist=TaskList(
                (
                    TaskItem(
                        (
                            Text("Publish report "),
                            Mention("Anna Smirnova", "anna"),
                            Text(" "),
                            DateRef(date(2026, 12, 1)),
                        ),
                        key="d1",
                        done=True,
                    ),
                    TaskItem((Text("Fix landing for "), Mention("Ivan")), key="d2"),
                )
            ),
        ),
    ),
)


# --- ADF validity: the official schema and the sandbox's validator -----------------------------


ADF_SCHEMA = "adf-full.schema.json"


@cache
def _schema_validator() -> Any:
    """The official ADF schema (in-repo copy, or ``$PLANERKA_SPECS_DIR``'s); None when absent."""
    path = specs_dir() / ADF_SCHEMA
    if not path.is_file():
        return None
    from jsonschema import Draft4Validator

    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def assert_valid_adf(doc: dict[str, Any]) -> None:
    """Valid for the sandbox (what Jira answers 400 to) and, when present, the official schema."""
    assert adf_problems(doc) == []
    validator = _schema_validator()
    if validator is not None:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert errors == []


def test_the_official_adf_schema_is_checked() -> None:
    # Absent from a $PLANERKA_SPECS_DIR override: skipped (ADF is then checked against the
    # sandbox validator only); absent from the in-repo copy: failed.
    spec_file(ADF_SCHEMA)
    assert _schema_validator() is not None


# --- the meeting document in every format ------------------------------------------------------


def _text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    return {**node, "marks": list(marks)} if marks else node


def _para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def test_adf_of_the_meeting() -> None:
    link = {"type": "link", "attrs": {"href": "https://meet.example.org/mkt"}}
    expected = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "heading",
                "attrs": {"level": 1},
                "content": [_text("Planning 2026-12-01")],
            },
            _para(
                _text("Where: "),
                _text("room 3", link),
                _text(". "),
                _text("Be on time", {"type": "strong"}),
                _text(" "),
                _text("please", {"type": "em"}),
            ),
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [_para(_text("Traffic"))]},
                    {
                        "type": "listItem",
                        "content": [
                            _para(_text("CAC "), _text("and", {"type": "em"}), _text(" LTV"))
                        ],
                    },
                ],
            },
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableHeader", "content": [_para(_text("KPI"))]},
                            {"type": "tableHeader", "content": [_para(_text("Value"))]},
                        ],
                    },
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableCell", "content": [_para(_text("ROI"))]},
                            {"type": "tableCell", "content": [_para(_text("12%"))]},
                        ],
                    },
                ],
            },
            {"type": "heading", "attrs": {"level": 2}, "content": [_text("Decisions")]},
            _para(_text("Agreed:")),
            {
                "type": "taskList",
                "attrs": {"localId": task_list_local_id("section:decisions")},
                "content": [
                    {
                        "type": "taskItem",
                        "attrs": {"localId": task_local_id("d1"), "state": "DONE"},
                        "content": [
                            _text("Publish report "),
                            {"type": "mention", "attrs": {"id": "anna", "text": "@Anna Smirnova"}},
                            _text(" "),
                            {"type": "date", "attrs": {"timestamp": DEC_1_MS}},
                        ],
                    },
                    {
                        "type": "taskItem",
                        "attrs": {"localId": task_local_id("d2"), "state": "TODO"},
                        "content": [_text("Fix landing for "), _text("Ivan")],
                    },
                ],
            },
        ],
    }
    adf = to_adf(MEETING)
    assert adf == expected
    assert_valid_adf(adf)


def test_wiki_of_the_meeting() -> None:
    assert to_wiki(MEETING) == (
        "h1. Planning 2026\\-12\\-01\n"
        "\n"
        "Where: [room 3|https://meet.example.org/mkt]. *Be on time* _please_\n"
        "\n"
        "* Traffic\n"
        "* CAC _and_ LTV\n"
        "\n"
        "||KPI||Value||\n"
        "|ROI|12%|\n"
        "\n"
        "h2. Decisions\n"
        "\n"
        "Agreed:\n"
        "\n"
        "* (/) Publish report [~anna] 2026-12-01\n"
        "* ( ) Fix landing for Ivan"
    )


def test_trello_of_the_meeting() -> None:
    assert to_trello(MEETING) == TrelloCardBody(
        desc=(
            "# Planning 2026-12-01\n"
            "\n"
            "Where: [room 3](https://meet.example.org/mkt). **Be on time** *please*\n"
            "\n"
            "- Traffic\n"
            "- CAC *and* LTV\n"
            "\n"
            "| KPI | Value |\n"
            "| --- | --- |\n"
            "| ROI | 12% |\n"
            "\n"
            "## Decisions\n"
            "\n"
            "Agreed:"
        ),
        checklists=(
            Checklist(
                name="Decisions",
                items=(
                    ChecklistItem(
                        name="Publish report @anna 2026-12-01",
                        checked=True,
                        key="d1",
                        member="anna",
                        due=date(2026, 12, 1),
                    ),
                    ChecklistItem(name="Fix landing for Ivan", checked=False, key="d2"),
                ),
            ),
        ),
    )


def test_plain_of_the_meeting() -> None:
    assert to_plain(MEETING) == (
        "Planning 2026-12-01\n"
        "===================\n"
        "\n"
        "Where: room 3 (https://meet.example.org/mkt). Be on time please\n"
        "\n"
        "- Traffic\n"
        "- CAC and LTV\n"
        "\n"
        "KPI | Value\n"
        "----+------\n"
        "ROI | 12%\n"
        "\n"
        "Decisions\n"
        "---------\n"
        "\n"
        "Agreed:\n"
        "\n"
        "[x] Publish report Anna Smirnova 2026-12-01\n"
        "[ ] Fix landing for Ivan"
    )


def test_an_empty_document_renders_as_nothing() -> None:
    assert to_adf(Document()) == {"type": "doc", "version": 1, "content": []}
    assert_valid_adf(to_adf(Document()))
    assert to_wiki(Document()) == ""
    assert to_trello(Document()) == TrelloCardBody("", ())
    assert to_plain(Document()) == ""


# --- ADF edge cases ----------------------------------------------------------------------------


def _adf_blocks(*blocks: Block) -> list[dict[str, Any]]:
    adf = to_adf(Document(intro=blocks))
    assert_valid_adf(adf)
    return adf["content"]


def test_adf_never_writes_an_empty_text_node() -> None:
    content = (Text(""), Text("a", strong=True), Mention(""), Link("", ""), Text(""))
    assert _adf_blocks(Paragraph(content)) == [_para(_text("a", {"type": "strong"}))]


def test_adf_line_ends_in_text_are_hard_breaks() -> None:
    assert _adf_blocks(paragraph("a\nb\r\n")) == [
        _para(_text("a"), {"type": "hardBreak"}, _text("b"), {"type": "hardBreak"})
    ]


def test_adf_leaves_out_lists_and_tables_without_items() -> None:
    assert _adf_blocks(TaskList(()), BulletList(()), Table((), ()), Table((), ((), ()))) == []


def test_adf_task_item_may_be_empty() -> None:
    [task_list] = _adf_blocks(TaskList((TaskItem((), key="k"),)))
    attrs = {"localId": task_local_id("k"), "state": "TODO"}
    assert task_list["content"] == [{"type": "taskItem", "attrs": attrs, "content": []}]


def test_adf_local_ids_are_stable_uuids_per_key() -> None:
    assert task_local_id("d1") == task_local_id("d1")
    assert task_local_id("d1") != task_local_id("d2")
    assert uuid.UUID(task_local_id("d1")).version == 5
    assert task_local_id("x") != task_list_local_id("x")


def test_adf_heading_levels_are_clamped_to_one_to_six() -> None:
    levels = [b["attrs"]["level"] for b in _adf_blocks(heading(0, "a"), heading(9, "b"))]
    assert levels == [1, 6]


def test_adf_links_with_unsafe_or_no_url_are_text() -> None:
    assert _adf_blocks(
        Paragraph((Link("click", "javascript:alert(1)"), Text(" "), Link("no url", "")))
    ) == [_para(_text("click (javascript:alert(1))"), _text(" "), _text("no url"))]


def test_adf_link_without_text_shows_its_url() -> None:
    link = {"type": "link", "attrs": {"href": "mailto:a@example.org"}}
    assert _adf_blocks(Paragraph((Link("", "mailto:a@example.org"),))) == [
        _para(_text("mailto:a@example.org", link))
    ]


def test_adf_ragged_table_rows_are_filled_with_empty_cells() -> None:
    [table] = _adf_blocks(Table(("A",), (((Text("1"),), (Text("2"),)),)))
    header, row = table["content"]
    assert header["content"][1] == {"type": "tableHeader", "content": [_para()]}
    cells = [cell["content"] for cell in row["content"]]
    assert cells == [[_para(_text("1"))], [_para(_text("2"))]]


def test_adf_table_without_header_has_only_cell_rows() -> None:
    [table] = _adf_blocks(Table((), (((Text("x"),),),)))
    assert [cell["type"] for row in table["content"] for cell in row["content"]] == ["tableCell"]


def test_adf_date_is_utc_midnight_in_epoch_milliseconds() -> None:
    [para] = _adf_blocks(Paragraph((DateRef(date(1970, 1, 2)),)))
    assert para["content"] == [{"type": "date", "attrs": {"timestamp": "86400000"}}]


# --- wiki markup -------------------------------------------------------------------------------


def _wiki(*parts: str | Inline) -> str:
    return to_wiki(Document(intro=(paragraph(*parts),)))


def test_wiki_escapes_markup_in_user_text() -> None:
    assert _wiki("*not bold* [x|y] {code} -gone- ~sub~ ^sup^ +ins+ ??cite?? !img!") == (
        "\\*not bold\\* &#91;x&#124;y&#93; \\{code\\} \\-gone\\- \\~sub\\~ \\^sup\\^ "
        "\\+ins\\+ \\?\\?cite\\?\\? \\!img\\!"
    )


def test_wiki_backslash_is_an_entity_not_an_escape_or_a_break() -> None:
    # "\\" is Jira's line break and "\*" an escape; the entity always shows one backslash.
    assert _wiki("a\\\\b\\*") == "a&#92;&#92;b&#92;\\*"


def test_wiki_emoticons_in_user_text_stay_text() -> None:
    assert _wiki("(/) (x) :P ;D") == "\\(/\\) \\(x\\) &#58;P &#59;D"


def test_wiki_typed_entity_stays_as_typed() -> None:
    # "&amp;" shows "&", "\#" shows "#": the reader sees "&#91;" as typed.
    assert _wiki("&#91; R&D") == "&amp;\\#91; R&D"


def test_wiki_line_ends_become_breaks_so_no_line_starts_a_block() -> None:
    assert _wiki("a\nh1. X\r\n# b\u2028* c") == "a\\\\ h1. X\\\\ \\# b\\\\ \\* c"


def test_wiki_paragraph_cannot_start_as_a_heading_or_quote() -> None:
    assert _wiki("h3. not a title") == "&#104;3. not a title"
    assert _wiki("  bq. not a quote") == "&#98;q. not a quote"


def test_wiki_marks_inside_a_word_use_braces() -> None:
    assert _wiki("x", Text("y", strong=True), "z") == "x{*}y{*}z"
    assert _wiki("a", Text(" both ", strong=True, em=True), "!") == "a *_both_* \\!"


def test_wiki_links_and_mentions() -> None:
    assert _wiki(Link("a|b", "https://e.org/x y|z[1]")) == (
        "[a&#124;b|https://e.org/x%20y%7Cz%5B1%5D]"
    )
    assert _wiki(Link("", "https://e.org")) == "[https://e.org]"
    assert _wiki(Link("x", "javascript:alert(1)")) == "x \\(javascript:alert\\(1\\)\\)"
    assert _wiki(Mention("Anna", "anna.s@acme")) == "[~anna.s@acme]"
    assert _wiki(Mention("Ivan Petrov", "bad]name")) == "Ivan Petrov"
    assert _wiki(Mention("Oleg")) == "Oleg"


def test_wiki_task_items_use_the_tick_emoticon_and_an_empty_box() -> None:
    tasks = TaskList((TaskItem(text("done"), "a", True), TaskItem((), "b")))
    assert to_wiki(Document(intro=(tasks,))) == f"* {WIKI_DONE_MARK} done\n* {WIKI_TODO_MARK}"
    assert (WIKI_DONE_MARK, WIKI_TODO_MARK) == ("(/)", "( )")


def test_wiki_table_cells_are_never_empty_and_never_split() -> None:
    table = Table(("A", ""), (((Text("x|y\nz"),),),))
    assert to_wiki(Document(intro=(table,))) == "||A|| ||\n|x&#124;y\\\\ z| |"


def test_wiki_leaves_out_empty_headings_items_and_paragraphs() -> None:
    doc = Document(intro=(heading(2, " "), paragraph("\n"), BulletList(((), text("a")))))
    assert to_wiki(doc) == "* a"


# --- Trello ------------------------------------------------------------------------------------


def _md(*parts: str | Inline) -> str:
    return to_trello(Document(intro=(paragraph(*parts),))).desc


def test_trello_escapes_inline_markup() -> None:
    assert _md("**x** _y_ `z` [a](evil) <b> a|b ~~s~~ &amp; #tag") == (
        "\\*\\*x\\*\\* \\_y\\_ \\`z\\` \\[a\\](evil) \\<b> a\\|b \\~\\~s\\~\\~ \\&amp; #tag"
    )


def test_trello_escapes_what_would_open_a_block_at_a_line_start() -> None:
    assert _md("# h\n- li\n+ li\n> q\n1. ol\n2) ol\n===\n    code") == (
        "\\# h\n\\- li\n\\+ li\n\\> q\n1\\. ol\n2\\) ol\n\\===\ncode"
    )


def test_trello_list_item_lines_stay_in_the_item() -> None:
    doc = Document(intro=(BulletList((text("a\n# b"),)),))
    assert to_trello(doc).desc == "- a\n  \\# b"


def test_trello_task_lists_outside_checklists_are_markdown_tasks() -> None:
    tasks = TaskList((TaskItem(text("done"), "a", True), TaskItem(text("[ ] todo"), "b")))
    assert to_trello(Document(intro=(tasks,))).desc == "- [x] done\n- [ ] \\[ \\] todo"


def test_trello_heading_keeps_trailing_hashes_and_one_line() -> None:
    doc = Document(intro=(heading(3, "C #"), heading(2, "a\nb")))
    assert to_trello(doc).desc == "### C \\#\n\n## a b"


def test_trello_links_and_mentions() -> None:
    assert _md(Link("a]b", "https://e.org/a_(b) c")) == "[a\\]b](https://e.org/a_%28b%29%20c)"
    assert _md(Link("", "https://e.org")) == "[https://e.org](https://e.org)"
    assert _md("See!", Link("x", "https://e.org")) == "See\\![x](https://e.org)"
    assert _md(Link("x", "data:text/html,hi")) == "x (data:text/html,hi)"
    assert _md(Mention("Anna", "anna_s")) == "@anna_s"
    assert _md(Mention("Anna *S*", "557058:anna")) == "Anna \\*S\\*"


def test_trello_table_has_a_header_row_even_without_titles() -> None:
    table = Table((), (((Text("a|b\nc"),), (Text("", strong=True),)),))
    assert to_trello(Document(intro=(table,))).desc == "|   |   |\n| --- | --- |\n| a\\|b c |   |"


def test_trello_checklist_items_take_owner_and_due_from_the_item() -> None:
    item = TaskItem(
        (
            Mention("Oleg"),
            Text(" asks "),
            Mention("Maria", "maria"),
            Text(" by\n"),
            DateRef(date(2026, 3, 2)),
            Text(" or "),
            DateRef(date(2026, 3, 9)),
            Link("", "https://e.org"),
        ),
        key="q",
    )
    doc = Document(sections=(Section("s", "Q", checklist=TaskList((item,))),))
    [checklist] = to_trello(doc).checklists
    # The first person is the owner: without an account, the item has no member.
    assert checklist.items == (
        ChecklistItem(
            name="Oleg asks @maria by 2026-03-02 or 2026-03-09https://e.org",
            checked=False,
            key="q",
            member=None,
            due=date(2026, 3, 2),
        ),
    )


def test_trello_section_that_is_only_a_checklist_has_no_heading_in_the_description() -> None:
    doc = Document(
        sections=(
            Section("a", "Agenda", checklist=TaskList((TaskItem(text("KPI"), "k"),))),
            Section("d", "Decisions", checklist=TaskList(())),
            Section("n", "Notes"),
        )
    )
    body = to_trello(doc)
    assert body.desc == "## Notes"
    # An empty checklist is kept: decisions are added to it during the meeting.
    assert [(c.name, len(c.items)) for c in body.checklists] == [("Agenda", 1), ("Decisions", 0)]


def test_trello_checklists_not_kept_native_are_task_lines_in_the_description() -> None:
    doc = Document(
        sections=(
            Section("r", "Round table", checklist=TaskList((TaskItem(text("Anna"), "a"),))),
            Section("d", "Decisions", (paragraph("Agreed:"),), TaskList(()), collects=True),
        )
    )
    body = to_trello(doc, native=lambda section: section.collects)
    assert body.desc == "## Round table\n\n- [ ] Anna\n\n## Decisions\n\nAgreed:"
    assert body.checklists == (Checklist("Decisions", ()),)


def test_trello_description_is_cut_at_a_line_end_with_a_note() -> None:
    doc = Document(intro=tuple(paragraph(f"line {n}") for n in range(5)))
    body = to_trello(doc, limit=30, truncation_note="\n[cut]")
    assert body.desc == "line 0\n\nline 1\n\nline 2\n[cut]"


def test_trello_description_limit_counts_utf16_units() -> None:
    # Each emoji is two UTF-16 units: 39 units of room (40 minus the note) hold 19 of them.
    assert truncate("😀" * 30, limit=40, note="…") == "😀" * 19 + "…"


def test_trello_hard_cut_never_leaves_a_dangling_escape() -> None:
    assert truncate("ab\\\\cd", limit=4, note="!") == "ab!"


def test_a_cut_comment_keeps_its_closing_planerka_tag() -> None:
    doc = Document(intro=(*(paragraph(f"строка {n}") for n in range(50)),
                          paragraph("planerka:confirmation:meeting-weekly-20261130T0700Z")))
    desc = to_trello(doc, limit=120, truncation_note="\n[cut]").desc
    assert desc.endswith("[cut]\n\nplanerka:confirmation:meeting-weekly-20261130T0700Z")
    assert desc.startswith("строка 0") and len(desc) <= 120


@given(st.integers(60, 400))
def test_a_closing_tag_survives_any_cut(limit: int) -> None:
    tag = "planerka:progress:meeting-weekly-20261130T0700Z"
    desc = truncate("x\n" * 500 + "\n\n" + tag, limit=limit, note="\n…")
    assert desc.endswith(tag) and len(desc) <= limit


def test_trello_long_description_fits_the_default_limit() -> None:
    desc = to_trello(Document(intro=(paragraph("x" * 10_000 + "\n" + "y" * 10_000),))).desc
    assert desc == "x" * 10_000 + TRUNCATION_NOTE
    assert len(desc) <= TRELLO_DESC_LIMIT


# --- plain text --------------------------------------------------------------------------------


def test_plain_list_continuation_lines_are_indented() -> None:
    doc = Document(
        intro=(
            BulletList((text("a\nb"),)),
            TaskList((TaskItem(text("c\n  d"), "k", True),)),
        )
    )
    assert to_plain(doc) == "- a\n  b\n\n[x] c\n    d"


def test_plain_table_columns_are_aligned_for_wide_characters() -> None:
    table = Table(("名前", "n"), (((Text("ab"),), (Text("1"),)),))
    assert to_plain(Document(intro=(table,))) == "名前 | n\n-----+--\nab   | 1"


# --- properties over arbitrary documents -------------------------------------------------------

SPECIALS = [
    "", " ", "\n", "\r\n", "\u2028", "\x85", "\t", "    ", "*", "**", "_", "#", "# ", "h1. ",
    "bq. ", "\nh1. X", "\n# X", "[", "](evil)", "[a](https://evil.example)",
    "[x](javascript:alert(1))", "[a|b]", "|", "||", "{code}", "{*}", "-", "---", "\\", "\\\\",
    "&#91;", "&amp;", ":P", "(/)", "(x)", "[~admin]", "<b>", "`", "```", "~~", "1. ", "2) ", ">",
    "=", "===", "@here", "[ ]", "!", "+", "^", "?", "😀", "Ёж", "名前", "\u0301",
]
URLS = [
    "", "https://example.org/a b", "https://e.org/x)y|z]w", "javascript:alert(1)",
    "mailto:a@example.org", "http://[x", "data:text/html,hi", " https://e.org ",
]
ACCOUNTS = ["anna", "557058:anna", "anna.s@acme", "bad]name", "", "a b"]

texts = texts_from(SPECIALS)
documents = documents_from(SPECIALS, URLS, ACCOUNTS)


# The official schema costs ~0.2 s per document: fewer examples keep the suite quick.
@settings(max_examples=60, deadline=None)
@given(documents)
def test_adf_of_any_document_is_valid(doc: Document) -> None:
    assert_valid_adf(to_adf(doc))


@settings(max_examples=200, deadline=None)
@given(documents)
def test_every_renderer_takes_any_document(doc: Document) -> None:
    assert isinstance(to_wiki(doc), str)
    assert isinstance(to_plain(doc), str)
    body = to_trello(doc)
    assert len(body.desc.encode("utf-16-le")) // 2 <= TRELLO_DESC_LIMIT
    for checklist in body.checklists:
        assert all("\n" not in item.name and "\r" not in item.name for item in checklist.items)


# What each format shows: the counts below come from the document model, never from the output,
# so a line or link smuggled in through user text makes them differ.

_WIKI_USER = re.compile(r"[^\[\]|{}\s]+")
_TRELLO_USER = re.compile(r"[A-Za-z0-9_]+")


def _visible(content: tuple[Inline, ...], username: re.Pattern[str]) -> bool:
    """Whether inline content shows anything but whitespace in a text format."""
    return any(_node_visible(node, username) for node in content)


def _node_visible(node: Inline, username: re.Pattern[str]) -> bool:
    if isinstance(node, Text):
        return bool(node.text.strip())
    if isinstance(node, Link):
        return bool((node.text + node.url).strip())
    if isinstance(node, Mention):
        return bool(node.account and username.fullmatch(node.account)) or bool(node.name.strip())
    return True


def _links(content: tuple[Inline, ...]) -> int:
    return sum(isinstance(node, Link) and is_safe_url(node.url) for node in content)


def _mentions(content: tuple[Inline, ...], username: re.Pattern[str]) -> int:
    return sum(
        isinstance(node, Mention) and bool(node.account and username.fullmatch(node.account))
        for node in content
    )


def _all_blocks(doc: Document) -> list[Block]:
    found = list(doc.intro)
    for section in doc.sections:
        found += [heading(2, section.title), *section.blocks]
        if section.checklist is not None:
            found.append(section.checklist)
    return found


def _inline_of(block: Block) -> list[tuple[Inline, ...]]:
    if isinstance(block, Heading | Paragraph):
        return [block.content]
    if isinstance(block, BulletList):
        return list(block.items)
    if isinstance(block, TaskList):
        return [item.content for item in block.items]
    return [(Text(title),) for title in block.header] + [cell for row in block.rows for cell in row]


@settings(max_examples=300, deadline=None)
@given(documents)
def test_user_text_cannot_add_structure_to_wiki_markup(doc: Document) -> None:
    wiki = to_wiki(doc)
    lines = [line for line in wiki.split("\n") if line]
    blocks = _all_blocks(doc)
    headings = sum(isinstance(b, Heading) and _visible(b.content, _WIKI_USER) for b in blocks)
    paragraphs = sum(isinstance(b, Paragraph) and _visible(b.content, _WIKI_USER) for b in blocks)
    items = sum(
        sum(_visible(item, _WIKI_USER) for item in b.items) if isinstance(b, BulletList)
        else len(b.items) if isinstance(b, TaskList) else 0
        for b in blocks
    )
    rows = sum(
        (bool(b.header) + len(b.rows)) if isinstance(b, Table) and (b.header or any(b.rows)) else 0
        for b in blocks
    )
    assert sum(bool(re.match(r"h[1-6]\. ", line)) for line in lines) == headings
    assert sum(line.startswith("* ") for line in lines) == items
    assert sum(line.startswith("|") for line in lines) == rows
    assert len(lines) == headings + paragraphs + items + rows  # no user line break got through
    assert not any(re.match(r"\s*(bq\.|[#\-]|h[1-6]\.\S)", line) for line in lines)
    inline = [c for b in blocks for c in _inline_of(b)]
    links = sum(_links(c) + _mentions(c, _WIKI_USER) for c in inline)
    assert wiki.count("[") == links
    assert all(m.group() in ("{*}", "{_}") for m in re.finditer(r"(?<!\\)\{.{0,2}", wiki))


@settings(max_examples=300, deadline=None)
@given(documents)
def test_user_text_cannot_add_structure_to_trello_markdown(doc: Document) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    tokens = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(
        to_trello(doc).desc
    )
    kinds = [token.type for token in tokens]
    children = [child.type for token in tokens for child in token.children or []]
    in_desc = list(doc.intro)
    for section in doc.sections:
        if section.blocks or section.checklist is None:
            in_desc += [heading(2, section.title), *section.blocks]
    headings = sum(isinstance(b, Heading) and _visible(b.content, _TRELLO_USER) for b in in_desc)
    items = sum(
        sum(_visible(item, _TRELLO_USER) for item in b.items) if isinstance(b, BulletList)
        else len(b.items) if isinstance(b, TaskList) else 0
        for b in in_desc
    )
    tables = [b for b in in_desc if isinstance(b, Table) and (b.header or any(b.rows))]
    links = sum(_links(c) for b in in_desc for c in _inline_of(b))
    assert kinds.count("heading_open") == headings
    assert kinds.count("list_item_open") == items
    assert kinds.count("table_open") == len(tables)
    assert kinds.count("tr_open") == sum(1 + len(t.rows) for t in tables)
    assert children.count("link_open") == links
    unwanted = {"blockquote_open", "ordered_list_open", "code_block", "fence", "hr", "html_block"}
    assert not unwanted & set(kinds)
    assert not {"image", "code_inline", "html_inline", "s_open"} & set(children)
