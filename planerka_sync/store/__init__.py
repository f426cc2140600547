"""The state DB: the only record of what planerka-sync created where (see docs/design.md,
"State and idempotency").

``open_store(url)`` gives a migrated, ready database; nothing else in the project creates
engines or runs migrations. A database already at the head revision is opened without
importing alembic (its version row is read and compared with the migration files'), and so is a
new SQLite file (built from the models, see ``_created_fresh``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import (
    URL,
    Column,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from planerka_sync.errors import StateError
from planerka_sync.messages import t
from planerka_sync.store.engine import (
    anchored_url,
    ensure_sqlite_folder,
    is_sqlite,
    make_engine,
    normalise_url,
    redact_url,
)

if TYPE_CHECKING:
    from alembic.util.exc import CommandError

__all__ = ["Store", "anchored_url", "database_url", "default_database_url", "head_revision",
           "open_store", "redact_url"]


class Store:
    """An open, migrated state DB. ``session()`` is the unit of work; ``close()`` when done."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        # expire_on_commit=False: rows read in a session stay usable after it commits.
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed when the block ends normally, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def default_database_url() -> str:
    """``sqlite:///$XDG_STATE_HOME/planerka-sync/planerka.db`` (~/.local/state by default)."""
    state_home = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(state_home) if os.path.isabs(state_home) else Path.home() / ".local" / "state"
    return f"sqlite:///{base / 'planerka-sync' / 'planerka.db'}"


def database_url(configured: str | None, config_dir: Path) -> str:
    """The state DB of a config: ``database`` (a relative SQLite path is relative to the
    config file, never to the working directory), else the user's state directory."""
    return anchored_url(configured, config_dir) if configured else default_database_url()


def open_store(url: str) -> Store:
    """Connect to the state DB at ``url``, migrate it to the current schema, return it.

    Raises StateError (message for a person, password hidden) when that is not possible.
    """
    shown = redact_url(url)
    parsed = _parse(url, shown)
    engine = _connect(parsed, shown)
    try:
        if not schema_is_current(engine) and not _created_fresh(engine, parsed):
            _migrate(engine, shown, parsed)
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise _cannot_open(shown, exc, parsed) from exc
    return Store(engine, shown)


def _created_fresh(engine: Engine, url: URL) -> bool:
    """Give a SQLite file with no tables the models' schema and the head's version row at once.

    This is alembic's own recipe for a database built from scratch (``create_all``, then stamp
    head), done without importing alembic: a new user's first command is about 0.15 s quicker.
    tests/store/test_fresh_schema.py checks that the result equals what the migrations build.
    False when the file has any table (an older schema, or another process was first): alembic
    then migrates or finds it at head. PostgreSQL always migrates, under its advisory lock.
    """
    head = script_head()
    if head is None or not is_sqlite(url):
        return False
    from planerka_sync.store.models import Base

    with engine.begin() as connection:
        # The write lock first, as the migration takes it: a second process waits here, then
        # sees the tables and opens them at head.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        if inspect(connection).get_table_names():
            return False
        Base.metadata.create_all(connection)
        version = _version_table()
        version.create(connection)
        connection.execute(version.insert().values(version_num=head))
    return True


def _version_table() -> Table:
    """alembic's version table as alembic makes it (its own metadata: not one of our models)."""
    return Table("alembic_version", MetaData(),
                 Column("version_num", String(32), nullable=False),
                 PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def _migrate(engine: Engine, shown: str, parsed: URL) -> None:
    """alembic's upgrade to head (imported only here: it costs more than the rest of a start)."""
    from alembic.util.exc import CommandError

    from planerka_sync.store.migrate import upgrade_to_head

    try:
        upgrade_to_head(engine)
    except CommandError as exc:
        engine.dispose()
        raise _newer_schema_error(shown, exc, parsed) from exc


def head_revision() -> str | None:
    """The newest migration's revision, as alembic reads the scripts."""
    from planerka_sync.store.migrate import head_revision as alembic_head

    return alembic_head()


VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.*?)\s*$", re.MULTILINE)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


@cache
def script_head() -> str | None:
    """The head revision read from the migration files' ``revision`` and ``down_revision``
    lines, without importing alembic; None unless they form one chain (then alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS_DIR.glob("*.py"):
        lines = {m[1]: m[2] for m in _REVISION_LINE.finditer(path.read_text("utf-8"))}
        revision = _QUOTED.findall(lines.get("revision", ""))
        if len(revision) != 1:
            return None
        revisions.add(revision[0])
        parents.update(_QUOTED.findall(lines.get("down_revision", "")))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def schema_is_current(engine: Engine) -> bool:
    """Whether the database's alembic version is the head of our migrations: one read, and no
    alembic import. A fresh database, another revision or several rows say no (alembic then
    migrates, or refuses a newer schema); a connection failure raises as the upgrade would."""
    head = script_head()
    if head is None:
        return False
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        versions = list(connection.scalars(text("SELECT version_num FROM alembic_version")))
    return versions == [head]


# What the migrations and the concurrency handling (migrate.py) are written and tested for.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def _parse(url: str, shown: str) -> URL:
    try:
        parsed = normalise_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StateError(t(
            f"invalid state database URL {shown!r}: "
            "check the database URL in config `database:` (e.g. sqlite:///path/planerka.db)",
            f"неверный адрес базы состояния {shown!r}: проверьте адрес базы в `database:` "
            "конфига (например, sqlite:///path/planerka.db)",
        )) from exc
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise _unsupported(shown)
    return parsed


def _unsupported(shown: str) -> StateError:
    return StateError(t(
        f"unsupported state database URL {shown!r}: use sqlite:///... or "
        "postgresql+psycopg://... in config `database:`",
        f"такая база состояния не поддерживается: {shown!r}; укажите в `database:` конфига "
        "sqlite:///... или postgresql+psycopg://...",
    ))


def _connect(url: URL, shown: str) -> Engine:
    """Create the engine (and a SQLite file's folder); no connection is made yet."""
    try:
        ensure_sqlite_folder(url)
        return make_engine(url)
    except NoSuchModuleError as exc:
        raise _unsupported(shown) from exc
    except ModuleNotFoundError as exc:
        raise StateError(t(
            f"the driver for {shown!r} is not installed ({exc.name}): "
            "pip install 'planerka-sync[postgres]'",
            f"драйвер для {shown!r} не установлен ({exc.name}): "
            "`pip install 'planerka-sync[postgres]'`",
        )) from exc
    except (OSError, ArgumentError) as exc:
        raise _cannot_open(shown, exc, url) from exc


def _cannot_open(shown: str, exc: BaseException, url: URL) -> StateError:
    advice = (
        t("check the database URL in config `database:` or that its folder is writable",
          "проверьте адрес базы в `database:` конфига и что в её папку можно писать")
        if is_sqlite(url)
        else t("check the database URL in config `database:` or that the server is running",
               "проверьте адрес базы в `database:` конфига и что сервер базы запущен")
    )
    reason = _short_reason(exc, url)
    return StateError(
        t(f"cannot open the state database {shown} ({reason}): {advice}",
          f"не удаётся открыть базу состояния {shown} ({reason}): {advice}"),
        detail=_scrub(repr(exc), url),
    )


def _newer_schema_error(shown: str, exc: CommandError, url: URL) -> StateError:
    # Typically "Can't locate revision ...": a newer planerka-sync migrated this database.
    return StateError(
        t(f"the state database {shown} has a schema this planerka-sync does not know: "
          "upgrade planerka-sync, or point config `database:` at another database",
          f"у базы состояния {shown} схема, которую эта версия planerka-sync не знает: "
          "обновите planerka-sync или укажите в `database:` конфига другую базу"),
        detail=_scrub(str(exc), url),
    )


def _short_reason(exc: BaseException, url: URL) -> str:
    """The driver's own first line (e.g. "Connection refused"), without SQL or parameters."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines() or [type(original).__name__]
    return _scrub(lines[0], url)


def _scrub(text: str, url: URL) -> str:
    """Drivers sometimes echo connection parameters; never let the password through."""
    password = url.password
    if password:
        text = text.replace(str(password), "***")
    return text
