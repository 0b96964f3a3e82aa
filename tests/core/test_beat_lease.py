"""One beat in a fleet: of two real beat processes on the real broker and Redis only the lease holder sends the
schedule; when it dies the other takes the lease over within its TTL. `manage.py beat_alive` is each one's
liveness check."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.processes import BASE_DIR, project_env, stop

pytestmark = [pytest.mark.redis, pytest.mark.broker, pytest.mark.slow]

LEASE_SECONDS = 6
SENT = "Sending due task"


def beat_env(tmp_path: Path, name: str) -> dict[str, str]:
    return project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL=os.environ["REDIS_URL"],
        CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
        CELERY_TASK_ALWAYS_EAGER="false",
        BEAT_LEASE_SECONDS=str(LEASE_SECONDS),
        BEAT_HEARTBEAT_FILE=str(tmp_path / f"{name}.heartbeat"),
    )


def start_beat(tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO", "-s", str(tmp_path / name)],
        cwd=BASE_DIR,
        env=beat_env(tmp_path, name),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def sent(log: Path) -> int:
    return log.read_text(errors="replace").count(SENT)


def wait_until_sending(process: subprocess.Popen, log: Path, timeout: float) -> float:
    started = time.monotonic()
    while sent(log) == 0:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() - started < timeout, log.read_text()[-3000:]
        time.sleep(0.2)
    return time.monotonic() - started


def beat_alive(tmp_path: Path, name: str) -> int:
    return subprocess.run(
        [sys.executable, "manage.py", "beat_alive"],
        cwd=BASE_DIR,
        env=beat_env(tmp_path, name),
        capture_output=True,
        timeout=60,
    ).returncode


def test_one_beat_sends_and_the_other_takes_over_when_it_dies(tmp_path) -> None:
    first, first_log = start_beat(tmp_path, "first")
    second = None
    try:
        wait_until_sending(first, first_log, timeout=60)
        second, second_log = start_beat(tmp_path, "second")
        time.sleep(LEASE_SECONDS + 2)  # the relay-outbox entry falls due every 5 s

        assert sent(first_log) >= 2
        assert sent(second_log) == 0, second_log.read_text()[-3000:]
        assert second.poll() is None
        assert beat_alive(tmp_path, "first") == 0  # holds the lease
        assert beat_alive(tmp_path, "second") == 0  # waits for it, alive

        os.kill(first.pid, signal.SIGKILL)  # dies without releasing the lease
        first.wait(timeout=10)
        took = wait_until_sending(second, second_log, timeout=LEASE_SECONDS * 3)

        # The lease expires at most LEASE_SECONDS after the last renewal; the waiting beat tries every fifth of it.
        assert took <= LEASE_SECONDS + LEASE_SECONDS / 5 + 1, took
        assert beat_alive(tmp_path, "second") == 0
        assert beat_alive(tmp_path, "first") != 0  # its heartbeat went stale with it
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)


def test_beat_alive_fails_without_a_heartbeat(tmp_path) -> None:
    assert beat_alive(tmp_path, "never-started") != 0
