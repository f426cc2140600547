"""A lean start: what each command imports, checked in a fresh interpreter (issue 17, item 1).

`--help` imports none of the heavy libraries; `sync` and `check` on a state DB already at the
schema's head import neither alembic nor the calendar, chart or the other tracker's client; the
Jira client comes without the rest of atlassian-python-api. Times are for bench/startup.py; these
tests look only at which modules were loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.seed import JIRA_PROJECT_KEY
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.store import head_revision, script_head
from planerka_sync.templates import builtin_dir
from tests.store.schema_checks import left_at

HEAVY = ("pydantic", "yaml", "requests", "sqlalchemy", "alembic", "dateparser", "icalendar",
         "atlassian", "trello", "matplotlib", "rich", "prometheus_client")
# What a command run on a current schema never needs (the other tracker's client aside).
NEVER_AT_SYNC = ("alembic", "icalendar", "matplotlib", "dateparser")
# The other commands' modules: the root group imports a command's module when it is asked for.
OTHER_COMMANDS = ("planerka_sync.cli.init", "planerka_sync.cli.demo", "planerka_sync.cli.kpi",
                  "planerka_sync.cli.daemon", "planerka_sync.cli.tools",
                  "planerka_sync.cli.webhooks")

# Runs the CLI as `python -m planerka_sync ARGS` would, then writes the names of the modules
# loaded (and the exit code) as JSON to the file named by $PROBE_OUT.
PROBE = """
import json, os, runpy, sys
sys.argv = ["planerka-sync", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("planerka_sync", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def loaded(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a CLI run loaded; the run must succeed."""
    out = tmp_path / "probe.json"
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            text=True, timeout=120, check=False, cwd=tmp_path,
                            env={**os.environ, **(env or {}), "PROBE_OUT": str(out)})
    assert out.exists(), result.stderr
    probe = json.loads(out.read_text())
    assert probe["code"] == 0, result.stdout + result.stderr
    return set(probe["modules"])


def packages(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "--help")
    assert "planerka_sync.cli.meetings" in modules  # the commands were registered
    assert packages(modules, HEAVY) == []
    assert not any(m.startswith("planerka_sync.config") for m in modules)


def test_a_command_help_imports_nothing_heavy_either(tmp_path: Path) -> None:
    """`planerka-sync sync --help` runs the group's callback (logging) before the command's
    help: still no config, store or tracker library."""
    modules = loaded(tmp_path, "kpi", "--help")
    assert packages(modules, ("pydantic", "yaml", "sqlalchemy", "alembic", "dateparser",
                              "icalendar", "atlassian", "trello", "matplotlib")) == []


# --- commands against a sandbox, on a state DB at head ------------------------------------------


@pytest.fixture(params=["trello", "jira-cloud"])
def configured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict]]:
    """A sandbox, config/demo.yaml pointed at it with its state DB in tmp_path, and the env the
    commands run with."""
    flavour = request.param
    server = SandboxServer(make_emulator(flavour)).start()
    raw = yaml.safe_load((builtin_dir() / "demo.yaml").read_text(encoding="utf-8"))
    raw["database"] = f"sqlite:///{tmp_path / 'state.db'}"
    if flavour == "jira-cloud":
        raw["tracker"] = {"kind": "jira", "deployment": "cloud", "url": server.url,
                          "project": JIRA_PROJECT_KEY, "email": "anna@example.org",
                          "token": "sandbox-token"}
    config = tmp_path / "planerka.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = {"SANDBOX_URL": server.url, "PLANERKA_CONFIG": str(config),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    try:
        yield flavour, env
    finally:
        server.stop()


def test_sync_and_check_on_a_current_schema_import_only_what_they_use(
        configured: tuple[str, dict], tmp_path: Path) -> None:
    flavour, env = configured
    first = loaded(tmp_path, "prepare", env=env)  # makes the state DB, and an invite
    assert "icalendar" in first and "alembic" not in first  # a new SQLite file: create_all

    other_tracker = "atlassian" if flavour == "trello" else "trello"
    for command in (["sync", "--dry-run"], ["sync"], ["sync", "--json"], ["check", "--json"],
                    ["check"]):
        modules = loaded(tmp_path, *command, env=env)
        assert "sqlalchemy" in modules  # the state DB was opened
        assert packages(modules, (*NEVER_AT_SYNC, other_tracker)) == [], command
        assert packages(modules, OTHER_COMMANDS) == [], command
        if "--json" in command:  # nothing is printed through rich: it stays unimported
            assert packages(modules, ("rich",)) == [], command
        if command[0] == "sync":  # adoption and sync need neither prepare nor the agenda's models
            assert packages(modules, ("planerka_sync.service.prepare",
                                      "planerka_sync.domain.agenda")) == [], command
            assert "planerka_sync.cli.check" not in modules, command
        else:
            assert "planerka_sync.cli.meetings" not in modules, command
    # check (the last command) on a SQLite state DB: SQLAlchemy's PostgreSQL dialect unloaded.
    assert packages(modules, ("sqlalchemy.dialects.postgresql",)) == []
    if flavour == "jira-cloud":
        # The Jira clients alone, not the package's Confluence, Bitbucket, Bamboo...
        assert "atlassian.jira" in modules
        assert packages(modules, ("atlassian.confluence", "atlassian.bitbucket",
                                  "atlassian.bamboo", "atlassian.xray")) == []


OPEN_STORE = """
import json, sys
from sqlalchemy import text
from planerka_sync.store import open_store
with open_store(sys.argv[1]) as store, store.engine.connect() as db:
    versions = list(db.scalars(text("SELECT version_num FROM alembic_version")))
print(json.dumps({"versions": versions, "alembic": "alembic" in sys.modules}))
"""


def test_alembic_is_imported_only_to_migrate_an_older_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"

    def opened() -> dict:
        result = subprocess.run([sys.executable, "-c", OPEN_STORE, url], capture_output=True,
                                text=True, timeout=120, check=True)
        return dict(json.loads(result.stdout))

    assert opened() == {"versions": [head_revision()], "alembic": False}  # made from the models
    assert opened() == {"versions": [head_revision()], "alembic": False}  # read, not migrated
    left_at(url, "0005")  # as a state DB made by an earlier release
    assert opened() == {"versions": [head_revision()], "alembic": True}  # migrated by alembic


def test_the_cheap_head_is_alembics_head() -> None:
    assert script_head() is not None
    assert script_head() == head_revision()
