"""A throwaway PostgreSQL server on 127.0.0.1 for the store tests.

Uses the newest server binaries under /usr/lib/postgresql/*/bin (Debian/Ubuntu ``postgresql``
package). PostgreSQL refuses to run as root, so under root the data folder is handed to the
``postgres`` user the package creates and initdb/pg_ctl run as that user. Without binaries the
tests are skipped, except in CI (``CI=true``), where a silently skipped suite would hide a gap.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"  # the OS account created by the Debian package
DB_USER = "planerka"
DB_PASSWORD = "pg-test-secret"  # also lets tests check the password never shows up


@dataclass(frozen=True)
class PgServer:
    bin_dir: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database on this server; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=DB_USER,
            password=DB_PASSWORD,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def newest_pg_bin() -> Path | None:
    """``/usr/lib/postgresql/<newest version>/bin`` holding initdb and pg_ctl, if any."""
    found = [
        version_dir / "bin"
        for version_dir in PG_ROOT.glob("*")
        if (version_dir / "bin" / "initdb").exists() and (version_dir / "bin" / "pg_ctl").exists()
    ]
    return max(found, key=lambda path: _version_key(path.parent.name), default=None)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where the PostgreSQL suite is expected to run."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so the PostgreSQL tests must run)")
    pytest.skip(f"{reason}; install the `postgresql` package to run the PostgreSQL tests")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgRunner:
    """Runs server commands as a non-root user when we are root."""

    def __init__(self, bin_dir: Path, home: Path) -> None:
        self.bin_dir = bin_dir
        self.home = home
        self.as_user = SERVER_USER if os.geteuid() == 0 else None

    def give_away(self, path: Path) -> None:
        if self.as_user is not None:
            shutil.chown(path, user=self.as_user, group=self.as_user)

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / tool), *args],
            # A folder the server user can enter: pg_ctl fails if it cannot read its cwd.
            cwd=self.home,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            # None = stay who we are; otherwise drop root's uid, gid and supplementary groups.
            user=self.as_user,
            group=self.as_user,
            extra_groups=[] if self.as_user else None,
        )


def _check(result: subprocess.CompletedProcess[str], what: str, log: Path | None = None) -> None:
    if result.returncode != 0:
        log_text = log.read_text(errors="replace") if log and log.exists() else ""
        pytest.fail(f"{what} failed:\n{result.stdout}\n{result.stderr}\n{log_text}")


def _init_cluster(runner: PgRunner, data: Path) -> None:
    password_file = runner.home / "password"
    password_file.write_text(DB_PASSWORD + "\n")
    runner.give_away(password_file)
    result = runner.run(
        "initdb", "-D", str(data), "-U", DB_USER, f"--pwfile={password_file}",
        "--auth-local=trust", "--auth-host=scram-sha-256",
        "--no-locale", "-E", "UTF8", "--no-sync",
    )  # fmt: skip
    _check(result, "initdb")


def _start(runner: PgRunner, data: Path, port: int) -> None:
    log = runner.home / "server.log"
    # Durability is worthless for a throwaway server; skipping fsync keeps the tests fast.
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {runner.home} "
        "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    )
    result = runner.run("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
    _check(result, "pg_ctl start", log)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session, deleted afterwards."""
    bin_dir = newest_pg_bin()
    if bin_dir is None:
        unavailable(f"no PostgreSQL server binaries under {PG_ROOT}/*/bin")
    assert bin_dir is not None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg (v3) is not installed: pip install 'planerka-sync[postgres]'")
    home = Path(tempfile.mkdtemp(prefix="planerka-pg-"))  # under /tmp: reachable by `postgres`
    runner = PgRunner(bin_dir, home)
    runner.give_away(home)
    data = home / "data"
    port = free_port()
    try:
        _init_cluster(runner, data)
        _start(runner, data, port)
        yield PgServer(bin_dir=bin_dir, port=port)
    finally:
        runner.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """URL of a fresh, empty database (so every test migrates from nothing)."""
    return pg_server.create_database()
