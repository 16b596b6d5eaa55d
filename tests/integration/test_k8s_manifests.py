"""The Kubernetes manifests under deploy/k8s.

Every resource validates against the Kubernetes schema (offline, strict: unknown fields fail), the
kustomizations only reference files that exist, the web probes hit the health endpoints on the
port gunicorn listens on, every container is sized and locked down, and the scheduler runs as a
single replica. Plain pytest functions: no database and no Django settings needed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
BASE_DIR = K8S_DIR / "base"
PRODUCTION_DIR = K8S_DIR / "overlays" / "production"
SECRET_TEMPLATE = BASE_DIR / "secret.template.yaml"

# The newest schema shipped inside kubernetes-validate 1.37
# (kubernetes_validate/kubernetes-json-schema/v1.37.0-local-strict): no network needed.
K8S_VERSION = "1.37.0"

KUSTOMIZATION_NAMES = {"kustomization.yaml", "kustomization.yml"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
HEALTH_PROBES = {
    "startupProbe": "/health/startup",
    "readinessProbe": "/health/ready",
    "livenessProbe": "/health/live",
}
CONFIG_KEYS = {
    "KEJA_ENV",
    "ALLOWED_HOSTS",
    "KEJA_LOG_FORMAT",
    "KEJA_DB_POOL_MIN",
    "KEJA_DB_POOL_MAX",
    "KEJA_WEB_WORKERS",
    "KEJA_WEB_THREADS",
}
SECRET_KEYS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "KEJA_HEALTH_TOKEN",
    "KEJA_MPESA_CALLBACK_SECRET",
}
EXPECTED_RESOURCES = {
    ("ConfigMap", "keja-config"),
    ("ConfigMap", "keja-redis-config"),
    ("Secret", "keja-secrets"),
    ("Deployment", "keja-web"),
    ("Service", "keja-web"),
    ("Deployment", "keja-worker"),
    ("Deployment", "keja-scheduler"),
    ("Job", "keja-migrate"),
}


# --- loading -------------------------------------------------------------------------------------


def _load_yaml(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def _yaml_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml"})


KUSTOMIZATIONS = [p for p in _yaml_files() if p.name in KUSTOMIZATION_NAMES]


def _kustomization(path: Path) -> dict[str, Any]:
    (doc,) = _load_yaml(path)
    return doc


def _patch_paths(kustomization: dict[str, Any]) -> list[str]:
    paths = [p["path"] for p in kustomization.get("patches", []) if "path" in p]
    return paths + list(kustomization.get("patchesStrategicMerge", []))


def _referenced_files(path: Path) -> set[Path]:
    """Files (not directories) a kustomization lists as resources or patches."""
    k = _kustomization(path)
    entries = [*k.get("resources", []), *k.get("components", []), *_patch_paths(k)]
    return {(path.parent / e).resolve() for e in entries if (path.parent / e).is_file()}


PATCH_FILES = {
    (k.parent / rel).resolve() for k in KUSTOMIZATIONS for rel in _patch_paths(_kustomization(k))
}


def _documents(files: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.relative_to(K8S_DIR)}#{i}", doc)
        for path in files
        for i, doc in enumerate(_load_yaml(path))
    ]


# Kustomizations are not Kubernetes resources, and patches are partial resources: both are
# checked by their own tests below.
DOCUMENTS = _documents(
    [
        p
        for p in _yaml_files()
        if p.name not in KUSTOMIZATION_NAMES and p.resolve() not in PATCH_FILES
    ]
)
PATCH_DOCUMENTS = _documents(sorted(PATCH_FILES))
WORKLOADS = [(ident, doc) for ident, doc in DOCUMENTS if doc.get("kind") in WORKLOAD_KINDS]


def _find(kind: str, name: str, docs: list[tuple[str, dict[str, Any]]] = DOCUMENTS) -> dict:
    matches = [d for _, d in docs if d.get("kind") == kind and d["metadata"].get("name") == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod_spec(doc)
    return [*pod.get("initContainers", []), *pod["containers"]]


_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?")
_SCALE = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
}


def _quantity(value: object) -> Decimal:
    match = _QUANTITY.fullmatch(str(value))
    assert match, f"not a Kubernetes quantity: {value!r}"
    return Decimal(match[1]) * _SCALE[match[2]]


def _validate(ident: str, doc: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) or "<root>"
        pytest.fail(f"{ident}: {where}: {exc.message}")
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(f"{ident}: {exc.message}")


def _assert_sized(ident: str, doc: dict[str, Any]) -> None:
    for container in _containers(doc):
        where = f"{ident} container {container['name']!r}"
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert resource in resources.get(bound, {}), f"{where}: no {bound}.{resource}"
        for resource in ("cpu", "memory"):
            request = _quantity(resources["requests"][resource])
            limit = _quantity(resources["limits"][resource])
            assert request <= limit, f"{where}: {resource} request {request} > limit {limit}"


# --- the tree and the kustomizations -------------------------------------------------------------


def test_expected_resources_exist():
    found = {(doc["kind"], doc["metadata"]["name"]) for _, doc in DOCUMENTS}
    assert found >= EXPECTED_RESOURCES, f"missing: {sorted(EXPECTED_RESOURCES - found)}"
    assert BASE_DIR / "kustomization.yaml" in KUSTOMIZATIONS
    assert PRODUCTION_DIR / "kustomization.yaml" in KUSTOMIZATIONS


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S_DIR)))
def test_kustomization_references_exist(path):
    k = _kustomization(path)
    assert k.get("apiVersion") == "kustomize.config.k8s.io/v1beta1"
    assert k.get("kind") == "Kustomization"
    missing = []
    for entry in [*k.get("resources", []), *k.get("components", [])]:
        assert "://" not in entry, f"{entry}: remote bases make the build depend on the network"
        target = path.parent / entry
        if target.is_dir():
            if not any((target / name).is_file() for name in KUSTOMIZATION_NAMES):
                missing.append(f"{entry} (directory without a kustomization.yaml)")
        elif not target.is_file():
            missing.append(entry)
    missing += [rel for rel in _patch_paths(k) if not (path.parent / rel).is_file()]
    assert not missing, f"{path.relative_to(K8S_DIR)} lists missing paths: {missing}"


def test_base_lists_every_manifest_except_the_secret_template():
    listed = _referenced_files(BASE_DIR / "kustomization.yaml")
    on_disk = {
        p.resolve()
        for p in BASE_DIR.iterdir()
        if p.suffix in {".yaml", ".yml"} and p.name not in KUSTOMIZATION_NAMES
    }
    assert listed == on_disk - {SECRET_TEMPLATE.resolve()}
    # Applying the template would overwrite the real Secret with placeholders.
    for path in KUSTOMIZATIONS:
        assert SECRET_TEMPLATE.resolve() not in _referenced_files(path), path


@pytest.mark.parametrize(
    "doc", [d for _, d in PATCH_DOCUMENTS], ids=[i for i, _ in PATCH_DOCUMENTS]
)
def test_patches_target_existing_resources(doc):
    _find(doc["kind"], doc["metadata"]["name"])


# --- schema --------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [d for _, d in DOCUMENTS], ids=[i for i, _ in DOCUMENTS])
def test_resource_matches_kubernetes_schema(doc, request):
    _validate(request.node.callspec.id, doc)


# --- configuration -------------------------------------------------------------------------------


def test_configmap_holds_the_non_secret_settings():
    data = _find("ConfigMap", "keja-config")["data"]
    assert set(data) >= CONFIG_KEYS, f"missing: {sorted(CONFIG_KEYS - set(data))}"
    assert not SECRET_KEYS & set(data), "secret values belong in keja-secrets"
    assert data["KEJA_ENV"] == "production"
    assert data["KEJA_LOG_FORMAT"] == "json"
    assert int(data["KEJA_DB_POOL_MIN"]) <= int(data["KEJA_DB_POOL_MAX"])


def test_secret_template_holds_only_placeholders():
    secret = _find("Secret", "keja-secrets")
    assert "data" not in secret, "use stringData with visible placeholders, not base64 data"
    values = secret["stringData"]
    assert set(values) == SECRET_KEYS
    real = {key for key, value in values.items() if "change-me" not in value}
    assert not real, f"not a placeholder: {sorted(real)}"


def test_redis_is_bounded():
    conf = _find("ConfigMap", "keja-redis-config")["data"]["redis.conf"]
    settings = dict(line.split(None, 1) for line in conf.splitlines() if line.strip())
    assert settings["maxmemory"] == "512mb"
    assert settings["maxmemory-policy"] == "volatile-lru"


# --- web probes ----------------------------------------------------------------------------------


def _web_container() -> dict[str, Any]:
    (container,) = _pod_spec(_find("Deployment", "keja-web"))["containers"]
    return container


def _bind_port(container: dict[str, Any]) -> int:
    argv = [*container.get("command", []), *container.get("args", [])]
    if "--bind" in argv:
        bind = argv[argv.index("--bind") + 1]
    else:
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env.get("KEJA_BIND"), "gunicorn must bind to 0.0.0.0 (--bind or KEJA_BIND)"
        bind = env["KEJA_BIND"]
    host, port = bind.rsplit(":", 1)
    assert host == "0.0.0.0", f"gunicorn binds {bind}: unreachable from the kubelet"  # noqa: S104
    return int(port)


def _resolve_port(container: dict[str, Any], port: int | str) -> int | None:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container["ports"] if "name" in p}
    return named.get(port)


@pytest.mark.parametrize(("probe_name", "path"), HEALTH_PROBES.items())
def test_web_probe_hits_its_health_endpoint_on_the_container_port(probe_name, path):
    container = _web_container()
    container_ports = {p["containerPort"] for p in container["ports"]}
    bind_port = _bind_port(container)
    assert bind_port in container_ports, f"gunicorn listens on {bind_port}, not declared"
    probe = container.get(probe_name)
    assert probe, f"web has no {probe_name}"
    http = probe.get("httpGet")
    assert http, f"{probe_name} must be an httpGet probe"
    assert http["path"] == path
    assert _resolve_port(container, http["port"]) == bind_port
    assert http.get("scheme", "HTTP") == "HTTP"


def test_web_probe_timings():
    container = _web_container()
    startup = container["startupProbe"]
    budget = startup.get("initialDelaySeconds", 0) + startup.get("periodSeconds", 10) * startup.get(
        "failureThreshold", 3
    )
    assert budget >= 300, f"startup probe gives up after {budget} s; migrations need ~5 minutes"
    # Readiness checks PostgreSQL, Redis and the broker with a 1 s budget each, in parallel.
    assert container["readinessProbe"].get("timeoutSeconds", 1) >= 2
    for name in HEALTH_PROBES:
        probe = container[name]
        assert probe.get("timeoutSeconds", 1) < probe.get("periodSeconds", 10), name


def _allowed_hosts() -> list[set[str]]:
    """ALLOWED_HOSTS as set by the base ConfigMap and by every overlay patch of it."""
    docs = [_find("ConfigMap", "keja-config")]
    docs += [
        d
        for _, d in PATCH_DOCUMENTS
        if (d["kind"], d["metadata"]["name"]) == ("ConfigMap", "keja-config")
    ]
    values = [d.get("data", {}).get("ALLOWED_HOSTS") for d in docs]
    return [{h.strip() for h in v.split(",")} for v in values if v is not None]


def test_web_probe_host_header_is_an_allowed_host():
    # Django answers 400 to a Host it does not list; without a Host header the kubelet sends the
    # pod IP, which ALLOWED_HOSTS cannot list.
    container = _web_container()
    for name in HEALTH_PROBES:
        headers = {
            h["name"].lower(): h["value"] for h in container[name]["httpGet"].get("httpHeaders", [])
        }
        host = headers.get("host")
        for allowed in _allowed_hosts():
            assert host in allowed or "*" in allowed, f"{name}: Host {host!r} not in {allowed}"


# --- every workload ------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [d for _, d in WORKLOADS], ids=[i for i, _ in WORKLOADS])
def test_every_container_has_requests_and_limits(doc, request):
    _assert_sized(request.node.callspec.id, doc)


@pytest.mark.parametrize("doc", [d for _, d in WORKLOADS], ids=[i for i, _ in WORKLOADS])
def test_pods_are_locked_down(doc):
    pod = _pod_spec(doc)
    assert pod.get("securityContext", {}).get("runAsNonRoot") is True
    assert "terminationGracePeriodSeconds" in pod
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for container in _containers(doc):
        name = container["name"]
        security = container.get("securityContext", {})
        assert security.get("allowPrivilegeEscalation") is False, name
        assert "ALL" in security.get("capabilities", {}).get("drop", []), name
        assert security.get("readOnlyRootFilesystem") is True, name
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{name}: read-only root needs a writable /tmp"
        assert "emptyDir" in volumes[mounts["/tmp"]], name
        refs = {
            (kind, ref["name"])
            for source in container.get("envFrom", [])
            for kind, ref in source.items()
        }
        assert ("configMapRef", "keja-config") in refs, name
        assert ("secretRef", "keja-secrets") in refs, name


@pytest.mark.parametrize("name", ["keja-web", "keja-worker", "keja-scheduler"])
def test_deployments_roll_without_dropping_capacity(name):
    strategy = _find("Deployment", name)["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    if name == "keja-web":
        assert strategy["rollingUpdate"]["maxSurge"] == 1


@pytest.mark.parametrize("name", ["keja-worker", "keja-scheduler"])
def test_background_processes_have_an_exec_liveness_probe(name):
    (container,) = _pod_spec(_find("Deployment", name))["containers"]
    assert "exec" in container.get("livenessProbe", {}), name


def test_scheduler_runs_exactly_one_replica():
    assert _find("Deployment", "keja-scheduler")["spec"].get("replicas") == 1
    for path in KUSTOMIZATIONS:
        for entry in _kustomization(path).get("replicas", []):
            if entry["name"] == "keja-scheduler":
                assert entry["count"] == 1, path
    assert not [
        d
        for _, d in DOCUMENTS
        if d["kind"] == "HorizontalPodAutoscaler"
        and d["spec"]["scaleTargetRef"]["name"] == "keja-scheduler"
    ]


# --- the rendered production overlay -------------------------------------------------------------


def _kustomize_command(directory: Path) -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build", str(directory)]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", str(directory)]
    return None


@pytest.fixture(scope="module")
def production() -> list[tuple[str, dict[str, Any]]]:
    command = _kustomize_command(PRODUCTION_DIR)
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d is not None]
    return [(f"{d['kind']}/{d['metadata']['name']}", d) for d in docs]


def test_production_overlay_renders_valid_resources(production):
    for ident, doc in production:
        _validate(f"production {ident}", doc)
        assert doc["metadata"].get("namespace"), f"{ident} has no namespace"
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "keja", ident
        if doc["kind"] in WORKLOAD_KINDS:
            _assert_sized(f"production {ident}", doc)
            for container in _containers(doc):
                image = container["image"]
                assert not image.startswith("keja:"), f"{ident}: placeholder image {image}"
                assert ":" in image.rsplit("/", 1)[-1], f"{ident}: untagged image {image}"
                assert not image.endswith(":latest"), f"{ident}: moving tag {image}"
    kinds = {doc["kind"] for _, doc in production}
    assert "Secret" not in kinds, "the build must never carry the Secret"


def test_production_overlay_replicas(production):
    assert _find("Deployment", "keja-web", production)["spec"]["replicas"] == 3
    assert _find("Deployment", "keja-scheduler", production)["spec"]["replicas"] == 1
