"""deploy/ checked offline (issue 21): Kubernetes manifests against Kubernetes' own JSON schemas (kubernetes-validate
bundles them; strict: an unknown field fails), compose.yaml against the compose-spec schema (check-jsonschema vendors
it), and what the schemas can't say: probes, the non-root read-only container, secrets as files, selectors that
match. The ServiceMonitor is a Prometheus Operator CRD whose schema no PyPI package ships: its fields are asserted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema

from bot.config import SECRET_NAMES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
# The oldest Kubernetes still commonly run, and the newest the package knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}


def documents() -> list[dict[str, Any]]:
    return [doc for path in KUBERNETES for doc in yaml.safe_load_all(path.read_text()) if doc]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents() if doc["kind"] == kind]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_is_valid_for_its_kind(version: str) -> None:
    checked = 0
    for doc in documents():
        if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 7, "the manifests were not found"


def test_the_validator_refuses_an_unknown_field() -> None:
    """The check above has teeth: a misspelt field fails."""
    web = of_kind("Deployment")[0]
    broken = {**web, "spec": {**web["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def deployments() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["labels"]["app.kubernetes.io/component"]: doc for doc in of_kind("Deployment")}


def test_web_and_worker_run_the_same_image_as_non_root_on_a_read_only_root() -> None:
    found = deployments()
    assert set(found) == {"web", "worker"}
    images = set()
    for component, doc in found.items():
        pod = doc["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        images.add(container["image"])
        assert container["command"] == ["python", "-m", "bot"] + (["worker"] if component == "worker" else [])
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
        assert "/tmp" in mounts, "the one writable place"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and container["resources"]["limits"]
    assert len(images) == 1


def test_secrets_come_from_the_secret_as_files_through_name_file() -> None:
    (config,) = of_kind("ConfigMap")
    settings = config["data"]
    assert not set(SECRET_NAMES) & set(settings), "a secret value in a ConfigMap"
    for component, doc in deployments().items():
        pod = doc["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert {"configMapRef": {"name": config["metadata"]["name"]}} in container["envFrom"]
        assert not any(entry["name"] in SECRET_NAMES for entry in container.get("env", [])), component
        secret_volume = next(v for v in pod["volumes"] if "secret" in v)
        mount = next(m for m in container["volumeMounts"] if m["name"] == secret_volume["name"])
        assert mount["readOnly"] is True
        files = {name: path for name, path in settings.items() if name.endswith("_FILE")}
        assert files and all(path.startswith(mount["mountPath"] + "/") for path in files.values())
        assert {name.removesuffix("_FILE") for name in files} <= set(SECRET_NAMES)


def test_services_budgets_and_the_service_monitor_select_the_pods() -> None:
    pods = {component: doc["spec"]["template"]["metadata"]["labels"] for component, doc in deployments().items()}

    def selects(selector: dict[str, str]) -> set[str]:
        return {component for component, labels in pods.items() if selector.items() <= labels.items()}

    services = of_kind("Service")
    assert {frozenset(selects(s["spec"]["selector"])) for s in services} == {frozenset({"web"}),
                                                                            frozenset({"worker"})}
    budgets = of_kind("PodDisruptionBudget")
    assert {frozenset(selects(b["spec"]["selector"]["matchLabels"])) for b in budgets} == {
        frozenset({"web"}), frozenset({"worker"})}
    (monitor,) = of_kind("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) == {"selector", "endpoints"}
    watched = [s for s in services if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"][
        "labels"].items()]
    assert {s["metadata"]["name"] for s in watched} == {"meetbot-web", "meetbot-worker"}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout"}
    assert all(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in watched)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_compose_file_is_valid_for_the_compose_spec() -> None:
    schema = get_builtin_schema("vendor.compose-spec")
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []
    broken = {**compose(), "services": {"web": {"image": "x", "restart_policy": "always"}}}
    assert list(validator.iter_errors(broken)), "the schema check has no teeth"


def test_compose_runs_web_worker_and_redis_with_aof_and_secrets_as_files() -> None:
    file = compose()
    services = file["services"]
    assert set(services) == {"web", "worker", "redis"}
    assert services["web"]["command"] == ["python", "-m", "bot"]
    assert services["worker"]["command"] == ["python", "-m", "bot", "worker"]
    for name in ("web", "worker"):
        service = services[name]
        assert service["read_only"] is True and service["tmpfs"] == ["/tmp"] and service["user"] == "10001:10001"
        environment = service["environment"]
        # REDIS_URL names the compose network's own Redis, which has no password: not a secret here.
        assert not (set(SECRET_NAMES) - {"REDIS_URL"}) & set(environment), "a secret as an environment value"
        for secret in service["secrets"]:
            assert f"/run/secrets/{secret}" in environment.values()
            assert secret in file["secrets"]
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
