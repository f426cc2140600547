"""The state DB schema: what planerka-sync created where, and what it has seen since.

Portable across SQLite and PostgreSQL: enumerations are VARCHAR + CHECK (no native ENUM types,
so one migration serves both engines and adding a value is a plain batch migration), datetimes
are timezone-aware UTC on the Python side whatever the engine stores, and every constraint has a
name (SQLite batch migrations can only drop constraints they can name).

Any change here needs a new migration in ``migrations/versions``; ``tests/store`` compares the
models with the migrated schema and fails if they drift.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Attachment",
    "AttachmentKind",
    "Base",
    "CommentKind",
    "Decision",
    "DecisionSource",
    "DecisionState",
    "Job",
    "JobKind",
    "JobState",
    "KpiValue",
    "Lease",
    "Meeting",
    "MeetingState",
    "PostedComment",
    "RateBudget",
    "StatusCategory",
    "SyncCursor",
    "TaskStatusHistory",
    "UTCDateTime",
    "utcnow",
]

# Fixed names: migrations (SQLite batch mode in particular) refer to constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Room to add enum values later without widening the column.
ENUM_LENGTH = 32
# Tracker ids, keys, markers, names: generous but bounded so PostgreSQL and SQLite agree.
ID_LENGTH = 255
URL_LENGTH = 2048
# sha256 hex digest.
HASH_LENGTH = 64


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive UTC
    text (which also keeps string order equal to time order) and come back tagged as UTC.
    Naive datetimes are refused: a local time stored as if it were UTC is a silent scheduling bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class MeetingState(enum.StrEnum):
    CREATING = "creating"
    CREATED = "created"
    FAILED = "failed"


class DecisionSource(enum.StrEnum):
    CHECKLIST = "checklist"
    DESCRIPTION = "description"
    COMMENT = "comment"
    CLI = "cli"
    FILE = "file"


class DecisionState(enum.StrEnum):
    PENDING = "pending"
    CREATING = "creating"
    CREATED = "created"
    FAILED = "failed"
    PARSE_ERROR = "parse_error"


class StatusCategory(enum.StrEnum):
    """Jira's three status categories; Trello maps onto them (dueComplete / done list = done)."""

    NEW = "new"
    INDETERMINATE = "indeterminate"
    DONE = "done"


class CommentKind(enum.StrEnum):
    CONFIRMATION = "confirmation"
    PROGRESS = "progress"
    KPI = "kpi"
    AGENDA = "agenda"


class AttachmentKind(enum.StrEnum):
    ICS = "ics"
    CHART = "chart"


class JobKind(enum.StrEnum):
    PREPARE = "prepare"
    PROGRESS = "progress"
    SYNC = "sync"


class JobState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    """VARCHAR + named CHECK constraint storing the enum's values (not its Python names)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=ENUM_LENGTH,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamps:
    """Row bookkeeping, set in Python so both engines store the same UTC values."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Meeting(Timestamps, Base):
    """One occurrence of a series and the tracker item (issue/card) made for it."""

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("series_id", "starts_at"),
        # A webhook names the card/issue by id (Trello, Jira) or key (Jira): found by index.
        Index(None, "item_id"),
        Index(None, "item_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Free text, not an enum: third-party tracker adapters register their own kinds.
    tracker: Mapped[str] = mapped_column(String(ENUM_LENGTH))
    # Unknown until the tracker has created the item (state "creating" = intent recorded).
    item_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    item_key: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    item_url: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    state: Mapped[MeetingState] = mapped_column(
        str_enum(MeetingState, "state"), default=MeetingState.CREATING
    )
    error: Mapped[str | None] = mapped_column(Text)
    # Carried by the tracker item, so a crash while "creating" is resolved by searching for it.
    marker: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Hash of the rendered agenda last written: re-prepare skips the update when it is unchanged.
    agenda_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    # When the item's create was sent and got no clear answer: in doubt until the tracker shows
    # the item or tracker.settle_after has passed (search may lag behind the create).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Decision(Timestamps, Base):
    """A decision line taken from a meeting and the task created for it."""

    __tablename__ = "decisions"
    __table_args__ = (
        # The same line read again (next sync, re-run) maps onto the same row.
        UniqueConstraint("meeting_id", "source", "source_ref", "line_hash"),
        Index(None, "meeting_id", "state"),
        Index(None, "task_id"),
        Index(None, "task_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    # Denormalised from the meeting: progress reports are per series.
    series_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    source: Mapped[DecisionSource] = mapped_column(str_enum(DecisionSource, "source"))
    # Tracker id of the check item / comment / ADF task item; a file path or "cli" otherwise.
    # Not nullable: NULLs never collide in a unique constraint, which would defeat deduplication.
    source_ref: Mapped[str] = mapped_column(String(ID_LENGTH))
    # One comment may hold several decision lines; the hash tells them apart.
    line_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    text: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    owner_person_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    due: Mapped[date | None] = mapped_column(Date)
    marker: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    state: Mapped[DecisionState] = mapped_column(
        str_enum(DecisionState, "state"), default=DecisionState.PENDING
    )
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    task_key: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    task_url: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    # The task's latest known status; its past lives in task_status_history.
    status_category: Mapped[StatusCategory | None] = mapped_column(
        str_enum(StatusCategory, "status_category")
    )
    status_name: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the last create was sent: a row ``creating`` is in doubt until the tracker shows the
    # task (found by its marker) or the settle time since then has passed.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The link back to the meeting is a step of its own after the create; NULL = not done yet.
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    link_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TaskStatusHistory(Base):
    """Append-only: every status a task was seen in (done time, reopenings, due changes)."""

    __tablename__ = "task_status_history"
    __table_args__ = (Index(None, "decision_id", "observed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    status_category: Mapped[StatusCategory] = mapped_column(
        str_enum(StatusCategory, "status_category")
    )
    status_name: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    assignee: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    due: Mapped[date | None] = mapped_column(Date)
    # When we saw it vs. when the tracker says it changed (may be unknown, e.g. Trello dueComplete).
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KpiValue(Base):
    __tablename__ = "kpi_values"
    __table_args__ = (UniqueConstraint("series_id", "metric", "period_end"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    metric: Mapped[str] = mapped_column(String(ID_LENGTH))
    period_end: Mapped[date] = mapped_column(Date)
    # NULL = the source was asked but had no value; the report shows a gap, not a zero.
    value: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(ENUM_LENGTH))
    # Why the source had no value (a SourceFailure code); NULL when it had one.
    error: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PostedComment(Base):
    """The one comment of each kind on a meeting, so a re-run edits it instead of posting again."""

    __tablename__ = "posted_comments"
    __table_args__ = (UniqueConstraint("meeting_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    kind: Mapped[CommentKind] = mapped_column(str_enum(CommentKind, "kind"))
    # NULL while the post is in flight: the intent is recorded before the tracker call.
    comment_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Attachment(Base):
    """The meeting's .ics invite and KPI chart, replaced in place when their content changes."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("meeting_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    kind: Mapped[AttachmentKind] = mapped_column(str_enum(AttachmentKind, "kind"))
    attachment_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SyncCursor(Base):
    """Where the last incremental pull stopped, e.g. ``trello:board:<id>`` -> an ISO time."""

    __tablename__ = "sync_cursors"

    key: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Lease(Base):
    """A named lock with an expiry, so replicas sharing PostgreSQL split the series between them."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    holder: Mapped[str] = mapped_column(String(ID_LENGTH))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Who holds it, for the Busy message and for taking over from a dead process on this host.
    host: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    pid: Mapped[int | None] = mapped_column(Integer)


class Job(Base):
    """The daemon's ledger: one row per scheduled run, so a restart neither repeats nor skips it."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("series_id", "kind", "due_at"),
        Index(None, "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[JobKind] = mapped_column(str_enum(JobKind, "kind"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[JobState] = mapped_column(str_enum(JobState, "state"), default=JobState.PENDING)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    holder: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    error: Mapped[str | None] = mapped_column(Text)


class RateBudget(Base):
    """A tracker quota shared by every replica: requests taken in the current window, and until
    when the tracker asked everyone to wait (a 429's Retry-After). See ratelimit.SharedBudget.

    Times are Unix seconds (FLOAT) rather than datetimes, so that the one atomic UPDATE that
    takes a turn can do its window arithmetic in SQL the same way on SQLite and PostgreSQL.
    ``key`` names the credential by a hash (``trello-token:<sha256>``), never the secret.
    A token-bucket quota (Jira's) keeps in ``window_start`` the time its bucket is full again
    and leaves ``used`` at 0.
    """

    __tablename__ = "rate_budget"

    key: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float, default=0.0)
    used: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0)
