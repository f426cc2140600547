"""Reduce the trackers' published OpenAPI specs to the structure tests/contract/ validates.

Usage::

    python tests/contract/specs/reduce.py /path/to/full/specs [--out DIR]

``/path/to/full/specs`` holds the upstream files under the names in :data:`SOURCES`; the reduced
copies are written next to this script (or to ``--out``). See README.md in this folder for where
the upstream files come from.

What is kept, per OpenAPI spec:
  - ``openapi``, ``info`` (title, version, license) and ``servers[].url`` - the validator strips
    the server URL's path (Trello's ``/1``) from request paths;
  - the operations in :data:`OPERATIONS` (path + method), each with its ``responses`` only
    (status -> ``content`` -> media type -> ``schema``, or a ``$ref`` to a shared response),
    plus ``operationId`` and ``deprecated`` to tell what the operation is;
  - every ``components.schemas`` / ``components.responses`` entry those responses reference,
    transitively, under its original name (the validator's RELAXED table is keyed by it).
    Inside schemas every validation keyword stays, and so do ``example`` values: the validator
    widens a type to what the schema's own example shows.
What is dropped: the other operations; parameters and request bodies (the validator checks
responses only); response headers and media-type examples; ``description``, ``summary``,
``title``, ``externalDocs``, ``tags``, ``security``/``securitySchemes``, ``contact``,
``termsOfService`` and every ``x-*`` vendor extension (Atlassian's OAuth scopes, data-security
policies, narrative) - documentation the validator never reads.

The ADF JSON schema is copied byte for byte (it is small and is itself the structure we check).

The operation list is explicit on purpose: it was collected from a full run of tests/contract/
(every path and method the validator was asked about) plus the sandbox routes the specs document.
A contract case for an operation not listed here fails with "no spec path matches": add the
operation below and regenerate from the full specs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# Upstream file name -> where it comes from (the reduced file keeps the name).
SOURCES = {
    "jira-cloud-openapi.json": "https://developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json",
    "trello-openapi.json": "https://developer.atlassian.com/cloud/trello/swagger.v3.json",
}
COPIED_WHOLE = ("adf-full.schema.json",)

OPERATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "jira-cloud-openapi.json": (
        # Validated by tests/contract (the contract cases and the validator's own tests).
        ("GET", "/rest/api/3/attachment/content/{id}"),
        ("GET", "/rest/api/3/attachment/{id}"),
        ("DELETE", "/rest/api/3/attachment/{id}"),
        ("GET", "/rest/api/3/filter/{id}"),
        ("POST", "/rest/api/3/issue"),
        ("POST", "/rest/api/3/issue/bulk"),
        ("GET", "/rest/api/3/issue/{issueIdOrKey}"),
        ("PUT", "/rest/api/3/issue/{issueIdOrKey}"),
        ("DELETE", "/rest/api/3/issue/{issueIdOrKey}"),
        ("POST", "/rest/api/3/issue/{issueIdOrKey}/attachments"),
        ("GET", "/rest/api/3/issue/{issueIdOrKey}/comment"),
        ("POST", "/rest/api/3/issue/{issueIdOrKey}/comment"),
        ("GET", "/rest/api/3/issue/{issueIdOrKey}/comment/{id}"),
        ("PUT", "/rest/api/3/issue/{issueIdOrKey}/comment/{id}"),
        ("DELETE", "/rest/api/3/issue/{issueIdOrKey}/comment/{id}"),
        ("GET", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
        ("POST", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
        ("POST", "/rest/api/3/issueLink"),
        ("GET", "/rest/api/3/issueLinkType"),
        ("GET", "/rest/api/3/issuetype"),
        ("GET", "/rest/api/3/label"),
        ("GET", "/rest/api/3/myself"),
        ("GET", "/rest/api/3/project"),
        ("GET", "/rest/api/3/project/search"),
        ("GET", "/rest/api/3/project/{projectIdOrKey}"),
        ("GET", "/rest/api/3/project/{projectIdOrKey}/statuses"),
        ("POST", "/rest/api/3/search/approximate-count"),
        ("GET", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/search/jql"),
        ("GET", "/rest/api/3/serverInfo"),
        ("GET", "/rest/api/3/status"),
        ("GET", "/rest/api/3/user"),
        ("GET", "/rest/api/3/user/assignable/search"),
        ("GET", "/rest/api/3/user/search"),
        # Served by the sandbox, no contract case yet.
        ("GET", "/rest/api/3/field"),
        ("PUT", "/rest/api/3/issue/{issueIdOrKey}/assignee"),
        ("GET", "/rest/api/3/issueLink/{linkId}"),
        ("DELETE", "/rest/api/3/issueLink/{linkId}"),
        ("GET", "/rest/api/3/priority"),
        ("GET", "/rest/api/3/search"),
        ("POST", "/rest/api/3/search"),
    ),
    "trello-openapi.json": (
        # Validated by tests/contract (the contract cases and the validator's own tests).
        ("GET", "/actions/{id}"),
        ("PUT", "/actions/{id}"),
        ("DELETE", "/actions/{id}"),
        ("PUT", "/actions/{id}/text"),
        ("GET", "/batch"),
        ("GET", "/boards/{boardId}/actions"),
        ("GET", "/boards/{id}"),
        ("GET", "/boards/{id}/cards"),
        ("GET", "/boards/{id}/cards/{filter}"),
        ("GET", "/boards/{id}/checklists"),
        ("GET", "/boards/{id}/labels"),
        ("GET", "/boards/{id}/lists"),
        ("GET", "/boards/{id}/lists/{filter}"),
        ("GET", "/boards/{id}/members"),
        ("POST", "/cards"),
        ("PUT", "/cards/{idCard}/checklist/{idChecklist}/checkItem/{idCheckItem}"),
        ("GET", "/cards/{id}"),
        ("PUT", "/cards/{id}"),
        ("DELETE", "/cards/{id}"),
        ("GET", "/cards/{id}/actions"),
        ("POST", "/cards/{id}/actions/comments"),
        ("GET", "/cards/{id}/attachments"),
        ("POST", "/cards/{id}/attachments"),
        ("GET", "/cards/{id}/attachments/{idAttachment}"),
        ("DELETE", "/cards/{id}/attachments/{idAttachment}"),
        ("GET", "/cards/{id}/checkItem/{idCheckItem}"),
        ("PUT", "/cards/{id}/checkItem/{idCheckItem}"),
        ("DELETE", "/cards/{id}/checkItem/{idCheckItem}"),
        ("GET", "/cards/{id}/checkItemStates"),
        ("GET", "/cards/{id}/checklists"),
        ("POST", "/cards/{id}/checklists"),
        ("POST", "/cards/{id}/idLabels"),
        ("POST", "/cards/{id}/idMembers"),
        ("DELETE", "/cards/{id}/idMembers/{idMember}"),
        ("GET", "/cards/{id}/members"),
        ("POST", "/checklists"),
        ("GET", "/checklists/{id}"),
        ("PUT", "/checklists/{id}"),
        ("DELETE", "/checklists/{id}"),
        ("GET", "/checklists/{id}/checkItems"),
        ("POST", "/checklists/{id}/checkItems"),
        ("POST", "/labels"),
        ("POST", "/lists"),
        ("GET", "/lists/{id}"),
        ("PUT", "/lists/{id}"),
        ("GET", "/lists/{id}/cards"),
        ("GET", "/members/{id}"),
        ("GET", "/members/{id}/boards"),
        ("GET", "/organizations/{id}"),
        ("GET", "/search"),
        ("GET", "/tokens/{token}/webhooks"),
        ("POST", "/webhooks/"),
        ("GET", "/webhooks/{id}"),
        ("PUT", "/webhooks/{id}"),
        ("DELETE", "/webhooks/{id}"),
        # Served by the sandbox, no contract case yet.
        ("GET", "/actions/{id}/board"),
        ("GET", "/actions/{id}/card"),
        ("GET", "/actions/{id}/list"),
        ("GET", "/actions/{id}/memberCreator"),
        ("GET", "/actions/{id}/{field}"),
        ("PUT", "/boards/{id}"),
        ("POST", "/boards/{id}/labels"),
        ("POST", "/boards/{id}/lists"),
        ("GET", "/boards/{id}/{field}"),
        ("PUT", "/cards/{id}/actions/{idAction}/comments"),
        ("DELETE", "/cards/{id}/actions/{idAction}/comments"),
        ("GET", "/cards/{id}/board"),
        ("DELETE", "/cards/{id}/checklists/{idChecklist}"),
        ("GET", "/cards/{id}/customFieldItems"),
        ("DELETE", "/cards/{id}/idLabels/{idLabel}"),
        ("POST", "/cards/{id}/labels"),
        ("GET", "/cards/{id}/list"),
        ("GET", "/cards/{id}/pluginData"),
        ("GET", "/cards/{id}/stickers"),
        ("GET", "/cards/{id}/{field}"),
        ("GET", "/checklists/{id}/checkItems/{idCheckItem}"),
        ("DELETE", "/checklists/{id}/checkItems/{idCheckItem}"),
        ("PUT", "/checklists/{id}/{field}"),
        ("GET", "/labels/{id}"),
        ("PUT", "/labels/{id}"),
        ("DELETE", "/labels/{id}"),
        ("GET", "/lists/{id}/actions"),
        ("POST", "/lists/{id}/archiveAllCards"),
        ("GET", "/lists/{id}/board"),
        ("PUT", "/lists/{id}/closed"),
        ("PUT", "/lists/{id}/idBoard"),
        ("POST", "/lists/{id}/moveAllCards"),
        ("PUT", "/lists/{id}/{field}"),
        ("GET", "/members/{id}/cards"),
        ("GET", "/members/{id}/{field}"),
        ("GET", "/tokens/{token}"),
        ("GET", "/tokens/{token}/member"),
        ("POST", "/tokens/{token}/webhooks"),
        ("GET", "/tokens/{token}/webhooks/{idWebhook}"),
        ("PUT", "/tokens/{token}/webhooks/{idWebhook}"),
        ("DELETE", "/tokens/{token}/webhooks/{idWebhook}"),
        ("GET", "/webhooks/{id}/{field}"),
    ),
}

# Documentation keys of a schema object (never a property name: those live under "properties").
SCHEMA_DOCS = frozenset({"description", "title", "externalDocs"})
INFO_KEPT = ("title", "version", "license")
OPERATION_KEPT = ("operationId", "deprecated")
COMPONENT_SECTIONS = ("schemas", "responses")


class Reducer:
    """Reduces one OpenAPI 3.0 document; ``refs`` collects the components still to copy."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.refs: set[str] = set()

    def schema(self, node: Any) -> Any:
        """A schema object without its documentation; subschemas reduced the same way."""
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in SCHEMA_DOCS or key.startswith("x-"):
                continue
            if key == "$ref":
                self.refs.add(value)
                out[key] = value
            elif key in ("properties", "patternProperties") and isinstance(value, dict):
                out[key] = {name: self.schema(sub) for name, sub in value.items()}
            elif key in ("items", "not", "additionalProperties"):
                out[key] = self.schema(value)
            elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
                out[key] = [self.schema(sub) for sub in value]
            else:
                # type, enum, required, nullable, format, example, default, discriminator ...
                if key == "discriminator" and isinstance(value, dict):
                    self.refs.update(value.get("mapping", {}).values())
                out[key] = value
        return out

    def response(self, node: dict[str, Any]) -> dict[str, Any]:
        """A response object: its ``$ref``, or its media types' schemas (no headers, examples)."""
        if "$ref" in node:
            self.refs.add(node["$ref"])
            return {"$ref": node["$ref"]}
        out: dict[str, Any] = {}
        if "content" in node:
            out["content"] = {
                media_type: {"schema": self.schema(media["schema"])} if "schema" in media else {}
                for media_type, media in node["content"].items()
            }
        return out

    def operation(self, node: dict[str, Any]) -> dict[str, Any]:
        out = {key: node[key] for key in OPERATION_KEPT if key in node}
        out["responses"] = {
            status: self.response(response) for status, response in node["responses"].items()
        }
        return out

    def reduce(self, operations: Iterable[tuple[str, str]]) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        missing = []
        for method, template in operations:
            operation = self.spec["paths"].get(template, {}).get(method.lower())
            if not isinstance(operation, dict):
                missing.append(f"{method} {template}")
                continue
            paths.setdefault(template, {})[method.lower()] = self.operation(operation)
        if missing:
            raise SystemExit("not in the source spec: " + ", ".join(missing))
        components: dict[str, dict[str, Any]] = {}
        done: set[str] = set()
        while pending := self.refs - done:
            for ref in sorted(pending):
                done.add(ref)
                section, name = _component(ref)
                source = self.spec["components"][section][name]
                reduced = self.schema(source) if section == "schemas" else self.response(source)
                components.setdefault(section, {})[name] = reduced
        info = {key: self.spec["info"][key] for key in INFO_KEPT if key in self.spec["info"]}
        servers = [{"url": server["url"]} for server in self.spec.get("servers", [])]
        return {
            "openapi": self.spec["openapi"],
            "info": info,
            "servers": servers,
            "paths": paths,
            "components": components,
        }


def _component(ref: str) -> tuple[str, str]:
    """``#/components/schemas/Foo`` -> ``("schemas", "Foo")``; anything else is unexpected."""
    parts = ref.split("/")
    if len(parts) != 4 or parts[:2] != ["#", "components"] or parts[2] not in COMPONENT_SECTIONS:
        raise SystemExit(f"unexpected $ref {ref!r}: extend reduce.py to follow it")
    return parts[2], parts[3].replace("~1", "/").replace("~0", "~")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reduce_file(source: Path, target: Path) -> None:
    spec = json.loads(source.read_text(encoding="utf-8"))
    reduced = Reducer(spec).reduce(OPERATIONS[source.name])
    reduced["info"]["x-planerka-reduced-from"] = {
        "url": SOURCES[source.name],
        "sha256": _sha256(source),
        "by": "tests/contract/specs/reduce.py",
    }
    text = json.dumps(reduced, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    target.write_text(text, encoding="utf-8")
    kept = sum(len(methods) for methods in reduced["paths"].values())
    schemas = len(reduced["components"].get("schemas", {}))
    print(
        f"{target.name}: {kept} operations, {schemas} schemas, "
        f"{source.stat().st_size:,} -> {target.stat().st_size:,} bytes"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder holding the full upstream files")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: here)")
    args = parser.parse_args(argv)
    names = [*SOURCES, *COPIED_WHOLE]
    absent = [name for name in names if not (args.source / name).is_file()]
    if absent:
        parser.error(f"not in {args.source}: {', '.join(absent)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        reduce_file(args.source / name, args.out / name)
    for name in COPIED_WHOLE:
        shutil.copyfile(args.source / name, args.out / name)
        print(f"{name}: copied whole, {(args.out / name).stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
