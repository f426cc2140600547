"""Engine creation: URL handling, per-engine connection settings, secret-free descriptions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

# Waits for a competing writer (daemon + CLI on one file) instead of failing at once.
SQLITE_BUSY_TIMEOUT_MS = 5000
# An unreachable PostgreSQL host should fail the command, not hang it for minutes.
PG_CONNECT_TIMEOUT_S = 10

# Fallback for strings make_url cannot parse: still hide ``user:password@``.
_USERINFO_PASSWORD = re.compile(r"(//[^/:@]*):[^/@]*@")


def redact_url(url: str | URL) -> str:
    """The URL as it may be shown to a person or logged: password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _USERINFO_PASSWORD.sub(r"\1:***@", str(url))


def normalise_url(url: str) -> URL:
    """Parse the configured URL; bare ``postgresql://`` means psycopg 3 (our ``postgres`` extra).

    SQLAlchemy would otherwise pick psycopg2, which planerka-sync does not install.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def anchored_url(url: str, base: Path) -> str:
    """A SQLite URL with a relative file path made absolute against ``base`` (the config file's
    folder), so that every command finds the same state whatever directory it runs in. Other
    URLs, absolute paths and in-memory databases are returned as they are."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # open_store reports it
    path = sqlite_file(parsed) if is_sqlite(parsed) else None
    if path is None or path.is_absolute():
        return url
    anchored = parsed.set(database=str((base / path.expanduser()).resolve()))
    return anchored.render_as_string(hide_password=False)


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory and ``file:`` URI databases."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def ensure_sqlite_folder(url: URL) -> None:
    """SQLite creates the file but not its folder (e.g. a fresh ~/.local/state/planerka-sync)."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: URL) -> Engine:
    if is_sqlite(url):
        engine = create_engine(url)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    # pre_ping: a replica outlives server restarts and idle-connection reaping by proxies.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection PRAGMAs: SQLite forgets them on every new connection."""
    cursor = dbapi_connection.cursor()
    try:
        # First, so that switching to WAL below waits for a competing process too.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL lets the daemon write while a CLI command reads the same file.
        cursor.execute("PRAGMA journal_mode = WAL")
        # Off by default in SQLite; without it a decision could point at no meeting.
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
