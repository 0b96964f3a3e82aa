"""A small fleet on 127.0.0.1 for the fleet-operations tests: gunicorn instances with the project's config, a
balancer (HAProxy) or a buffering proxy (nginx) in front, each a process of ours stopped by its id."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.helpers.processes import BASE_DIR, free_port, project_env


def system_program(name: str) -> str:
    """The path of a Debian package's program (in /usr/sbin for most servers); fails in CI when it is missing."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        message = f"{name} is not installed (apt-get install {name}; .ci/run installs it)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def gunicorn_env(folder: Path, **overrides: str) -> dict[str, str]:
    settings = {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "GUNICORN_WORKERS": "2",
    }
    return project_env(**{**settings, **overrides})


def migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def start_gunicorn(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=BASE_DIR,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, port
