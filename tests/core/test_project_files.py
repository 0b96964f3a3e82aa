"""The deployment files: no Docker engine runs here, so check that they parse and agree with the Makefile."""

import re
import shlex

import yaml


def _makefile_recipe(base_dir, target: str) -> str:
    text = (base_dir / "Makefile").read_text()
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert match, f"no `{target}` target"
    return match.group(1)


def test_compose_runs_every_service_health_checked(base_dir) -> None:
    compose = yaml.safe_load((base_dir / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"migrate", "web", "nginx", "worker", "beat", "postgres", "redis", "rabbitmq"}
    for name, service in services.items():
        assert "healthcheck" in service or name == "migrate", name  # migrate is a one-off job
    assert {"postgres-data", "redis-data", "rabbitmq-data"} <= set(compose["volumes"])
    web_env = services["web"]["environment"]
    assert web_env["DATABASE_URL"].startswith("postgres://")
    assert web_env["REDIS_URL"].startswith("redis://")
    assert web_env["CELERY_BROKER_URL"].startswith("amqp://")


def test_compose_and_make_workers_consume_every_declared_queue(base_dir) -> None:
    """No -Q: a worker then consumes CELERY_TASK_QUEUES, so CELERY_QUEUE_PREFIX reaches it with no other change."""
    compose = yaml.safe_load((base_dir / "docker-compose.yml").read_text())
    assert "-Q" not in compose["services"]["worker"]["command"]
    assert " -Q " not in _makefile_recipe(base_dir, "worker")


def test_image_command_matches_compose_web(base_dir) -> None:
    dockerfile = (base_dir / "Dockerfile").read_text()
    cmd_line = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert cmd_line is not None
    cmd = cmd_line.group(1)
    image_command = " ".join(yaml.safe_load(cmd))
    compose = yaml.safe_load((base_dir / "docker-compose.yml").read_text())
    web_command = " ".join(compose["services"]["web"]["command"])
    assert web_command == image_command
    assert "config/gunicorn.py" in image_command
    assert (base_dir / "config" / "gunicorn.py").is_file()


def test_dockerfile_is_multi_stage_slim_non_root_with_healthcheck(base_dir) -> None:
    dockerfile = (base_dir / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)) == 2
    assert re.search(r"^USER app$", dockerfile, re.MULTILINE)
    assert "/health/live/" in dockerfile.split("HEALTHCHECK", 1)[1]
    assert "collectstatic" in dockerfile
    assert "requirements/production.txt" in dockerfile


def test_make_run_serves_on_host_and_port(base_dir) -> None:
    recipe = _makefile_recipe(base_dir, "run")
    assert "runserver $(HOST):$(PORT)" in recipe
    makefile = (base_dir / "Makefile").read_text()
    assert re.search(r"^HOST \?= 127\.0\.0\.1$", makefile, re.MULTILINE)
    assert re.search(r"^PORT \?= 8000$", makefile, re.MULTILINE)


def test_ci_runs_make_test_on_embedded_and_real_servers(base_dir) -> None:
    script = (base_dir / ".ci" / "run").read_text()
    assert script.count("make test") >= 2
    for variable in ("DATABASE_URL=", "REDIS_URL=", "CELERY_BROKER_URL="):
        assert variable in script
    assert shlex.split("export CI=true")[1] in script


def test_readme_names_the_two_setup_commands(base_dir) -> None:
    readme = (base_dir / "README.md").read_text()
    assert "make run" in readme
    assert "make test" in readme
    assert "docker compose" in readme
