"""The compose file and the Makefile: no Docker engine runs here, so compose's structure is read as data, and the
Makefile's commands are read as make would run them (`make -n`). The image itself runs in
tests/quality/test_image_runtime.py, and its fit with the manifests is in tests/deploy."""

import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def compose(base_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((base_dir / "docker-compose.yml").read_text())


def make_commands(base_dir: Path, *arguments: str) -> list[list[str]]:
    """The commands `make` would run for `arguments`, each split as the shell would."""
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", *arguments],
        cwd=base_dir,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [shlex.split(line) for line in dry_run.stdout.splitlines() if line.strip()]


def test_compose_migrates_once_before_anything_serves(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate_with_lock"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    for name in ("migrate", "web", "worker", "beat"):
        for server in ("postgres", "redis", "rabbitmq"):
            assert services[name]["depends_on"][server] == {"condition": "service_healthy"}, (name, server)


def test_compose_runs_every_service_health_checked(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"migrate", "web", "nginx", "worker", "beat", "postgres", "redis", "rabbitmq"}
    for name, service in services.items():
        assert "healthcheck" in service or name == "migrate", name  # migrate is a one-off job
    assert services["nginx"]["depends_on"]["web"] == {"condition": "service_healthy"}
    assert {"postgres-data", "redis-data", "rabbitmq-data"} <= set(compose["volumes"])


def test_compose_web_runs_the_images_command(base_dir: Path, compose: dict[str, Any]) -> None:
    """The image's CMD (exec form, JSON) is what compose runs too, so both serve through config/gunicorn.py."""
    cmd = next(line for line in (base_dir / "Dockerfile").read_text().splitlines() if line.startswith("CMD ["))
    assert compose["services"]["web"]["command"] == yaml.safe_load(cmd.removeprefix("CMD "))


def test_compose_and_make_workers_consume_every_declared_queue(base_dir: Path, compose: dict[str, Any]) -> None:
    """No -Q: a worker then consumes CELERY_TASK_QUEUES, so CELERY_QUEUE_PREFIX reaches it with no other change."""
    assert "-Q" not in compose["services"]["worker"]["command"]
    worker = make_commands(base_dir, "worker")[-1]
    assert worker[1:4] == ["-A", "config", "worker"]
    assert not any(argument.startswith(("-Q", "--queues")) for argument in worker)


@pytest.mark.parametrize(
    ("arguments", "address"),
    [((), "127.0.0.1:8000"), (("HOST=0.0.0.0", "PORT=9123"), "0.0.0.0:9123")],
)
def test_make_run_serves_on_host_and_port(base_dir: Path, arguments: tuple[str, ...], address: str) -> None:
    assert make_commands(base_dir, "run", *arguments)[-1][1:] == ["manage.py", "runserver", address]
