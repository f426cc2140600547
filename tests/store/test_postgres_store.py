"""The state DB on a real PostgreSQL server (started by tests/store/pg.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from planerka_sync.store import Store, head_revision, open_store
from planerka_sync.store.models import Decision, DecisionSource, Meeting
from tests.store.pg import DB_PASSWORD
from tests.store.schema_checks import (
    EXPECTED_TABLES,
    alembic_versions,
    open_in_parallel_processes,
    schema_drift,
    table_names,
)

pytestmark = pytest.mark.postgres

STARTS_AT = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)


def a_meeting(marker: str = "planerka:m-1") -> Meeting:
    return Meeting(series_id="weekly", starts_at=STARTS_AT, tracker="jira", marker=marker)


def test_migration_creates_every_table(pg_url: str) -> None:
    with open_store(pg_url) as store:
        assert table_names(store.engine) >= EXPECTED_TABLES
        assert alembic_versions(store.engine) == [head_revision()]


def test_decisions_leave_room_for_status_updates_in_place(pg_url: str) -> None:
    """Migration 0006: the status pull rewrites decisions' status columns; fillfactor 70 lets
    PostgreSQL keep the new row in the same page without touching the indexes."""
    from sqlalchemy import text

    with open_store(pg_url) as store, store.engine.connect() as connection:
        options = connection.execute(text(
            "SELECT reloptions FROM pg_class WHERE relname = 'decisions'")).scalar_one()
    assert options is not None and "fillfactor=70" in options


def test_models_match_the_migrations(pg_url: str) -> None:
    with open_store(pg_url) as store:
        assert schema_drift(store.engine) == []


def test_store_url_hides_the_password(pg_url: str) -> None:
    with open_store(pg_url) as store:
        assert DB_PASSWORD not in store.url
        assert DB_PASSWORD not in repr(store)
        assert ":***@127.0.0.1:" in store.url


def test_bare_postgresql_scheme_uses_psycopg3(pg_url: str) -> None:
    with open_store(pg_url.replace("postgresql+psycopg://", "postgresql://")) as store:
        assert store.engine.dialect.driver == "psycopg"


def test_processes_migrating_a_fresh_database_at_once_all_succeed(pg_url: str) -> None:
    # Replicas starting together: without the advisory lock they collide on CREATE TABLE.
    assert open_in_parallel_processes(pg_url, 3) == ["ok"] * 3
    with open_store(pg_url) as store:
        assert alembic_versions(store.engine) == [head_revision()]


def test_constraints_hold(pg_url: str) -> None:
    with open_store(pg_url) as store:
        with store.session() as session:
            session.add(a_meeting())
        with pytest.raises(IntegrityError), store.session() as session:
            session.add(a_meeting(marker="planerka:m-2"))
        with pytest.raises(IntegrityError), store.session() as session:
            session.add(
                Decision(
                    meeting_id=999,
                    series_id="weekly",
                    source=DecisionSource.COMMENT,
                    source_ref="10001",
                    line_hash="b" * 64,
                    text="x",
                    marker="planerka:d-1",
                )
            )


def test_datetimes_come_back_as_utc(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store_meeting_at(store, datetime(2025, 3, 3, 10, 0, tzinfo=timezone(timedelta(hours=3))))
        with store.session() as session:
            meeting = session.scalars(select(Meeting)).one()
        assert meeting.starts_at == STARTS_AT
        assert meeting.starts_at.tzinfo is UTC


def store_meeting_at(store: Store, starts_at: datetime) -> None:
    with store.session() as session:
        meeting = a_meeting()
        meeting.starts_at = starts_at
        session.add(meeting)
