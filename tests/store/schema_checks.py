"""Checks shared by the SQLite and PostgreSQL store tests."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, text

from planerka_sync.errors import StateError
from planerka_sync.store import open_store
from planerka_sync.store.migrate import alembic_config
from planerka_sync.store.models import Base

EXPECTED_TABLES = {
    "meetings",
    "decisions",
    "task_status_history",
    "kpi_values",
    "posted_comments",
    "attachments",
    "sync_cursors",
    "leases",
    "jobs",
    "rate_budget",
}


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def alembic_versions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text("SELECT version_num FROM alembic_version")))


def left_at(url: str, revision: str) -> None:
    """The state DB at ``url`` as a release at ``revision`` left it: made, then downgraded
    (the next open_store migrates it with alembic)."""
    with open_store(url) as store, store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def schema_drift(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    """What autogenerate would put in a new migration: empty when models == migrations."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "target_metadata": metadata}
        )
        return list(compare_metadata(context, metadata))


def _open_and_close(url: str) -> str:
    try:
        open_store(url).close()
    except StateError as exc:
        return exc.message
    return "ok"


def open_in_parallel_processes(url: str, count: int) -> list[str]:
    """``open_store(url)`` in ``count`` fresh processes at once (as replicas would start)."""
    # spawn, not fork: children must not inherit the test process's connections.
    with ProcessPoolExecutor(count, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_open_and_close, [url] * count))
