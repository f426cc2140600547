"""HTML renderer: one hand-built document, the escaping rules, the self-contained page, and
properties over arbitrary documents (always parses, tags balanced, user text never markup)."""

from __future__ import annotations

import base64
import re
from datetime import date
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.document import (
    BulletList,
    DateRef,
    Document,
    Heading,
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
from planerka_sync.render.html import html_page, to_html_fragment
from tests.strategies import documents_from, texts_from

VOID = frozenset({"br", "input", "img", "meta"})
# Every tag the renderer writes; anything else in the output came from user text.
KNOWN = VOID | {
    "html", "head", "title", "style", "body", "main", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "strong", "em",
    "a", "span", "time", "figure", "figcaption",
}  # fmt: skip


class TagChecker(HTMLParser):
    """Records tags, checks nesting (every close matches the innermost open) and collects the
    hrefs, image sources and the text a reader would see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.opened: dict[str, int] = {}
        self.closed: dict[str, int] = {}
        self.tags: set[str] = set()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.data: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.opened[tag] = self.opened.get(tag, 0) + 1
        values = dict(attrs)
        if tag == "a":
            self.hrefs.append(values.get("href") or "")
        if tag == "img":
            self.srcs.append(values.get("src") or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        self.closed[tag] = self.closed.get(tag, 0) + 1
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.data.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"unknown declaration {data!r}")


def parse(markup: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(markup)
    checker.close()
    return checker


def assert_well_formed(markup: str) -> TagChecker:
    checker = parse(markup)
    assert checker.problems == []
    assert checker.stack == []
    assert checker.comments == []
    assert checker.tags <= KNOWN, checker.tags - KNOWN
    for tag in ("section", "ul", "table"):
        assert checker.opened.get(tag, 0) == checker.closed.get(tag, 0), tag
    # Every raw "<" opens one of the renderer's own tags: user text holds only "&lt;".
    names = {name.lower() for name in re.findall(r"</?([^\s>/]*)", markup)}
    assert names <= KNOWN | {"!doctype"}, names - KNOWN
    return checker


# --- one hand-built document -------------------------------------------------------------------

DOC = Document(
    intro=(
        heading(1, "Планёрка"),
        paragraph("Ведёт ", Mention("Анна", "anna"), ", ", DateRef(date(2024, 5, 6)), "."),
    ),
    sections=(
        Section(
            "summary",
            "Итоги",
            (
                Paragraph((Text("Важно", strong=True), Text(": "), Text("вот", em=True))),
                BulletList((text("первый"), text("второй\nстрока"), text(" "))),
                Table(
                    ("Метрика", "Значение"),
                    (
                        (text("Визиты"), text("120")),
                        (text("ROI"),),
                    ),
                ),
            ),
            TaskList(
                (
                    TaskItem(text("Отчёт ", Link("доска", "https://example.org/b?a=1&b=2")), "t1"),
                    TaskItem(text("Письмо"), "t2", done=True),
                )
            ),
        ),
    ),
)


def test_fragment_of_a_small_document() -> None:
    assert to_html_fragment(DOC) == "\n".join(
        [
            "<h1>Планёрка</h1>",
            '<p>Ведёт <span class="mention">@Анна</span>, '
            '<time datetime="2024-05-06">2024-05-06</time>.</p>',
            "<section>",
            "<h2>Итоги</h2>",
            "<p><strong>Важно</strong>: <em>вот</em></p>",
            "<ul>",
            "<li>первый</li>",
            "<li>второй<br>строка</li>",
            "</ul>",
            "<table>",
            "<thead>",
            "<tr><th>Метрика</th><th>Значение</th></tr>",
            "</thead>",
            "<tbody>",
            "<tr><td>Визиты</td><td>120</td></tr>",
            "<tr><td>ROI</td><td></td></tr>",
            "</tbody>",
            "</table>",
            '<ul class="tasks">',
            '<li><input type="checkbox" disabled> Отчёт '
            '<a href="https://example.org/b?a=1&amp;b=2" rel="noopener">доска</a></li>',
            '<li><input type="checkbox" disabled checked> Письмо</li>',
            "</ul>",
            "</section>",
        ]
    )


def test_heading_levels_are_clamped_and_strong_em_nest() -> None:
    doc = Document(
        intro=(
            Heading(0, text("low")),
            Heading(9, text("high")),
            Paragraph((Text("both", strong=True, em=True),)),
        )
    )
    assert to_html_fragment(doc) == (
        "<h1>low</h1>\n<h6>high</h6>\n<p><strong><em>both</em></strong></p>"
    )


def test_empty_parts_are_left_out() -> None:
    doc = Document(
        intro=(
            heading(2, "  "),
            Paragraph((Text(" ", strong=True),)),
            BulletList((text(""), text("\n"))),
            TaskList(()),
            Table((), ()),
            Paragraph((Mention("  ", "anna"),)),
        )
    )
    assert to_html_fragment(doc) == ""
    section = Section("k", "", (), TaskList(()))
    assert to_html_fragment(Document(sections=(section,))) == "<section>\n</section>"


def test_table_without_header_has_no_thead() -> None:
    doc = Document(intro=(Table((), ((text("a"), text("b")),)),))
    assert (
        to_html_fragment(doc)
        == "<table>\n<tbody>\n<tr><td>a</td><td>b</td></tr>\n</tbody>\n</table>"
    )


# --- escaping ----------------------------------------------------------------------------------


def test_script_in_text_stays_text() -> None:
    doc = Document(
        intro=(paragraph("<script>alert(1)</script>"),),
        sections=(Section("k", "<script>x</script>", (heading(3, "<script>"),)),),
    )
    markup = to_html_fragment(doc)
    assert "<script" not in markup.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    checker = assert_well_formed(markup)
    assert "<script>alert(1)</script>" in "".join(checker.data)


def test_javascript_link_is_text_not_href() -> None:
    for url in ("javascript:alert(1)", " JavaScript:alert(1)", "java\nscript:alert(1)",
                "data:text/html,<script>alert(1)</script>", "vbscript:x"):  # fmt: skip
        markup = to_html_fragment(Document(intro=(paragraph(Link("click", url)),)))
        assert 'href="javascript' not in markup.lower()
        assert "href" not in markup
        assert "<script" not in markup.lower()
        assert markup.startswith("<p>click (")
        assert_well_formed(markup)


def test_safe_links_keep_their_url_escaped_in_the_attribute() -> None:
    cases = {
        'https://e.org/"><script>': 'href="https://e.org/&quot;&gt;&lt;script&gt;"',
        "mailto:a@example.org": 'href="mailto:a@example.org"',
        " http://e.org ": 'href="http://e.org"',
    }
    for url, expected in cases.items():
        markup = to_html_fragment(Document(intro=(paragraph(Link("", url)),)))
        assert expected in markup
        assert 'rel="noopener"' in markup
        assert "<script" not in markup
        checker = assert_well_formed(markup)
        assert checker.hrefs == [url.strip()]


def test_quotes_and_ampersands_are_escaped() -> None:
    doc = Document(intro=(paragraph(Text("a & b \"c\" 'd'"), Mention('<i>"x"</i>')),))
    assert to_html_fragment(doc) == (
        '<p>a &amp; b &quot;c&quot; &#x27;d&#x27;<span class="mention">@&lt;i&gt;&quot;x&quot;'
        "&lt;/i&gt;</span></p>"
    )


def test_every_line_end_is_a_break_and_controls_are_dropped() -> None:
    doc = Document(intro=(paragraph("a\r\nb\u2028c\rd\x00e\x1bf"),))
    assert to_html_fragment(doc) == "<p>a<br>b<br>c<br>def</p>"


# --- the page ----------------------------------------------------------------------------------

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_page_is_self_contained_html5() -> None:
    page = html_page(
        "Планёрка <6 мая>", [to_html_fragment(DOC), "<p>second</p>"], images=[("KPI", PNG)]
    )
    assert page.startswith('<!DOCTYPE html>\n<html lang="ru">')
    assert '<meta charset="utf-8">' in page
    assert "<title>Планёрка &lt;6 мая&gt;</title>" in page
    assert "<style>" in page and "max-width: 960px" in page
    assert page.index(to_html_fragment(DOC)) < page.index("<p>second</p>") < page.index("<figure>")
    checker = assert_well_formed(page)
    assert checker.tags >= {"html", "head", "body", "title", "style", "figure", "figcaption"}
    # Nothing fetched: no scripts, no stylesheets or fonts, no remote images.
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "url(" not in page and "@font-face" not in page
    # The only URLs are the document's own links.
    assert re.findall(r"https?://[^\s\"<>]*", page) == ["https://example.org/b?a=1&amp;b=2"]


def test_page_without_any_links_has_no_web_address() -> None:
    page = html_page(
        "t", [to_html_fragment(Document(intro=(paragraph("x"),)))], images=[("c", PNG)]
    )
    assert "http://" not in page and "https://" not in page
    assert "//" not in page.replace("data:image/png;base64,", "")


def test_images_are_embedded_as_data_urls() -> None:
    other = bytes(range(256)) * 3
    page = html_page("t", [], images=[("KPI <chart>", PNG), ("", other)])
    checker = assert_well_formed(page)
    prefix = "data:image/png;base64,"
    assert all(src.startswith(prefix) for src in checker.srcs)
    assert [base64.b64decode(src[len(prefix) :], validate=True) for src in checker.srcs] == [
        PNG,
        other,
    ]
    assert '<img alt="KPI &lt;chart&gt;"' in page
    assert "<figcaption>KPI &lt;chart&gt;</figcaption>" in page
    assert page.count("<figcaption>") == 1  # no empty caption for the second image


def test_page_title_and_lang_are_escaped() -> None:
    page = html_page('</title><script>x</script>\n"', [], lang='en"><script>')
    assert "<script" not in page
    assert_well_formed(page)
    assert '<html lang="en&quot;&gt;&lt;script&gt;">' in page


# --- properties over arbitrary documents -------------------------------------------------------

SPECIALS = [
    "", " ", "\n", "\r\n", "\u2028", "\x85", "\x00", "\x0c", "\t", "<", ">", "&", "&amp;", "&lt;",
    '"', "'", "<script>alert(1)</script>", "</section>", "</ul>", "<table>", "<!--", "-->",
    "<![CDATA[", "<?php", "<br/>", "</p>", "<a href='x'>", "javascript:alert(1)", "😀", "Ёж",
    "\u0301", "&#60;", "&#x3C;",
]  # fmt: skip
URLS = [
    "", "https://example.org/a b", 'https://e.org/"><b>', "javascript:alert(1)", "JAVASCRIPT:x",
    "mailto:a@example.org", "http://[x", "data:text/html,<b>hi</b>", " https://e.org ",
    "java\nscript:alert(1)", "//evil.example", "ftp://e.org",
]  # fmt: skip

texts = texts_from(SPECIALS)
documents = documents_from(SPECIALS, URLS)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_document_renders_to_well_formed_html(doc: Document) -> None:
    markup = to_html_fragment(doc)
    checker = assert_well_formed(markup)
    assert checker.opened.get("section", 0) == len(doc.sections)
    assert "<script" not in markup.lower()
    for href in checker.hrefs:
        assert re.match(r"(?i)(https?|mailto):", href), href


@settings(max_examples=50, deadline=None)
@given(documents, texts, st.lists(st.tuples(texts, st.binary(max_size=64)), max_size=3))
def test_any_page_is_well_formed_and_embeds_every_image(
    doc: Document, title: str, images: list[tuple[str, bytes]]
) -> None:
    page = html_page(title, [to_html_fragment(doc)], images=images)
    checker = assert_well_formed(page)
    assert "<script" not in page.lower()
    prefix = "data:image/png;base64,"
    assert [base64.b64decode(src.removeprefix(prefix)) for src in checker.srcs] == [
        data for _, data in images
    ]
