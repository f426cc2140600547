"""Lenient validation of sandbox responses against the trackers' official OpenAPI 3 specs.

The spec files are reduced copies kept in ``tests/contract/specs/`` (only the operations the
sandbox serves, their responses and the schemas those reference; see the README there and
``reduce.py``). ``$PLANERKA_SPECS_DIR`` points the tests at another folder instead, e.g. the full
upstream files; a file missing from that folder skips the calling test, while a file missing
from the in-repo copy fails it.

Usage::

    problems = SpecValidator.load("jira-cloud").problems("GET", "/rest/api/3/myself", 200, body)
    assert problems == []

Why lenient: OpenAPI 3.0 schemas are not JSON Schema (``nullable``, ``readOnly``, ``example``
...), and the published files contradict themselves in places (a Trello ``CheckItem.pos`` typed
``string`` with the example ``1673``; many Trello fields typed ``string`` with the example
``null``; Jira examples with ``"style": "CLASSIC"`` against the enum ``classic | next-gen``).
We validate the *shape* a client relies on - types, required keys, enums - and nothing the real
services are known to violate.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS_ENV = "PLANERKA_SPECS_DIR"
IN_REPO_SPECS = Path(__file__).resolve().parent / "specs"
SPEC_FILES = {"trello": "trello-openapi.json", "jira-cloud": "jira-cloud-openapi.json"}

# OpenAPI-only keywords (or ones we deliberately do not enforce); dropped before validation.
# ``format`` is dropped because the specs use it loosely (Trello's ``due`` is "date" but holds a
# date-time); ``additionalProperties: false`` is handled separately (dropped, schemas kept).
IGNORED_KEYWORDS = frozenset(
    {
        "nullable",
        "format",
        "readOnly",
        "writeOnly",
        "example",
        "examples",
        "discriminator",
        "xml",
        "deprecated",
        "externalDocs",
        "description",
        "title",
        "default",
    }
)
# Keywords whose value is one subschema / a list of subschemas / a map of name -> subschema.
SINGLE_SUBSCHEMA = ("items", "not", "additionalProperties")
LIST_SUBSCHEMAS = ("allOf", "anyOf", "oneOf")
MAP_SUBSCHEMAS = ("properties", "patternProperties")

JSON_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "number",  # a numeric example widens to "number": Trello positions may be fractional
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}

# Where the spec's own *response* examples contradict its schemas and the example shows what the
# live API does, we relax exactly that property of that component schema ("enum": accept any value
# of the declared type; "null": accept null too). Everything else stays as documented.
RELAXED: dict[str, dict[tuple[str, str], str]] = {
    "jira-cloud": {
        # GET /rest/api/3/project{,/recent} examples: "style": "CLASSIC", enum [classic, next-gen].
        ("Project", "style"): "enum",
        # Project lists in priorityscheme/workflow/issuetypescreenscheme examples carry
        # "projectTypeKey": "ProjectTypeKey{key='software'}", enum [software, service_desk,
        # business].
        ("Project", "projectTypeKey"): "enum",
        ("ProjectDetails", "projectTypeKey"): "enum",
        # Changelog examples (GET issue/{key}/changelog, POST .../changelog/list): "from"/"to" null.
        ("ChangeDetails", "from"): "null",
        ("ChangeDetails", "to"): "null",
        # Not in the examples, but the same items: a field set from/to empty has null strings.
        ("ChangeDetails", "fromString"): "null",
        ("ChangeDetails", "toString"): "null",
        # POST /rest/api/3/filter, GET filter/my|favourite|search examples: "approximateLastUsed":
        # null (the description says so too).
        ("Filter", "approximateLastUsed"): "null",
        ("FilterDetails", "approximateLastUsed"): "null",
    },
    "trello": {},  # Trello's inconsistencies are schema-level examples: see _widen_to_example.
}

_CACHE: dict[Path, SpecValidator] = {}


def specs_dir() -> Path:
    """The spec folder: ``$PLANERKA_SPECS_DIR``, else the in-repo ``tests/contract/specs``."""
    env = os.environ.get(SPECS_ENV)
    if env:
        return Path(env)
    return IN_REPO_SPECS


def clear_cache() -> None:
    """Forget loaded specs (tests that repoint ``$PLANERKA_SPECS_DIR`` call this)."""
    _CACHE.clear()


def spec_file(filename: str) -> Path:
    """Path of a file in the specs folder.

    Missing under a ``$PLANERKA_SPECS_DIR`` override: ``pytest.skip`` saying where we looked.
    Missing from the in-repo copy: ``pytest.fail`` - the repository is meant to carry it.
    """
    folder = specs_dir()
    path = folder / filename
    if not path.is_file():
        if os.environ.get(SPECS_ENV):
            pytest.skip(
                f"spec file {filename} not found in {folder} "
                f"(${SPECS_ENV} is set; unset it to use the in-repo copies)"
            )
        pytest.fail(
            f"spec file {filename} missing from {folder}: regenerate it with "
            "python tests/contract/specs/reduce.py /path/to/full/specs"
        )
    return path


# --- OpenAPI 3.0 schema -> lenient JSON Schema (draft 4) --------------------------------------


def _json_type(value: Any) -> str:
    return "null" if value is None else JSON_TYPES.get(type(value), "string")


def _example_breaks(schema: dict[str, Any]) -> bool:
    """Whether the schema's own ``example`` violates its ``type``/``enum`` (a spec inconsistency).

    Jira puts JSON-encoded example *strings* on media types, not on schemas, so schema-level
    examples are real values and are a fair witness of what the live API returns.
    """
    if "example" not in schema:
        return False
    local = {k: schema[k] for k in ("type", "enum") if k in schema}
    return bool(local) and not Draft4Validator(local).is_valid(schema["example"])


def _widen_to_example(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    """Accept what the spec's own example shows, on top of the declared type/enum.

    This is where the published files contradict themselves; at the time of writing it affects
    only Trello response schemas (Jira's schema-level examples that break their types are all on
    request payloads, e.g. ``RolePayload.defaultActors``):
      - ``example: null`` on non-nullable fields (``Attachment.bytes``, ``Member.aaId``,
        ``Notification.dateRead``, ``Webhook.firstConsecutiveFailDate`` ...) -> null allowed;
      - ``CheckItem.pos`` typed string, example ``1673`` -> number allowed;
      - ``Member.ixUpdate`` typed number, example ``"48427"``; ``Member.messagesDismissed.count``
        typed string, example ``4`` -> the example's type allowed.
    No schema-level example breaks an ``enum`` in either file (the broken enums are query
    parameter defaults such as Trello's ``fields=name,nameData,...``, which we never validate),
    so enums stay strict; should one appear, the example value is added to the enum.
    """
    widened = dict(schema)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        widened["type"] = sorted(set(types) | {_json_type(example)})
    if "enum" in schema and example not in schema["enum"]:
        widened["enum"] = [*schema["enum"], example]
    return widened


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 ``nullable: true`` in JSON Schema terms."""
    if "$ref" in schema or "type" not in schema:
        # A $ref (siblings ignored in draft 4) or a type-less composition: wrap it.
        return {"anyOf": [{"type": "null"}, schema]}
    widened = dict(schema)
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    widened["type"] = [*types, "null"] if "null" not in types else types
    if "enum" in schema and None not in schema["enum"]:
        widened["enum"] = [*schema["enum"], None]
    return widened


def to_json_schema(schema: Any, base_uri: str) -> Any:
    """Translate one OpenAPI 3.0 schema object (recursively) into lenient draft-4 JSON Schema.

    Local ``#/components/...`` refs become absolute (``base_uri#/components/...``) so any
    subschema can be validated on its own against a registry holding the translated spec.
    """
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in IGNORED_KEYWORDS:
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = base_uri + value
        elif key == "additionalProperties" and value is False:
            continue  # not enforced: the live APIs add fields faster than the specs list them
        elif key in SINGLE_SUBSCHEMA:
            out[key] = to_json_schema(value, base_uri)
        elif key in LIST_SUBSCHEMAS and isinstance(value, list):
            # oneOf -> anyOf: with additionalProperties unenforced and few required keys, the
            # alternatives overlap (Trello /search: oneOf Member | Card | ...), so "exactly one"
            # would reject bodies that match the intended branch.
            out["anyOf" if key == "oneOf" else key] = [to_json_schema(i, base_uri) for i in value]
        elif key in MAP_SUBSCHEMAS and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub, base_uri) for name, sub in value.items()}
        else:
            out[key] = value
    if _example_breaks(schema):
        out = _widen_to_example(out, schema["example"])
    if schema.get("nullable") is True:
        out = _allow_null(out)
    return out


# --- path matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathTemplate:
    """One spec path (``/rest/api/3/issue/{issueIdOrKey}``) compiled for matching."""

    template: str
    segments: tuple[re.Pattern[str], ...]
    literal: tuple[bool, ...]  # per segment: True when it has no {parameter}

    @classmethod
    def compile(cls, template: str) -> PathTemplate:
        parts = template.strip("/").split("/")
        patterns = []
        for part in parts:
            # "{id}" -> one whole segment; "${id}" / "{a}.{b}" keep their literal characters.
            pieces = re.split(r"(\{[^}]+\})", part)
            regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in pieces)
            patterns.append(re.compile(regex))
        return cls(template, tuple(patterns), tuple("{" not in p for p in parts))

    def matches(self, segments: list[str]) -> bool:
        if len(segments) != len(self.segments):
            return False
        pairs = zip(self.segments, segments, strict=True)
        return all(pattern.fullmatch(segment) for pattern, segment in pairs)


# --- the validator ------------------------------------------------------------------------------


@dataclass
class SpecValidator:
    """Response validator for one tracker's OpenAPI spec; build it with :meth:`load`."""

    name: str
    spec: dict[str, Any] = field(repr=False)
    base_path: str = ""  # server URL path ("/1" for Trello), stripped from request paths
    _validators: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, name: str) -> SpecValidator:
        """The validator for ``"trello"`` or ``"jira-cloud"`` (a missing file: see spec_file)."""
        if name not in SPEC_FILES:
            raise ValueError(f"unknown spec {name!r}; expected one of {sorted(SPEC_FILES)}")
        path = spec_file(SPEC_FILES[name]).resolve()
        if path not in _CACHE:
            spec = json.loads(path.read_text(encoding="utf-8"))
            servers = spec.get("servers") or [{}]
            base_path = urlsplit(servers[0].get("url", "")).path.rstrip("/")
            _CACHE[path] = cls(name, spec, base_path)
        return _CACHE[path]

    @cached_property
    def _uri(self) -> str:
        return f"urn:planerka:spec:{self.name}"

    @cached_property
    def _registry(self) -> Registry:
        """The spec's components, translated once, as the target of every ``$ref``."""
        components = {
            section: {
                key: self._translate_component(section, key, value) for key, value in items.items()
            }
            for section, items in self.spec.get("components", {}).items()
        }
        resource = Resource.from_contents({"components": components}, default_specification=DRAFT4)
        return Registry().with_resource(self._uri, resource)

    def _translate_component(self, section: str, name: str, value: Any) -> Any:
        if section == "schemas":
            return to_json_schema(self._relaxed(name, value), self._uri)
        return value  # responses/parameters are looked up raw by _response(), not via $ref

    def _relaxed(self, name: str, schema: Any) -> Any:
        """A copy of component schema ``name`` with the :data:`RELAXED` properties loosened."""
        relaxations = {
            prop: how for (owner, prop), how in RELAXED[self.name].items() if owner == name
        }
        if not relaxations or not isinstance(schema, dict):
            return schema
        properties = dict(schema.get("properties", {}))
        for prop, how in relaxations.items():
            loosened = dict(properties.get(prop, {}))
            if how == "enum":
                loosened.pop("enum", None)
            else:
                loosened["nullable"] = True
            properties[prop] = loosened
        return {**schema, "properties": properties}

    @cached_property
    def _templates(self) -> list[PathTemplate]:
        return [PathTemplate.compile(template) for template in self.spec["paths"]]

    def match_path(self, method: str, path: str) -> str | None:
        """The spec path template for a request path, preferring literal segments to parameters.

        E.g. ``/rest/api/3/issue/bulk`` wins over ``/rest/api/3/issue/{issueIdOrKey}`` because at
        the first segment where they differ, the literal one is preferred.
        """
        path = urlsplit(path).path
        if self.base_path and (path == self.base_path or path.startswith(self.base_path + "/")):
            path = path[len(self.base_path) :]
        segments = path.strip("/").split("/")
        candidates = [
            t
            for t in self._templates
            if t.matches(segments) and method.lower() in self.spec["paths"][t.template]
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda t: t.literal).template

    def _response(self, operation: dict[str, Any], status: int) -> dict[str, Any] | None:
        """The documented response for a status: exact code, then ``2XX``, then ``default``."""
        responses = operation.get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                response: dict[str, Any] = responses[key]
                ref = response.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/components/responses/"):
                    response = self.spec["components"]["responses"][ref.rsplit("/", 1)[1]]
                return response
        return None

    @staticmethod
    def _json_schema_of(response: dict[str, Any]) -> Any:
        """The response's JSON schema (``application/json``, else any ``*json`` or ``*/*``)."""
        content = response.get("content") or {}
        for media_type, media in content.items():
            if media_type.split(";")[0].strip() == "application/json":
                return media.get("schema")
        for media_type, media in content.items():
            if "json" in media_type or media_type == "*/*":
                return media.get("schema")
        return None

    def _validator_for(self, template: str, method: str, status_key: str, schema: Any) -> Any:
        key = (template, method, status_key)
        if key not in self._validators:
            self._validators[key] = Draft4Validator(
                to_json_schema(schema, self._uri), registry=self._registry
            )
        return self._validators[key]

    def problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Readable reasons why ``body`` is not a documented response; ``[]`` when it is."""
        method = method.upper()
        template = self.match_path(method, path)
        if template is None:
            return [f"no spec path matches {method} {path}"]
        where = f"{method} {template}"
        operation = self.spec["paths"][template][method.lower()]
        response = self._response(operation, status)
        if response is None:
            return [f"status {status} not documented for {where}"]
        schema = self._json_schema_of(response)
        if not schema:  # documented without a (JSON) schema: nothing to check
            return []
        validator = self._validator_for(template, method, str(status), schema)
        return [
            f"{where} {status}: {_location(error.absolute_path)}: {_short(error.message)}"
            for error in sorted(validator.iter_errors(body), key=_error_order)
        ]


def _error_order(error: Any) -> list[str]:
    return [str(part) for part in error.absolute_path]


def _location(path: Any) -> str:
    """``body.fields.assignee.accountId`` / ``body[2].id`` for a jsonschema error path."""
    out = "body"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _short(message: str, limit: int = 200) -> str:
    """jsonschema messages embed the whole offending instance; keep reports readable."""
    return message if len(message) <= limit else message[: limit - 3] + "..."
