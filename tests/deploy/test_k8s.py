"""deploy/k8s/: every manifest parses and the objects fit together (image, env, config, probes)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy.common import K8S, k8s_docs, k8s_object

EXPECTED = {
    "Secret": "v1",
    "ConfigMap": "v1",
    "Deployment": "apps/v1",
    "Service": "v1",
    "CronJob": "batch/v1",
}
CONFIG_PATH = "/config/planerka.yaml"


def pod_spec(kind: str) -> dict[str, Any]:
    obj = k8s_object(kind)
    if kind == "CronJob":
        spec: dict[str, Any] = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    else:
        spec = obj["spec"]["template"]["spec"]
    return spec


def container(kind: str) -> dict[str, Any]:
    containers = pod_spec(kind)["containers"]
    assert len(containers) == 1
    main: dict[str, Any] = containers[0]
    return main


def test_every_manifest_parses_with_known_kind_and_api_version() -> None:
    files = sorted(K8S.glob("*.yaml"))
    assert {p.name for p in files} >= {
        "secret.yaml",
        "configmap.yaml",
        "deployment.yaml",
        "service.yaml",
        "cronjob.yaml",
    }
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        assert docs, f"{path.name} is empty"
    kinds = {}
    for path, doc in k8s_docs():
        kind = doc.get("kind")
        assert kind in EXPECTED, f"{path.name}: unexpected kind {kind!r}"
        assert doc.get("apiVersion") == EXPECTED[kind], f"{path.name}: {doc.get('apiVersion')}"
        assert doc["metadata"]["name"], path.name
        assert "namespace" not in doc["metadata"], "leave the namespace to `kubectl -n`"
        kinds[kind] = path.name
    assert set(kinds) == set(EXPECTED)


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_workloads_name_the_image_take_the_secret_and_mount_the_config(kind: str) -> None:
    main = container(kind)
    image = main["image"]
    assert image.rsplit(":", 1)[0].rsplit("/", 1)[-1] == "planerka-sync"
    assert image == "planerka-sync:0.1.0"

    secret = k8s_object("Secret")["metadata"]["name"]
    assert {"secretRef": {"name": secret}} in main["envFrom"]

    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env["PLANERKA_CONFIG"] == CONFIG_PATH
    volumes = {v["name"]: v for v in pod_spec(kind)["volumes"]}
    mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
    config_mount = mounts["/config"]
    assert config_mount["readOnly"] is True
    configmap = k8s_object("ConfigMap")
    assert volumes[config_mount["name"]]["configMap"]["name"] == configmap["metadata"]["name"]
    assert CONFIG_PATH.rsplit("/", 1)[1] in configmap["data"]

    # Non-root, read-only root filesystem, and a writable /tmp.
    pod_security = pod_spec(kind)["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == 10001  # the Dockerfile's USER
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert main["resources"]["limits"]["memory"] == "256Mi"
    assert main["resources"]["requests"]["memory"]


def test_deployment_replicas_probes_and_shutdown() -> None:
    deployment = k8s_object("Deployment")
    assert deployment["spec"]["replicas"] == 3
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    main = container("Deployment")
    assert main["args"][0] == "run" and "--once" not in main["args"]
    http = main["args"][main["args"].index("--http") + 1]
    assert http.startswith("0.0.0.0:"), "probes reach the pod IP, not loopback"
    assert http.endswith(":9108")
    assert 9108 in [p["containerPort"] for p in main["ports"]]
    for probe in ("readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"] == {"path": "/healthz", "port": 9108}, probe
    assert pod_spec("Deployment")["terminationGracePeriodSeconds"] == 20


def test_cronjob_is_the_once_alternative() -> None:
    cronjob = k8s_object("CronJob")
    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    args = container("CronJob")["args"]
    assert args[:2] == ["run", "--once"]
    assert pod_spec("CronJob")["restartPolicy"] in {"Never", "OnFailure"}


def test_metrics_service_selects_the_daemon_pods() -> None:
    service = k8s_object("Service")
    labels = k8s_object("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [9108]


def test_secret_lists_every_variable_with_a_placeholder() -> None:
    secret = k8s_object("Secret")
    assert secret["type"] == "Opaque"
    assert set(secret["stringData"]) == {
        "PGPASSWORD",
        "TRELLO_API_KEY",
        "TRELLO_TOKEN",
        "JIRA_EMAIL",
        "JIRA_TOKEN",
    }


def test_manifests_match_the_kubernetes_schemas_when_available() -> None:
    # Optional, stricter: the PyPI package kubernetes-validate bundles the Kubernetes API's JSON
    # schemas. `pip install kubernetes-validate` to run it; not installed by .ci/run.
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="pip install kubernetes-validate for the strict schema check"
    )
    for path, doc in k8s_docs():
        for version in ("1.28.0", kubernetes_validate.latest_version()):
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{path.name} (Kubernetes {version}): {error}")
