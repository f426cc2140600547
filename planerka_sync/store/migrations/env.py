"""Alembic environment for the state DB.

At run time ``open_store`` passes its own connection in ``config.attributes["connection"]``.
Developers making a new revision use the alembic CLI instead::

    alembic -c planerka_sync/store/alembic.ini revision --autogenerate -m "what changed"

and then review the generated file by hand (types, constraint names, batch operations).
"""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from planerka_sync.store.engine import ensure_sqlite_folder, make_engine, normalise_url
from planerka_sync.store.models import Base, UTCDateTime

target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render our UTC type as its plain SQL type: migrations must not import model code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_options() -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        # Always batch: SQLite cannot ALTER most things, and every migration must run on both.
        "render_as_batch": True,
        "compare_type": True,
        "render_item": render_item,
    }


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, **configure_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = normalise_url(context.config.get_main_option("sqlalchemy.url") or "")
    ensure_sqlite_folder(url)
    engine = make_engine(url)
    try:
        with engine.begin() as own_connection:
            run_on(own_connection)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
