"""The one comment of each kind per meeting item: posted once, then edited in place.

The intent (a ``posted_comments`` row) is recorded before the post; the comment carries a tag, so
if the process dies between posting and recording, the next run finds and edits it instead of
posting a second one.

A comment too long for the tracker (Jira: 32,767 characters of ADF JSON or wiki markup; Trello:
16,384) keeps its headline and the first items of every list, says how many more there are, and
the whole text goes into an attached HTML page (``planerka-<kind>-<series>-<date>.html``,
replaced in place). That was chosen over splitting into numbered comments "1/3, 2/3": a
marketing lead reads one comment with the totals and the most urgent lines, and opens one file
for the rest, instead of scrolling through parts that each hold a slice of a table; it also
needs no new state (parts would have to be edited, added and deleted across runs).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from planerka_sync.domain.document import Block, Document, Section, paragraph
from planerka_sync.domain.model import Attachment, ItemRef, MeetingSnapshot
from planerka_sync.render.budget import Flavour, fit, fits, size_of
from planerka_sync.render.html import html_page, to_html_fragment
from planerka_sync.service.app import App
from planerka_sync.store.models import CommentKind, Meeting, PostedComment


def tag(kind: CommentKind, meeting: Meeting) -> str:
    return f"planerka:{kind.value}:{meeting.marker}"


def tagged(doc: Document, kind: CommentKind, meeting: Meeting) -> Document:
    """The document with its tag as the last paragraph."""
    line = paragraph(tag(kind, meeting))
    if doc.sections:
        last = doc.sections[-1]
        sections = (*doc.sections[:-1], Section(last.key, last.title, (*last.blocks, line),
                                                 last.checklist))
        return Document(doc.intro, sections)
    return Document((*doc.intro, line), ())


def post_once(
    app: App, meeting: Meeting, ref: ItemRef, kind: CommentKind, doc: Document,
    snapshot: MeetingSnapshot | None,
) -> bool:
    """Post or edit this meeting's comment of this kind; False when it already says this."""
    doc = tagged(doc, kind, meeting)
    content = doc.fingerprint()
    with app.store.session() as session:
        posted = session.scalar(select(PostedComment).where(
            PostedComment.meeting_id == meeting.id, PostedComment.kind == kind))
        if posted is not None and posted.content_hash == content and posted.comment_id:
            return False
        if posted is None:
            posted = PostedComment(meeting_id=meeting.id, kind=kind)
            session.add(posted)
    existing = posted.comment_id or _find_tagged(app, ref, snapshot, tag(kind, meeting))
    comment_id = app.tracker.put_comment(ref, _within_budget(app, meeting, ref, kind, doc),
                                         existing)
    with app.store.session() as session:
        row = session.get_one(PostedComment, posted.id)
        row.comment_id, row.content_hash, row.posted_at = comment_id, content, app.clock()
    return True


def _find_tagged(
    app: App, ref: ItemRef, snapshot: MeetingSnapshot | None, wanted: str
) -> str | None:
    """Our comment found by its tag, when the DB lost its id (a crash right after posting, a new
    DB): only one written by planerka-sync's own account, never a person's that quotes it."""
    snapshot = snapshot or app.tracker.read_meeting(ref)
    tagged = [c for c in snapshot.comments if wanted in c.text]
    if not tagged:
        return None
    me = app.tracker.me()
    return next((c.id for c in tagged if c.author is None or c.author == me), None)


def flavour(app: App) -> Flavour:
    """How the tracker's comments are written, hence how their size is counted."""
    if app.tracker.kind == "trello":
        return "trello"
    return "adf" if getattr(app.tracker, "cloud", False) else "wiki"


def _within_budget(app: App, meeting: Meeting, ref: ItemRef, kind: CommentKind,
                   doc: Document) -> Document:
    """``doc`` when it fits; else the full text attached and a condensed comment that points
    to it. The tag (the last paragraph) is kept: a re-run finds the comment by it."""
    how = flavour(app)
    if fits(doc, how):
        return doc
    name = detail_file_name(app, meeting, kind)
    _attach_details(app, ref, name, doc)
    ru = app.locale == "ru"

    def note(shown: int, total: int) -> str:
        if ru:
            return f"… и ещё {total - shown} из {total} — полностью во вложении {name}"
        return f"… and {total - shown} more of {total} — all of it in the attached {name}"

    tag_line = doc.sections[-1].blocks[-1] if doc.sections else doc.intro[-1]
    untagged = _without_tag(doc)
    reserve = fits_reserve(Document((tag_line,)), how)
    condensed = fit(untagged, lambda d: fits(d, how, reserve), note)
    return _retag(condensed, tag_line)


def detail_file_name(app: App, meeting: Meeting, kind: CommentKind) -> str:
    day = meeting.starts_at.astimezone(ZoneInfo(app.config.timezone)).date()
    return f"planerka-{kind.value}-{meeting.series_id}-{day:%Y%m%d}.html"


def _attach_details(app: App, ref: ItemRef, name: str, doc: Document) -> None:
    page = html_page(name.removesuffix(".html"), [to_html_fragment(doc)], lang=app.locale)
    replace = app.tracker.read_meeting(ref).attachments.get(name)
    app.tracker.attach(ref, Attachment(name, page.encode("utf-8"), "text/html"), replace)


def fits_reserve(tag_doc: Document, how: Flavour) -> int:
    """Room the tag paragraph takes, with the blank line before it."""
    return size_of(tag_doc, how) + 4


def _without_tag(doc: Document) -> Document:
    if doc.sections:
        last = doc.sections[-1]
        return Document(doc.intro, (*doc.sections[:-1],
                                    Section(last.key, last.title, last.blocks[:-1],
                                            last.checklist)))
    return Document(doc.intro[:-1], ())


def _retag(doc: Document, line: Block) -> Document:
    if doc.sections:
        last = doc.sections[-1]
        return Document(doc.intro, (*doc.sections[:-1],
                                    Section(last.key, last.title, (*last.blocks, line),
                                            last.checklist)))
    return Document((*doc.intro, line), ())
