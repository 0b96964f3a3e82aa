"""The forge's workflow (.github/workflows/ci.yml) and the CI script (.ci/run) run the same checks the same way:
the same Python, the same commands in the same order (the lint before the suites), each with the same variables,
on the same servers."""

import re
import shlex
import sys
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

SERVER_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
Run = tuple[dict[str, str], list[str]]  # (variables set on the command line, the command)


@pytest.fixture
def script(base_dir) -> str:
    return (base_dir / ".ci" / "run").read_text()


@pytest.fixture
def workflow(base_dir) -> dict[str, Any]:
    return yaml.safe_load((base_dir / ".github" / "workflows" / "ci.yml").read_text())


@pytest.fixture
def job(workflow) -> dict[str, Any]:
    assert list(workflow["jobs"]) == ["test"]
    return workflow["jobs"]["test"]


def script_runs(script: str) -> list[Run]:
    """Each `make` command of the script, with the variables its line sets."""
    runs = []
    for line in script.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True)
        if "make" not in tokens:
            continue
        start = tokens.index("make")
        assignments = tokens[:start]
        assert all(re.fullmatch(r"[A-Z_]+=.*", token) for token in assignments), line
        runs.append((dict(token.split("=", 1) for token in assignments), tokens[start:]))
    return runs


def workflow_runs(job: dict[str, Any]) -> list[Run]:
    """Each step of the job that runs `make`, with the variables the step sets."""
    return [
        ({name: str(value) for name, value in step.get("env", {}).items()}, shlex.split(step["run"]))
        for step in job["steps"]
        if "run" in step and shlex.split(step["run"], comments=True)[:1] == ["make"]
    ]


def apt_packages(text: str) -> set[str]:
    return set(re.findall(r"missing\+=\(([\w.+-]+)\)", text))


def test_both_run_the_same_commands_with_the_same_variables(script, job) -> None:
    expected = script_runs(script)

    assert [command for _, command in expected] == [["make", "lint"], ["make", "test"], ["make", "test"]]
    assert workflow_runs(job) == expected
    lint, embedded, real = expected
    assert lint[0] == embedded[0] == {}
    assert set(real[0]) == set(SERVER_VARIABLES)


def test_the_embedded_run_sees_no_server_variable(script, workflow, job) -> None:
    # .ci/run unsets them before run 1; the workflow never sets them above the step that needs them.
    unset = re.search(r"^unset (.+)$", script, re.MULTILINE)
    assert unset is not None
    assert set(SERVER_VARIABLES) <= set(unset.group(1).split())
    for scope in (workflow.get("env", {}), job.get("env", {})):
        assert not set(SERVER_VARIABLES) & set(scope)


def test_both_say_they_are_ci(script, job) -> None:
    assert re.search(r"^export CI=true$", script, re.MULTILINE)
    assert job["env"]["CI"] == "true"


def test_both_use_the_same_python(base_dir, job) -> None:
    setup = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python@"))
    version = str(setup["with"]["python-version"])
    makefile = (base_dir / "Makefile").read_text()
    makefile_python = re.search(r"^PYTHON \?= \$\(shell command -v python(\d+\.\d+)", makefile, re.MULTILINE)
    assert makefile_python is not None
    assert version == makefile_python.group(1) == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert re.search(rf"^FROM python:{re.escape(version)}-slim", (base_dir / "Dockerfile").read_text(), re.M)


def test_the_real_servers_are_service_containers_on_the_ports_the_variables_name(script, job) -> None:
    services = job["services"]
    published = {
        int(mapping.split(":")[-1]): name for name, service in services.items() for mapping in service["ports"]
    }
    for mapping in (mapping for service in services.values() for mapping in service["ports"]):
        assert mapping.startswith("127.0.0.1:"), mapping  # the same address the CI machine serves them on
    *_, (variables, _) = script_runs(script)
    expected = {"DATABASE_URL": "postgres", "REDIS_URL": "redis", "CELERY_BROKER_URL": "rabbitmq"}
    for variable, service in expected.items():
        url = urlparse(variables[variable])
        assert url.hostname == "127.0.0.1"
        assert url.port is not None
        assert published[url.port] == service
        assert services[service]["image"].split(":")[0] == service
        assert "--health-cmd" in services[service]["options"]  # steps start once the server answers


def test_both_install_the_same_system_packages(script, job) -> None:
    step_scripts = "\n".join(step["run"] for step in job["steps"] if "run" in step)
    assert apt_packages(step_scripts) == apt_packages(script) == {"chromium", "wrk", "haproxy", "pgbouncer"}


def test_the_workflow_fits_the_ci_time_limit(job) -> None:
    assert job["timeout-minutes"] <= 90
