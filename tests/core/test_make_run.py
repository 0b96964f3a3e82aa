"""`make run` from a fresh copy of the project serves /health/live/ (the virtualenv is shared to save the install)."""

import os
import shutil
import subprocess

import pytest

from tests.helpers.processes import free_port, project_env, stop, wait_for_http

pytestmark = pytest.mark.slow

COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", ".secret_key", ".env", "db.sqlite3*", "logs", "media", "__pycache__", ".pytest_cache",
    "node_modules", "test-artifacts",
)  # fmt: skip


def test_make_run_serves_from_a_fresh_copy(base_dir, tmp_path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(base_dir, copy, ignore=COPY_IGNORE)
    port = free_port()
    venv = base_dir / ".venv"
    assert (venv / "bin" / "python").exists(), "make test creates .venv before the suite runs"
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}", f"VENV={venv}"],
        cwd=copy,
        env=project_env(DEBUG="false"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/health/live/", timeout=120, process=process) == 200
        assert wait_for_http(f"http://127.0.0.1:{port}/health/", timeout=10) == 200
        assert (copy / "db.sqlite3").exists()
        assert len((copy / ".secret_key").read_text().strip()) >= 50  # its own random key, made on first run
    finally:
        stop(process)
    assert not os.path.exists(copy / ".venv")


def test_make_run_with_env_example_copied_unchanged(base_dir, tmp_path) -> None:
    """What the README tells a Docker user to do first must not break `make run`: empty values are defaults."""
    copy = tmp_path / "project"
    shutil.copytree(base_dir, copy, ignore=COPY_IGNORE)
    shutil.copy(copy / ".env.example", copy / ".env")
    port = free_port()
    venv = base_dir / ".venv"
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}", f"VENV={venv}"],
        cwd=copy,
        env=project_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/health/live/", timeout=120, process=process) == 200
        assert wait_for_http(f"http://127.0.0.1:{port}/health/", timeout=10) == 200
        assert wait_for_http(f"http://127.0.0.1:{port}/metrics", timeout=10) == 200
        assert wait_for_http(f"http://127.0.0.1:{port}/api/schema/", timeout=10) == 200
    finally:
        stop(process)
