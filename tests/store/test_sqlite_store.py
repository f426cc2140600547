"""The state DB on SQLite: migration, connection settings, constraints, errors."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, create_engine, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from planerka_sync.errors import StateError
from planerka_sync.store import Store, default_database_url, head_revision, open_store
from planerka_sync.store.migrate import upgrade_to_head
from planerka_sync.store.models import (
    Base,
    Decision,
    DecisionSource,
    DecisionState,
    Meeting,
    MeetingState,
)
from tests.store.schema_checks import (
    EXPECTED_TABLES,
    alembic_versions,
    left_at,
    open_in_parallel_processes,
    schema_drift,
    table_names,
)

STARTS_AT = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state' / 'planerka.db'}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(sqlite_url(tmp_path)) as opened:
        yield opened


def a_meeting(**overrides: object) -> Meeting:
    fields: dict[str, object] = {
        "series_id": "weekly-marketing",
        "starts_at": STARTS_AT,
        "tracker": "trello",
        "marker": "planerka:m-weekly-marketing-20250303",
    }
    fields.update(overrides)
    return Meeting(**fields)


def a_decision(meeting: Meeting, **overrides: object) -> Decision:
    fields: dict[str, object] = {
        "meeting_id": meeting.id,
        "series_id": meeting.series_id,
        "source": DecisionSource.CHECKLIST,
        "source_ref": "check-item-1",
        "line_hash": "a" * 64,
        "text": "@anna landing page A/B test by 10.03",
        "marker": "planerka:d-1",
    }
    fields.update(overrides)
    return Decision(**fields)


def saved_meeting(store: Store, **overrides: object) -> Meeting:
    with store.session() as session:
        meeting = a_meeting(**overrides)
        session.add(meeting)
    return meeting


# --- migration -------------------------------------------------------------------------------


def test_fresh_file_gets_every_table_and_its_folder(tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path)) as store:
        assert table_names(store.engine) >= EXPECTED_TABLES
        assert set(Base.metadata.tables) == EXPECTED_TABLES
    assert (tmp_path / "state" / "planerka.db").is_file()


def test_opening_twice_is_idempotent(tmp_path: Path) -> None:
    open_store(sqlite_url(tmp_path)).close()
    saved_meeting(store := open_store(sqlite_url(tmp_path)))
    store.close()
    with open_store(sqlite_url(tmp_path)) as reopened:
        assert alembic_versions(reopened.engine) == [head_revision()] == ["0007"]
        with reopened.session() as session:
            assert session.scalar(select(Meeting.series_id)) == "weekly-marketing"


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file built by the migrations alone (open_store builds a new file from the
    models: tests/store/test_fresh_schema.py shows the two agree)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def test_models_match_the_migrations(migrated: Engine) -> None:
    # Fails when a model changes without a migration: write one (see migrations/env.py).
    assert schema_drift(migrated) == []


def test_drift_check_notices_a_model_change(migrated: Engine) -> None:
    # Guards the test above against passing vacuously.
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["meetings"].append_column(Column("room", Integer))
    assert [diff[0] for diff in schema_drift(migrated, changed)] == ["add_column"]


def test_processes_migrating_a_fresh_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Daemon and CLI starting together: without BEGIN IMMEDIATE one fails on CREATE TABLE.
    assert open_in_parallel_processes(sqlite_url(tmp_path), 3) == ["ok"] * 3


def test_threads_migrating_different_files_at_once_all_succeed(tmp_path: Path) -> None:
    # alembic's global proxies would mix the threads' connections up without the process lock.
    urls = [f"sqlite:///{tmp_path / str(n) / 'planerka.db'}" for n in range(4)]
    for url in urls:  # files an earlier release made: opening them runs alembic
        left_at(url, "0004")
    start = threading.Barrier(len(urls))

    def open_together(url: str) -> list[str]:
        start.wait(timeout=30)
        with open_store(url) as store:
            return alembic_versions(store.engine)

    with ThreadPoolExecutor(len(urls)) as pool:
        assert list(pool.map(open_together, urls)) == [["0007"]] * len(urls)


# --- connection settings ---------------------------------------------------------------------


def pragma(store: Store, name: str) -> object:
    with store.engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_journal_mode_is_wal(store: Store) -> None:
    assert pragma(store, "journal_mode") == "wal"


def test_foreign_keys_and_busy_timeout_are_set(store: Store) -> None:
    assert pragma(store, "foreign_keys") == 1
    assert pragma(store, "busy_timeout") == 5000


# --- constraints and types -------------------------------------------------------------------


def test_second_meeting_for_the_same_series_and_start_is_refused(store: Store) -> None:
    saved_meeting(store)
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(a_meeting(marker="planerka:other"))


def test_decision_marker_is_unique(store: Store) -> None:
    meeting = saved_meeting(store)
    with store.session() as session:
        session.add(a_decision(meeting))
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(a_decision(meeting, source_ref="check-item-2"))


def test_same_decision_line_is_stored_once_per_meeting(store: Store) -> None:
    meeting = saved_meeting(store)
    with store.session() as session:
        session.add(a_decision(meeting))
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(a_decision(meeting, marker="planerka:d-2"))


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(a_decision(a_meeting(), meeting_id=999))


def test_state_outside_its_enum_is_refused_by_the_database(store: Store) -> None:
    meeting = saved_meeting(store)
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(
            text("UPDATE meetings SET state = 'bogus' WHERE id = :id"), {"id": meeting.id}
        )


def test_defaults_and_enums_round_trip(store: Store) -> None:
    meeting = saved_meeting(store)
    with store.session() as session:
        session.add(a_decision(meeting, due=date(2025, 3, 10)))
    with store.session() as session:
        decision = session.scalars(select(Decision)).one()
        assert decision.state is DecisionState.PENDING
        assert decision.state == "pending"
        assert decision.attempts == 0
        assert decision.due == date(2025, 3, 10)
        reread = session.get(Meeting, meeting.id)
        assert reread is not None
        assert reread.state is MeetingState.CREATING


def test_datetimes_come_back_as_utc(store: Store) -> None:
    moscow = timezone(timedelta(hours=3))
    saved_meeting(store, starts_at=datetime(2025, 3, 3, 10, 0, tzinfo=moscow))
    with store.session() as session:
        meeting = session.scalars(select(Meeting)).one()
    assert meeting.starts_at == STARTS_AT
    assert meeting.starts_at.tzinfo is UTC
    assert meeting.created_at.tzinfo is UTC


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"), store.session() as session:
        session.add(a_meeting(starts_at=datetime(2025, 3, 3, 10, 0)))


def test_session_rolls_back_when_the_block_raises(store: Store) -> None:
    with pytest.raises(RuntimeError), store.session() as session:
        session.add(a_meeting())
        session.flush()
        raise RuntimeError("crash after the intent was written")
    with store.session() as session:
        assert session.scalars(select(Meeting)).all() == []


# --- errors ----------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "invalid state database URL"),
        ("nosuchdb://anna:hunter2@db.example/x", "unsupported state database URL"),
        ("mysql://anna:hunter2@db.example/x", "unsupported state database URL"),
    ],
)
def test_bad_url_is_a_state_error(url: str, says: str) -> None:
    with pytest.raises(StateError) as caught:
        open_store(url)
    assert says in caught.value.message
    assert "config `database:`" in caught.value.message
    assert "hunter2" not in str(caught.value)


def test_unreachable_server_is_a_state_error_without_the_password() -> None:
    port = closed_port()
    with pytest.raises(StateError) as caught:
        open_store(f"postgresql+psycopg://anna:hunter2@127.0.0.1:{port}/planerka")
    message = caught.value.message
    assert f"postgresql+psycopg://anna:***@127.0.0.1:{port}/planerka" in message
    assert "or that the server is running" in message
    assert "\n" not in message
    assert "hunter2" not in message
    assert "hunter2" not in (caught.value.detail or "")


def test_unwritable_path_is_a_state_error(tmp_path: Path) -> None:
    # A file where a folder should be: fails even for root, unlike permission bits.
    (tmp_path / "not-a-folder").write_text("")
    url = f"sqlite:///{tmp_path / 'not-a-folder' / 'state' / 'planerka.db'}"
    with pytest.raises(StateError) as caught:
        open_store(url)
    assert caught.value.message.startswith(f"cannot open the state database {url} (")
    assert "check the database URL in config `database:`" in caught.value.message


def test_schema_from_a_newer_version_is_a_state_error(tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path)) as store, store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StateError, match="upgrade planerka-sync"):
        open_store(sqlite_url(tmp_path))


# --- default location ------------------------------------------------------------------------


def test_default_url_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/srv/state")
    assert default_database_url() == "sqlite:////srv/state/planerka-sync/planerka.db"


@pytest.mark.parametrize("value", [None, "", "relative/state"])
def test_default_url_falls_back_to_local_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if value is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", value)
    expected = tmp_path / ".local" / "state" / "planerka-sync" / "planerka.db"
    assert default_database_url() == f"sqlite:///{expected}"
