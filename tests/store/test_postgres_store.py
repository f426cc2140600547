"""The state DB on a real PostgreSQL server (started by tests/store/pg.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
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


def test_a_pull_rewriting_every_status_keeps_each_row_in_its_page(pg_url: str) -> None:
    """Migrations 0006/0007: the first status pull rewrites every decision's status columns.
    With more than half of each page free (fillfactor 45) PostgreSQL writes each new row version
    beside the old one (a HOT update) and touches none of the table's indexes; at 70, 425 of the
    1,000 were, at 50, 900."""
    with open_store(pg_url) as store, store.engine.begin() as connection:
        meeting = connection.execute(text(
            "INSERT INTO meetings (series_id, starts_at, tracker, state, marker, created_at,"
            " updated_at) VALUES ('weekly', now(), 'jira', 'created', 'planerka:m-1', now(),"
            " now()) RETURNING id")).scalar_one()
        connection.execute(text(
            "INSERT INTO decisions (meeting_id, series_id, source, source_ref, line_hash, text,"
            " title, marker, state, attempts, task_id, task_url, link_attempts, created_at,"
            " updated_at) SELECT :meeting, 'weekly', 'checklist', 'item' || i, md5(i::text),"
            " 'Task ' || i, 'Task ' || i, 'planerka-d-' || i, 'created', 1, 'card' || i,"
            " 'https://trello.test/c/' || i, 0, now(), now() FROM generate_series(1, 1000) i"),
            {"meeting": meeting})
    with store.engine.begin() as connection:
        connection.execute(text(
            "UPDATE decisions SET status_category = 'done', status_name = 'Done',"
            " status_changed_at = now(), done_at = now(), updated_at = now()"))
        updated, hot = connection.execute(text(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
            " WHERE relname = 'decisions'")).one()
    assert updated == 1000
    assert hot == updated


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
