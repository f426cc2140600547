"""Alembic, configured from code: migrations ship inside the package, no alembic.ini at run time."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from planerka_sync.store.engine import SQLITE_BUSY_TIMEOUT_MS

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Arbitrary but fixed: every planerka-sync process contends for the same PostgreSQL advisory lock.
# The bytes spell "planerka"; it fits a signed bigint as pg_advisory_xact_lock requires.
PG_MIGRATION_LOCK_KEY = int.from_bytes(b"planerka", "big")
# Generous: another replica may be running a long migration right now.
PG_LOCK_TIMEOUT_S = 300

# alembic's `context` and `op` are module-global proxies: two threads migrating at once (even
# different databases) would run each other's DDL on the wrong connection.
_ALEMBIC_IN_USE = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config for our migrations; with ``connection``, env.py migrates through it."""
    config = Config()
    # configparser interpolates '%'; a checkout path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to head in one transaction, serialised against other processes.

    Several replicas (or the daemon and a CLI command) may start at once on a fresh database;
    without the lock both would see no tables and the slower one would fail on CREATE TABLE.
    """
    with _ALEMBIC_IN_USE, engine.begin() as connection:
        _lock_for_migration(connection)
        try:
            command.upgrade(alembic_config(connection), "head")
        finally:
            if connection.dialect.name == "sqlite":  # back to the everyday wait
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def _lock_for_migration(connection: Connection) -> None:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Fail with a message rather than hang forever behind a stuck migration elsewhere.
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{PG_LOCK_TIMEOUT_S}s'")
        # Transaction-scoped: released by the commit/rollback that ends the upgrade.
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY}
        )
    elif dialect == "sqlite":
        # Take the write lock before alembic reads alembic_version; busy_timeout makes a second
        # process wait here, then find the schema already at head. A fresh file's migration
        # rebuilds tables (batch mode) and may take longer than the everyday 5 s wait on a
        # loaded machine, so the wait for it is as generous as PostgreSQL's.
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {PG_LOCK_TIMEOUT_S * 1000}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
