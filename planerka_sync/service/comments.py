"""The one comment of each kind per meeting item: posted once, then edited in place.

The intent (a ``posted_comments`` row) is recorded before the post; the comment carries a tag, so
if the process dies between posting and recording, the next run finds and edits it instead of
posting a second one.
"""

from __future__ import annotations

from sqlalchemy import select

from planerka_sync.domain.document import Document, Section, paragraph
from planerka_sync.domain.model import ItemRef, MeetingSnapshot
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
    comment_id = app.tracker.put_comment(ref, doc, existing)
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
