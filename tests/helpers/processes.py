"""Run the project in another process: settings that only apply at start-up, and real servers on spare ports."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CLEAN_ENV_KEYS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")


def project_env(**overrides: str) -> dict[str, str]:
    """The current environment without the project's variables, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if key not in CLEAN_ENV_KEYS}
    env.update(overrides)
    return env


def run_python(code: str, *, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def django_get_json(path: str, *, env: dict[str, str], timeout: float = 60) -> tuple[int, dict]:
    """GET `path` through Django's test client in a fresh process started with `env`."""
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        f"r = Client().get({path!r})\n"
        "print(json.dumps({'status': r.status_code, 'body': json.loads(r.content)}))\n"
    )
    result = run_python(code, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["status"], answer["body"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on: bound and released, so a connection is refused at once."""
    return free_port()


def wait_for_http(url: str, *, timeout: float = 60, process: subprocess.Popen | None = None) -> int:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                return response.status
        except Exception as exc:
            last_error = exc
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last_error}")


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """End a process we started (its whole group when it has one), by its id."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, 15)
    except (ProcessLookupError, PermissionError):
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait(timeout=timeout)
