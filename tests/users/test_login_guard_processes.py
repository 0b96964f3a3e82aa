"""The login guard across a fleet: 30 concurrent wrong passwords for one email from one address, sent to three
gunicorn instances of two workers each on PostgreSQL and Redis, check at most the limit's number of passwords
(counted by the Argon2 hasher itself) and answer 429 to the rest; 30 concurrent wrong reset links for one account
check at most the limit's number of tokens."""

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.utils.http import urlsafe_base64_encode

from bench.http import json_call as call
from tests.helpers.processes import BASE_DIR, free_port, project_env, stop, wait_for_http

LIMIT = 10
GUESSES = 30
INSTANCES = 3
EMAIL = "owner@example.com"
PASSWORD = "the-owners-real-password-1"

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """Three gunicorn instances on one PostgreSQL database and one Redis; yields their URLs and the checks file."""
    import psycopg

    name = f"drm_login_guard_{os.getpid()}"
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    checks = tmp_path / "password-checks"
    env = project_env(
        DJANGO_SETTINGS_MODULE="tests.users.servers.counting_settings",
        DEBUG="false",
        DATABASE_URL=f"{admin_url}/{name}",
        REDIS_URL=os.environ["REDIS_URL"],
        LOG_LEVEL="WARNING",
        THROTTLE_RATE_ANON="100000/min",
        THROTTLE_RATE_LOGIN=f"{LIMIT}/min",
        PASSWORD_CHECKS_FILE=str(checks),
        DJANGO_SUPERUSER_EMAIL=EMAIL,
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="4",
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for args in (["migrate", "--noinput"], ["createsuperuser", "--noinput"]):
            result = subprocess.run(
                [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
            )
            assert result.returncode == 0, result.stderr[-3000:]
        bases = []
        for _ in range(INSTANCES):
            port = free_port()
            command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=BASE_DIR,
                    env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base, process in zip(bases, processes, strict=True):
            wait_for_http(f"{base}/health/live/", timeout=120, process=process)
        yield bases, checks
    finally:
        for process in processes:
            stop(process)
        with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_for_a_fresh_window() -> None:
    # The limit holds per one-minute window: thirty guesses that straddle two windows may rightly check twenty.
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)


def test_concurrent_wrong_passwords_across_processes_check_at_most_the_limit(fleet) -> None:
    bases, checks = fleet
    _wait_for_a_fresh_window()
    start = threading.Barrier(GUESSES)

    def guess(n: int) -> int:
        start.wait(timeout=30)
        status, _ = call(bases[n % INSTANCES], "POST", "/api/v1/auth/login/", {"email": EMAIL, "password": f"no-{n}"})
        return status

    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        statuses = Counter(pool.map(guess, range(GUESSES)))

    checked = checks.read_text().splitlines() if checks.exists() else []
    print(f"\nchecked {len(checked)} passwords; answers {dict(statuses)}")
    assert len(checked) <= LIMIT, f"{len(checked)} passwords checked by processes {sorted(Counter(checked).items())}"
    assert statuses == {401: len(checked), 429: GUESSES - len(checked)}
    # The right password from this address is refused too, unchecked; from the limit's point of view nothing changed.
    assert call(bases[0], "POST", "/api/v1/auth/login/", {"email": EMAIL, "password": PASSWORD})[0] == 429
    assert len(checks.read_text().splitlines()) == len(checked)


def test_concurrent_wrong_reset_links_across_processes_check_at_most_the_limit(fleet) -> None:
    # The link doors keep counters of their own: the sign-in guesses of the test above take no place here.
    bases, _checks = fleet
    _wait_for_a_fresh_window()
    start = threading.Barrier(GUESSES)
    uid = urlsafe_base64_encode(b"1")  # the superuser, the only account of the fresh database

    def guess(n: int) -> int:
        start.wait(timeout=30)
        body = {"uid": uid, "token": f"no-{n}", "new_password": "a-brand-new-password-77"}
        status, _ = call(bases[n % INSTANCES], "POST", "/api/v1/auth/password/reset/confirm/", body)
        return status

    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        statuses = Counter(pool.map(guess, range(GUESSES)))

    print(f"\nreset links: answers {dict(statuses)}")
    # A 400 is a token checked and found wrong; a 429 a token refused unchecked.
    assert statuses == {400: LIMIT, 429: GUESSES - LIMIT}
