"""Hypothesis strategies shared by the renderer tests: arbitrary documents built from texts that
stress each markup (the callers pass their own special strings, URLs and accounts)."""

from __future__ import annotations

from collections.abc import Sequence

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
)


def texts_from(specials: Sequence[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(list(specials)),
        st.text(max_size=10),
        st.lists(st.sampled_from(list(specials)) | st.text(max_size=3), max_size=4).map("".join),
    )


def documents_from(
    specials: Sequence[str], urls: Sequence[str], accounts: Sequence[str] = ()
) -> st.SearchStrategy[Document]:
    texts = texts_from(specials)
    account = st.none() | texts
    if accounts:
        account = account | st.sampled_from(list(accounts))
    inlines: st.SearchStrategy[Inline] = st.one_of(
        st.builds(Text, texts, st.booleans(), st.booleans()),
        st.builds(Link, texts, st.sampled_from(list(urls)) | texts),
        st.builds(Mention, texts, account),
        st.builds(DateRef, st.dates()),
    )
    contents = st.lists(inlines, max_size=4).map(tuple)
    task_lists = st.lists(st.builds(TaskItem, contents, texts, st.booleans()), max_size=3).map(
        lambda items: TaskList(tuple(items))
    )
    tables = st.builds(
        Table,
        st.lists(texts, max_size=3).map(tuple),
        st.lists(st.lists(contents, max_size=3).map(tuple), max_size=3).map(tuple),
    )
    blocks: st.SearchStrategy[Block] = st.one_of(
        st.builds(Heading, st.integers(-1, 8), contents),
        st.builds(Paragraph, contents),
        st.builds(BulletList, st.lists(contents, max_size=3).map(tuple)),
        task_lists,
        tables,
    )
    sections = st.builds(
        Section, texts, texts, st.lists(blocks, max_size=3).map(tuple), st.none() | task_lists
    )
    return st.builds(
        Document, st.lists(blocks, max_size=3).map(tuple),
        st.lists(sections, max_size=3).map(tuple),
    )
