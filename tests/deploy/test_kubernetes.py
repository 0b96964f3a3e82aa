"""deploy/kubernetes: every overlay renders with `kubectl kustomize`, passes `kubernetes-validate --strict` and
checkov's Kubernetes checks offline, and fits the code it deploys: probe paths, ports, environment names, commands,
the image's user. kubectl comes with the machine; without it these tests skip on a laptop and fail in CI."""

import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.http.request import validate_host
from django.urls import Resolver404, resolve

from tests.helpers.processes import BASE_DIR

# Management commands the manifests run that the service does not have yet (issue 27): `migrate_with_lock`
# (migrate under a PostgreSQL advisory lock, the migration Job) and `beat_alive` (beat's probes). The engineer who
# adds one removes it here: the test fails while a name below is already a command, so the set cannot go stale.
PENDING_COMMANDS: set[str] = set()

# Environment names the manifests set that config/ does not read yet: the service engineers are adding them (issue
# 27). Same rule: once config/ reads one, the test fails until it leaves this set.
PENDING_ENV: set[str] = set()

# Names the manifests use that no code of ours reads, each on purpose.
ENV_ALLOW_LIST = {
    "HOSTNAME": "set by the container runtime to the pod's name: the worker probes ping celery@$HOSTNAME",
}

# kubernetes-validate knows the Kubernetes API only, not custom resources: these kinds are validated against the
# schema this repository ships for them instead (deploy/kubernetes/schemas/).
CUSTOM_RESOURCE_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh-v1alpha1.json",
}

KUBERNETES_VERSION = "1.32.0"
DEPLOY = BASE_DIR / "deploy" / "kubernetes"
OVERLAYS = ("staging", "production")
WORKLOAD_KINDS = {"Deployment", "Job"}
SECRETS = {"drm-app", "drm-datastores"}
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# --- Rendering --------------------------------------------------------------------------------------------------


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        message = "kubectl is not on PATH: the Kubernetes manifests cannot be rendered"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@cache
def _render(overlay: str) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{overlay} does not render:\n{result.stderr}"
    return result.stdout


class Rendered:
    """One overlay as `kubectl kustomize` renders it."""

    def __init__(self, overlay: str, text: str) -> None:
        self.overlay = overlay
        self.text = text
        self.docs: list[dict[str, Any]] = [doc for doc in yaml.safe_load_all(text) if doc]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.docs if doc["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [doc for doc in self.of_kind(kind) if doc["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.overlay}: {len(found)} {kind} named {name}"
        return found[0]

    def workloads(self) -> list[dict[str, Any]]:
        return [doc for doc in self.docs if doc["kind"] in WORKLOAD_KINDS]

    def config(self) -> dict[str, str]:
        (config_map,) = [doc for doc in self.of_kind("ConfigMap") if doc["metadata"]["name"].startswith("drm-config")]
        return dict(config_map["data"])


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def app_container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_spec(workload)["containers"]
    return container


def component(workload: dict[str, Any]) -> str:
    return workload["metadata"]["labels"]["app.kubernetes.io/component"]


def workload_of(rendered: Rendered, name: str) -> dict[str, Any]:
    return rendered.get("Deployment", name)


def probes(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {kind: container[kind] for kind in ("startupProbe", "readinessProbe", "livenessProbe") if kind in container}


@pytest.fixture(params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return Rendered(request.param, _render(request.param))


@pytest.fixture
def rendered_file(rendered: Rendered, tmp_path: Path) -> Path:
    path = tmp_path / f"{rendered.overlay}.yaml"
    path.write_text(rendered.text)
    return path


def test_each_overlay_renders_every_part(rendered: Rendered) -> None:
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in rendered.docs}
    for expected in [
        ("Deployment", "drm-web"),
        ("Deployment", "drm-worker"),
        ("Deployment", "drm-beat"),
        ("Service", "drm-web"),
        ("Ingress", "drm-web"),
        ("PodDisruptionBudget", "drm-web"),
        ("HorizontalPodAutoscaler", "drm-web"),
        ("NetworkPolicy", "drm-default-deny"),
        ("ServiceAccount", "drm"),
    ]:
        assert expected in kinds, f"{rendered.overlay} lacks {expected}"
    assert len(rendered.of_kind("Job")) == 1
    namespaces = {doc["metadata"].get("namespace") for doc in rendered.docs if doc["kind"] != "Namespace"}
    assert namespaces == {f"drm-{rendered.overlay}"}


# --- The validators ---------------------------------------------------------------------------------------------


def test_kubernetes_validate_strict(rendered: Rendered, rendered_file: Path) -> None:
    """Every resource against the Kubernetes API's schema (unknown fields refused); the custom resources, which it
    has no schema for, against the schemas shipped beside the manifests."""
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "-k", KUBERNETES_VERSION, "--strict", "--quiet", rendered_file],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    warned = set(re.findall(r"Couldn't find schema for kind (\S+) with api version (\S+)", result.stdout))
    expected = {
        (doc["kind"], doc["apiVersion"])
        for doc in rendered.docs
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_RESOURCE_SCHEMAS
    }
    assert warned == expected, result.stdout
    other_lines = [line for line in result.stdout.splitlines() if line and "Couldn't find schema" not in line]
    assert other_lines == []
    for doc in rendered.docs:
        schema_file = CUSTOM_RESOURCE_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        if schema_file:
            schema = json.loads((DEPLOY / "schemas" / schema_file).read_text())
            jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)


def checkov_binary() -> Path:
    """checkov's own virtualenv (requirements/checkov.txt), made by `make checkov` when it is missing."""
    venv = Path(sys.prefix) / "tools" / "checkov"
    binary = venv / "bin" / "checkov"
    if not binary.exists():
        made = subprocess.run(
            ["make", "--no-print-directory", "checkov", f"VENV={sys.prefix}"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert made.returncode == 0, made.stdout + made.stderr
    return binary


def checkov_env(home: Path) -> dict[str, str]:
    """Offline: no platform key, no policy download (--skip-download), no version check."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BC_", "PRISMA_", "CKV_"))}
    env.update(HOME=str(home), CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", BC_SKIP_MAPPING="TRUE")
    return env


@pytest.mark.slow
def test_checkov_kubernetes_checks_pass(rendered: Rendered, rendered_file: Path, tmp_path: Path) -> None:
    """No failed check; each skip is a `checkov.io/skip` annotation on the resource, with its reason."""
    result = subprocess.run(
        [
            checkov_binary(),
            "--file",
            rendered_file,
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=checkov_env(tmp_path),
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]]
    assert failed == [], result.stdout[-5000:]
    assert result.returncode == 0, result.stderr
    assert report["summary"]["passed"] > 100
    for skipped in report["results"]["skipped_checks"]:
        assert skipped["check_result"]["suppress_comment"].strip(), skipped["check_id"]
    # Every skip written in the manifests is `CKV_...=<reason>`.
    for doc in rendered.docs:
        for key, value in doc["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                assert re.fullmatch(r"CKV2?_K8S_\d+=\S.{20,}", value), (doc["metadata"]["name"], value)


# --- Probes and ports against the code --------------------------------------------------------------------------


def http_probes(rendered: Rendered) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for workload in rendered.workloads():
        container = app_container(workload)
        for probe in probes(container).values():
            if "httpGet" in probe:
                yield container, probe["httpGet"]


def test_probe_paths_resolve_in_the_url_conf(rendered: Rendered) -> None:
    paths = {probe["path"] for _, probe in http_probes(rendered)}
    assert {"/health/live/", "/health/ready/"} <= paths
    for path in paths:
        try:
            resolve(path)
        except Resolver404:
            pytest.fail(f"{rendered.overlay}: probe path {path} is not in config.urls")


def test_probe_host_header_is_an_allowed_host(rendered: Rendered) -> None:
    """Django refuses a Host header outside ALLOWED_HOSTS (400) before any view: the kubelet's probes name one."""
    allowed = rendered.config()["ALLOWED_HOSTS"].split(",")
    for _, probe in http_probes(rendered):
        (host,) = [header["value"] for header in probe.get("httpHeaders", []) if header["name"].lower() == "host"]
        assert validate_host(host, allowed), (host, allowed)


@pytest.mark.django_db
def test_probes_answer_200_with_the_manifest_host(rendered: Rendered, client, settings) -> None:
    settings.ALLOWED_HOSTS = rendered.config()["ALLOWED_HOSTS"].split(",")
    for _, probe in http_probes(rendered):
        headers = {header["name"].lower(): header["value"] for header in probe.get("httpHeaders", [])}
        answer = client.get(probe["path"], HTTP_HOST=headers["host"])
        assert answer.status_code == 200, (probe["path"], answer.content[:500])


def gunicorn_config(config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """config/gunicorn.py's values under the ConfigMap's environment."""
    for name in [name for name in os.environ if name.startswith("GUNICORN_")]:
        monkeypatch.delenv(name)
    for name, value in config.items():
        if name.startswith("GUNICORN_"):
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "config" / "gunicorn.py"))


def container_port(container: dict[str, Any], name: str) -> int:
    (port,) = [port["containerPort"] for port in container.get("ports", []) if port["name"] == name]
    return int(port)


def test_web_port_is_gunicorns_bind(rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    bind = gunicorn_config(rendered.config(), monkeypatch)["bind"]
    port = int(bind.rsplit(":", 1)[1])
    web = app_container(workload_of(rendered, "drm-web"))
    assert container_port(web, "http") == port
    for _, probe in http_probes(rendered):
        assert probe["port"] in ("http", port)
    annotations = workload_of(rendered, "drm-web")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    service = rendered.get("Service", "drm-web")
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in ("http", port)
    for rule in rendered.get("Ingress", "drm-web")["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "drm-web"
            assert (
                backend["port"].get("name") == service_port["name"]
                or backend["port"].get("number") == (service_port["port"])
            )


def test_worker_metrics_port_is_the_configured_one(rendered: Rendered) -> None:
    port = int(rendered.config()["WORKER_METRICS_PORT"])
    worker = workload_of(rendered, "drm-worker")
    assert container_port(app_container(worker), "metrics") == port
    assert worker["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert rendered.get("Service", "drm-worker-metrics")["spec"]["ports"][0]["targetPort"] in ("metrics", port)


# --- Environment names ------------------------------------------------------------------------------------------


@cache
def names_the_code_reads() -> frozenset[str]:
    """Every quoted upper-case name in config/ (settings, gunicorn, celery, wsgi): what `env("NAME")` and
    `os.environ.get("NAME")` read."""
    text = "\n".join(path.read_text() for path in sorted((BASE_DIR / "config").rglob("*.py")))
    return frozenset(re.findall(r"""["']([A-Z][A-Z0-9_]+)["']""", text))


def shell_variables(words: list[str]) -> set[str]:
    text = " ".join(words)
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text)) | set(re.findall(r"\$\(([A-Z_][A-Z0-9_]*)\)", text))


def env_names(rendered: Rendered) -> dict[str, str]:
    """name -> where the manifests use it."""
    names = {name: "ConfigMap drm-config" for name in rendered.config()}
    for workload in rendered.workloads():
        container = app_container(workload)
        where = f"{workload['kind']} {workload['metadata']['name']}"
        for entry in container.get("env", []):
            names[entry["name"]] = where
            secret = entry.get("valueFrom", {}).get("secretKeyRef")
            if secret:
                names[secret["key"]] = f"{where}, Secret {secret['name']}"
        for words in commands(container):
            for name in shell_variables(words):
                names[name] = f"{where}, command {shlex.join(words)}"
    for auth in rendered.of_kind("TriggerAuthentication"):
        for ref in auth["spec"].get("secretTargetRef", []):
            names[ref["key"]] = f"TriggerAuthentication {auth['metadata']['name']}, Secret {ref['name']}"
    return names


def test_every_env_name_is_read_by_the_code(rendered: Rendered) -> None:
    read = names_the_code_reads()
    unknown = {
        name: where
        for name, where in env_names(rendered).items()
        if name not in read and name not in PENDING_ENV and name not in ENV_ALLOW_LIST
    }
    assert unknown == {}, "names nothing in config/ reads (a typo, or add them to PENDING_ENV / ENV_ALLOW_LIST)"


def test_pending_env_names_are_still_pending() -> None:
    """A name the service now reads leaves PENDING_ENV; a name no manifest uses any more does too."""
    assert PENDING_ENV & names_the_code_reads() == set(), "config/ reads these now: remove them from PENDING_ENV"
    used: set[str] = set()
    for overlay in OVERLAYS:
        used.update(env_names(Rendered(overlay, _render(overlay))))
    assert PENDING_ENV - used == set(), "no manifest uses these: remove them from PENDING_ENV"
    assert set(ENV_ALLOW_LIST) <= used


# --- Commands ---------------------------------------------------------------------------------------------------


def commands(container: dict[str, Any]) -> list[list[str]]:
    """Every command line the container runs: its own and its exec probes', `sh -c` scripts split into words."""
    lines = [[*container.get("command", []), *container.get("args", [])]]
    lines += [probe["exec"]["command"] for probe in probes(container).values() if "exec" in probe]
    result = []
    for words in lines:
        if words[:2] in (["sh", "-c"], ["/bin/sh", "-c"]):
            script = words[2]
            assert not re.search(r"[;&|`]|\$\(", script), f"one command per sh -c, please: {script}"
            result.append(shlex.split(script))
        else:
            result.append(words)
    return result


def dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", (BASE_DIR / "Dockerfile").read_text(), re.MULTILINE)
    assert match
    return json.loads(match.group(1))


def check_celery(words: list[str]) -> None:
    from celery.app.control import Inspect
    from celery.bin.celery import celery

    makefile = (BASE_DIR / "Makefile").read_text()
    assert words[1:3] in (["-A", "config"], ["--app", "config"]), words
    subcommand, *options = words[3:]
    assert subcommand in ("worker", "beat", "inspect"), words
    if subcommand != "inspect":
        assert re.search(rf"celery -A config {subcommand}\b", makefile), f"the Makefile runs no `{subcommand}`"
    known = {option for param in celery.commands[subcommand].params for option in (*param.opts, *param.secondary_opts)}
    for option in options:
        if option.startswith("-"):
            assert option.split("=", 1)[0] in known, f"celery {subcommand} has no option {option}"
    if subcommand == "inspect":
        assert callable(getattr(Inspect, options[0], None)), f"celery inspect has no action {options[0]}"


def all_commands(rendered: Rendered) -> Iterator[tuple[dict[str, Any], list[str]]]:
    for workload in rendered.workloads():
        for words in commands(app_container(workload)):
            yield workload, words


def test_every_command_is_a_real_one(rendered: Rendered) -> None:
    django_commands = set(get_commands())
    for workload, words in all_commands(rendered):
        assert words, workload["metadata"]["name"]
        if words[:2] == ["python", "manage.py"]:
            assert words[2] in django_commands | PENDING_COMMANDS, f"manage.py has no command {words[2]}"
        elif words[0] == "gunicorn":
            assert words == dockerfile_cmd(), "web runs what the image's CMD runs"
            assert (BASE_DIR / words[words.index("-c") + 1]).is_file()
        elif words[0] == "celery":
            check_celery(words)
        else:
            pytest.fail(f"{workload['metadata']['name']} runs {words}: neither manage.py, gunicorn nor celery")


def test_pending_commands_are_still_pending() -> None:
    assert PENDING_COMMANDS & set(get_commands()) == set(), "these exist now: remove them from PENDING_COMMANDS"
    run = {
        words[2]
        for overlay in OVERLAYS
        for _, words in all_commands(Rendered(overlay, _render(overlay)))
        if words[:2] == ["python", "manage.py"]
    }
    assert run >= PENDING_COMMANDS, "no manifest runs these: remove them from PENDING_COMMANDS"


def test_only_the_migration_job_migrates(rendered: Rendered) -> None:
    (job,) = rendered.of_kind("Job")
    assert commands(app_container(job)) == [["python", "manage.py", "migrate_with_lock"]]
    assert pod_spec(job)["restartPolicy"] == "Never"
    for workload, words in all_commands(rendered):
        if workload is not job:
            assert not any(word.startswith("migrate") for word in words), (workload["metadata"]["name"], words)


def test_each_release_has_its_own_migration_job(rendered: Rendered) -> None:
    (job,) = rendered.of_kind("Job")
    image = app_container(workload_of(rendered, "drm-web"))["image"]
    tag = image.rsplit(":", 1)[1]
    assert job["metadata"]["name"] == f"drm-migrate-{tag}"
    for workload in rendered.workloads():
        assert app_container(workload)["image"] == image


# --- Web, workers, beat -----------------------------------------------------------------------------------------


def test_web_rolls_out_without_losing_capacity(rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    web = workload_of(rendered, "drm-web")
    assert web["spec"].get("replicas", 2) >= 2
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    hpa = rendered.get("HorizontalPodAutoscaler", "drm-web")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "drm-web"}
    assert hpa["spec"]["minReplicas"] >= 2
    assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]
    pdb = rendered.get("PodDisruptionBudget", "drm-web")
    assert pdb["spec"]["selector"] == web["spec"]["selector"]
    spread = {constraint["topologyKey"]: constraint for constraint in pod_spec(web)["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["labelSelector"] == web["spec"]["selector"]
    container = app_container(web)
    assert set(probes(container)) == {"startupProbe", "readinessProbe", "livenessProbe"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready/"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live/"
    # SIGTERM: the pod turns unready and serves DRAIN_SECONDS, then gunicorn's graceful stop; the grace covers both.
    config = rendered.config()
    drain = int(config["DRAIN_SECONDS"])
    graceful = int(config.get("GUNICORN_GRACEFUL_TIMEOUT") or gunicorn_config(config, monkeypatch)["graceful_timeout"])
    assert pod_spec(web)["terminationGracePeriodSeconds"] >= drain + graceful + 5
    readiness = container["readinessProbe"]
    assert readiness["periodSeconds"] * readiness["failureThreshold"] < drain, "unready within the drain"


def test_worker_outlives_its_longest_task_and_pings_itself(rendered: Rendered) -> None:
    worker = workload_of(rendered, "drm-worker")
    time_limit = int(rendered.config().get("CELERY_TASK_TIME_LIMIT") or settings.CELERY_TASK_TIME_LIMIT)
    assert pod_spec(worker)["terminationGracePeriodSeconds"] > time_limit
    container = app_container(worker)
    assert "--hostname=celery@%h" in container["command"], "the node name the probes ping"
    ping = ["celery", "-A", "config", "inspect", "ping", "-d", "celery@$HOSTNAME", "--timeout", "5"]
    for kind in ("livenessProbe", "readinessProbe"):
        assert commands({"command": container[kind]["exec"]["command"]}) == [ping], kind


def settings_queues(config: dict[str, str]) -> set[str]:
    """CELERY_TASK_QUEUES' names under the ConfigMap's CELERY_QUEUE_PREFIX (the test settings use a prefix of
    their own)."""
    prefix = config.get("CELERY_QUEUE_PREFIX", "")
    return {prefix + queue.name.removeprefix(settings.CELERY_QUEUE_PREFIX) for queue in settings.CELERY_TASK_QUEUES}


def test_workers_scale_on_the_depth_of_every_queue(rendered: Rendered) -> None:
    queues = settings_queues(rendered.config())

    def targeting_workers(kind: str) -> list[dict[str, Any]]:
        return [doc for doc in rendered.of_kind(kind) if doc["spec"]["scaleTargetRef"]["name"] == "drm-worker"]

    scaled = targeting_workers("ScaledObject")
    hpas = targeting_workers("HorizontalPodAutoscaler")
    assert len(scaled) + len(hpas) == 1, "one autoscaler for the workers: KEDA's or the HPA on celery_queue_depth"
    if scaled:
        triggers = scaled[0]["spec"]["triggers"]
        assert {trigger["type"] for trigger in triggers} == {"rabbitmq"}
        assert {trigger["metadata"]["queueName"] for trigger in triggers} == queues
        auth = rendered.get("TriggerAuthentication", triggers[0]["authenticationRef"]["name"])
        (host,) = auth["spec"]["secretTargetRef"]
        broker = [
            entry["valueFrom"]["secretKeyRef"]
            for entry in app_container(workload_of(rendered, "drm-worker"))["env"]
            if entry["name"] == "CELERY_BROKER_URL"
        ]
        assert broker == [{"name": host["name"], "key": host["key"]}]
    else:
        metrics = [metric["external"]["metric"] for metric in hpas[0]["spec"]["metrics"]]
        assert {metric["name"] for metric in metrics} == {"celery_queue_depth"}
        assert {metric["selector"]["matchLabels"]["queue"] for metric in metrics} == queues


def test_beat_runs_alone(rendered: Rendered) -> None:
    beat = workload_of(rendered, "drm-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    container = app_container(beat)
    assert container["command"] == [
        "celery",
        "-A",
        "config",
        "beat",
        "--loglevel=INFO",
        "--schedule",
        "/tmp/celerybeat-schedule",
    ]
    assert container["livenessProbe"]["exec"]["command"] == ["python", "manage.py", "beat_alive"]


# --- Pods: user, filesystem, resources ----------------------------------------------------------------------------


def dockerfile_ids() -> tuple[int, int]:
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    uid = re.search(r"useradd [^\n]*--uid (\d+)", dockerfile)
    gid = re.search(r"groupadd [^\n]*--gid (\d+)", dockerfile)
    assert uid, "the image's user has a fixed UID"
    assert gid, "the image's group has a fixed GID"
    return int(uid.group(1)), int(gid.group(1))


def test_pods_run_as_the_images_user_on_a_read_only_root(rendered: Rendered) -> None:
    uid, gid = dockerfile_ids()
    multiproc = Path(rendered.config()["PROMETHEUS_MULTIPROC_DIR"])
    for workload in rendered.workloads():
        name = workload["metadata"]["name"]
        pod = pod_spec(workload)
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid), name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        container = app_container(workload)
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"] == {"drop": ["ALL"]}, name
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, name
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert all(set(volume) == {"name", "emptyDir"} for volume in volumes.values()), name
        mounts = {Path(mount["mountPath"]) for mount in container["volumeMounts"]}
        assert mounts <= {Path("/tmp"), Path("/tmp/prometheus")}, name
        assert Path("/tmp") in mounts, name
        # gunicorn empties PROMETHEUS_MULTIPROC_DIR on start: a folder inside a mount, not the mount itself.
        assert any(mount in multiproc.parents for mount in mounts), name
        assert multiproc not in mounts, name


def test_the_image_fits_the_manifests() -> None:
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "PYTHONDONTWRITEBYTECODE=1" in runtime
    assert re.search(r"^COPY \. /app$", runtime, re.MULTILINE), "the code belongs to root"
    assert "--chown" not in runtime
    assert "chmod -R go-w /app" in runtime
    assert "chown app:app /app/media" in runtime
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    for entry in (".env", ".env.*", "!.env.example", ".venv", ".secret_key", "db.sqlite3*", "test-artifacts/"):
        assert entry in ignored, entry
    assert ignored.index("!.env.example") > ignored.index(".env.*"), "the exception comes after the rule"


# --- Network, secrets -------------------------------------------------------------------------------------------


def selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(labels.get(key) == value for key, value in wanted.items())


def test_network_policies_deny_by_default(rendered: Rendered) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    deny = rendered.get("NetworkPolicy", "drm-default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    namespace = "kubernetes.io/metadata.name"
    for workload in rendered.workloads():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        sources: dict[str, set[str]] = {}
        for policy in policies:
            if not selects(policy, labels):
                continue
            for rule in policy["spec"].get("ingress", []):
                assert rule.get("from"), f"{policy['metadata']['name']} lets anyone in"
                peers = {peer["namespaceSelector"]["matchLabels"][namespace] for peer in rule["from"]}
                for port in rule["ports"]:
                    sources.setdefault(str(port["port"]), set()).update(peers)
        expected = {
            "web": {"http": {"ingress-nginx", "monitoring"}},
            "worker": {"metrics": {"monitoring"}},
        }.get(component(workload), {})
        assert sources == expected, workload["metadata"]["name"]


def test_no_secret_value_in_the_manifests(rendered: Rendered) -> None:
    assert rendered.of_kind("Secret") == []
    assert not re.search(r"://[^/@\s:]+:[^/@\s]+@", rendered.text), "a URL with a password"
    secret_keys = set()
    for workload in rendered.workloads():
        for entry in app_container(workload)["env"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] in SECRETS
            assert "value" not in entry
            secret_keys.add(ref["key"])
    assert secret_keys & set(rendered.config()) == set()
    required = {
        entry["name"]
        for entry in app_container(workload_of(rendered, "drm-web"))["env"]
        if not entry["valueFrom"]["secretKeyRef"].get("optional")
    }
    assert required == {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}


def test_the_readme_lists_every_secret_key(rendered: Rendered) -> None:
    readme = (BASE_DIR / "README.md").read_text()
    section = readme.split("## Running on Kubernetes", 1)[1].split("\n## ", 1)[0]
    for workload in rendered.workloads():
        for entry in app_container(workload)["env"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert re.search(rf"`{ref['name']}`[^\n]*`{ref['key']}`", section), (ref["name"], ref["key"])
    assert KUBERNETES_VERSION.rsplit(".", 1)[0] in section
