"""Size budgets: what each tracker counts, and condensing that always fits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.document import BulletList, Document, Section, Text, paragraph
from planerka_sync.render.budget import (
    JIRA_TEXT_LIMIT,
    TRELLO_TEXT_LIMIT,
    adf_size,
    fit,
    fits,
    jira_body,
    size_of,
    trello_body,
    utf16_size,
)
from planerka_sync.render.plain import to_plain


def long_doc(items: int, width: int = 60) -> Document:
    lines = tuple((Text(f"Решение {i}: " + "х" * width),) for i in range(items))
    return Document((paragraph("Итого"),), (Section("s", "Раздел", (BulletList(lines),)),))


def test_sizes_count_as_the_services_do() -> None:
    assert utf16_size("😀a") == 3
    assert adf_size({"text": "ё"}) == len('{"text":"ё"}')


def test_a_document_that_fits_is_left_alone() -> None:
    doc = long_doc(3)
    assert fit(doc, lambda d: fits(d, "adf")) is doc


def test_a_long_document_keeps_its_first_items_and_says_how_many_more() -> None:
    doc = long_doc(2000)
    assert not fits(doc, "wiki")
    fitted = fit(doc, lambda d: fits(d, "wiki"))
    assert fits(fitted, "wiki")
    text = to_plain(fitted)
    assert "Решение 0:" in text and "more of 2000 not shown" in text


def test_trello_marker_is_inside_the_limit_and_survives() -> None:
    marker = "\n\n`planerka:meeting:x`"
    body = trello_body(long_doc(2000), native=lambda _: False, suffix=marker)
    assert utf16_size(body.desc) <= TRELLO_TEXT_LIMIT and body.desc.endswith(marker)


@settings(max_examples=25, deadline=None)
@given(items=st.integers(0, 1500), width=st.integers(0, 400),
       flavour=st.sampled_from(["trello", "adf", "wiki"]))
def test_every_body_fits(items: int, width: int, flavour: str) -> None:
    doc = long_doc(items, width)
    if flavour == "trello":
        assert utf16_size(trello_body(doc, native=lambda _: False).desc) <= TRELLO_TEXT_LIMIT
    elif flavour == "adf":
        assert adf_size(jira_body(doc, cloud=True)) <= JIRA_TEXT_LIMIT
    else:
        assert len(jira_body(doc, cloud=False)) <= JIRA_TEXT_LIMIT
    assert size_of(Document(), "adf") > 0
