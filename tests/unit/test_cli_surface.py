"""The CLI's promises to scripts, checked against the commands themselves: every `--json`
names a schema that exists and is a valid JSON Schema; every command takes -v/-q; the README's
table lists every command and links every schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from jsonschema import Draft202012Validator

from planerka_sync.cli import cli
from planerka_sync.cli.base import SCHEMAS

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(group: click.Group = cli, prefix: str = "") -> dict[str, click.Command]:
    """Every command as the CLI resolves it (the root group imports a command's module on first
    use: its ``commands`` holds only those asked for so far)."""
    ctx = click.Context(group)
    found: dict[str, click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found |= commands(command, f"{prefix}{name} ")
        else:
            found[f"{prefix}{name}"] = command
    return found


def json_schema_of(command: click.Command) -> str | None:
    for param in command.params:
        if "--json" in getattr(param, "opts", []):
            named = re.search(r"schema: ([\w-]+)\.schema\.json", param.help or "")  # type: ignore[attr-defined]
            assert named, f"--json of {command.name} names no schema"
            return named[1]
    return None


def test_every_json_option_names_a_valid_schema_in_the_package() -> None:
    named = {name: schema for name, command in commands().items()
             if (schema := json_schema_of(command))}
    assert {"check", "prepare", "sync", "progress", "kpi show", "decide", "decisions import",
            "webhooks list"} <= set(named)
    for schema in {*named.values(), "error"}:
        document = json.loads((SCHEMAS / f"{schema}.schema.json").read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(document)
        assert document["type"] == "object" and document.get("title")
    unused = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    assert unused - {*named.values(), "error"} == set()  # no schema without its command


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_takes_v_and_q(name: str) -> None:
    options = {opt for param in commands()[name].params for opt in getattr(param, "opts", [])}
    assert {"-v", "-q"} <= options


def test_the_readme_table_lists_every_command_and_schema() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| command | what it does |"):]
    table = table[:table.index("\n\n")]
    rows = [row.split("|")[1] for row in table.splitlines()[2:]]
    for name in commands():
        top = name.split()[0]
        assert any(f"`{name}" in cell or (f"`{top}" in cell and name.split()[-1] in cell)
                   for cell in rows), f"README's command table has no row for {name!r}"
    for name, command in commands().items():
        if schema := json_schema_of(command):
            assert f"planerka_sync/cli/schemas/{schema}.schema.json" in table, name
