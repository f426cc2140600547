"""A new SQLite state DB is built from the models (create_all + the head's version row), not by
running every migration: it must be the same database the migrations build, or the next
migration would meet a schema it was not written for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text

from planerka_sync.store import head_revision, open_store
from planerka_sync.store.migrate import alembic_config, upgrade_to_head
from tests.store.schema_checks import EXPECTED_TABLES, alembic_versions, left_at


def schema_of(engine: Engine) -> dict[str, Any]:
    """Every table's columns (by name: their order differs, as ALTER TABLE appends), keys,
    constraints and indexes, as SQLite reports them."""
    found = inspect(engine)
    schema: dict[str, Any] = {}
    for table in found.get_table_names():
        with engine.connect() as connection:
            columns = {row[1]: row[2:] for row in
                       connection.exec_driver_sql(f"PRAGMA table_info({table})")}
        schema[table] = {
            "columns": columns,
            "primary_key": found.get_pk_constraint(table),
            "foreign_keys": sorted(map(repr, found.get_foreign_keys(table))),
            "unique": sorted(map(repr, found.get_unique_constraints(table))),
            "checks": sorted(map(repr, found.get_check_constraints(table))),
            "indexes": sorted(map(repr, found.get_indexes(table))),
        }
    return schema


def test_a_new_file_is_the_database_the_migrations_build(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'new.db'}") as store:
        fresh = schema_of(store.engine)
        fresh_versions = alembic_versions(store.engine)
    migrated_engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade_to_head(migrated_engine)
    migrated = schema_of(migrated_engine)

    assert set(fresh) == EXPECTED_TABLES | {"alembic_version"}
    assert fresh == migrated
    assert fresh_versions == alembic_versions(migrated_engine) == [head_revision()]
    migrated_engine.dispose()


def test_alembic_takes_a_new_file_for_its_own(tmp_path: Path) -> None:
    # Downgrading and upgrading again works on the file as on a migrated one.
    url = f"sqlite:///{tmp_path / 'new.db'}"
    left_at(url, "0001")
    engine = create_engine(url)
    assert alembic_versions(engine) == ["0001"]
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert alembic_versions(engine) == [head_revision()]
    engine.dispose()


def test_a_file_with_an_older_schema_is_migrated_not_rebuilt(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    left_at(url, "0003")  # no kpi_values.error yet
    engine = create_engine(url)
    with engine.begin() as connection:  # a row written by that release
        connection.execute(text("INSERT INTO kpi_values (series_id, metric, period_end, value,"
                                " source, recorded_at) VALUES ('s', 'm', '2026-11-23', 1.5,"
                                " 'manual', '2026-11-23 10:00:00')"))
    engine.dispose()
    with open_store(url) as store, store.engine.connect() as connection:
        assert alembic_versions(store.engine) == [head_revision()]
        assert list(connection.execute(text("SELECT metric, value, error FROM kpi_values"))) \
            == [("m", 1.5, None)]  # the row kept, the new column added
