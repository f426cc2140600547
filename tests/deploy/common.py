"""Paths and small readers shared by the deploy/ tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}; $$ escapes.
_VAR_REF = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:]?[-?+][^}]*)?\}")


def var_refs(text: str) -> set[str]:
    """Names of the ${VAR} references in a text, whatever modifier follows the name."""
    return set(_VAR_REF.findall(text))


def data_var_refs(data: Any) -> set[str]:
    """${VAR} references in the string values (and keys) of parsed YAML, comments excluded."""
    if isinstance(data, dict):
        return set().union(*(data_var_refs(k) | data_var_refs(v) for k, v in data.items()))
    if isinstance(data, list):
        return set().union(*(data_var_refs(v) for v in data))
    return var_refs(data) if isinstance(data, str) else set()


def env_example() -> dict[str, str]:
    """deploy/.env.example as a dict: KEY -> value (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f".env.example: not KEY=value: {line!r}"
        out[key.strip()] = value
    return out


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def k8s_docs() -> list[tuple[Path, dict[str, Any]]]:
    """Every object of every manifest in deploy/k8s/, with its file."""
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                docs.append((path, doc))
    return docs


def k8s_object(kind: str) -> dict[str, Any]:
    found = [doc for _, doc in k8s_docs() if doc.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind} in deploy/k8s, found {len(found)}"
    return found[0]
