"""What a `--json` output must be: one JSON object valid against its schema in
planerka_sync/cli/schemas (the file named by the command's --help)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from planerka_sync.cli.base import SCHEMAS


@cache
def validator(schema: str) -> Draft202012Validator:
    document = json.loads((SCHEMAS / f"{schema}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def valid_json(schema: str, stdout: str) -> Any:
    """The parsed output; fails naming every place it breaks the schema."""
    payload = json.loads(stdout)  # nothing else on stdout: the whole of it parses
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator(schema).iter_errors(payload)]
    assert not problems, f"--json output breaks {schema}.schema.json: {problems}"
    return payload
