"""Many clients at once against a real server process: no request fails and no update is lost.

Run twice: `manage.py runserver` on the embedded SQLite database (what `make run` serves) and gunicorn with
several workers on PostgreSQL.
"""

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from bench.http import json_call as call
from tests.helpers.processes import BASE_DIR, free_port, project_env, stop, wait_for_http

CLIENTS = 16
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "concurrency-admin-password-1"


def _prepare(env: dict[str, str]) -> None:
    for args in (["migrate", "--noinput"], ["createsuperuser", "--noinput"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]


def _serve(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/live/", timeout=90, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _base_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return project_env(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="false",
        DATABASE_URL=database_url,
        LOG_DIR=str(tmp_path / "logs"),
        LOG_LEVEL="WARNING",
        THROTTLE_RATE_ANON="100000/min",
        THROTTLE_RATE_USER="100000/min",
        THROTTLE_RATE_LOGIN="100000/min",
        SMS_BACKEND="apps.messages.backends.locmem.LocmemBackend",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DJANGO_SUPERUSER_EMAIL=ADMIN_EMAIL,
        DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        MEDIA_ROOT=str(tmp_path / "media"),
        # The clients send messages as users they just registered, whose email links they cannot follow.
        MESSAGES_REQUIRE_VERIFIED_EMAIL="false",
    )


@pytest.fixture
def runserver_on_sqlite(tmp_path) -> Iterator[str]:
    env = _base_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    _prepare(env)
    port = free_port()
    yield from _serve([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env, port)


@pytest.fixture
def gunicorn_on_postgres(tmp_path) -> Iterator[str]:
    import psycopg

    name = f"drm_concurrency_{os.getpid()}"
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = _base_env(tmp_path, f"{admin_url}/{name}")
    # Several processes share the catalog cache only through Redis, as in production.
    env.update(GUNICORN_WORKERS="4", GUNICORN_THREADS="4", REDIS_URL=os.environ.get("REDIS_URL", ""))
    _prepare(env)
    port = free_port()
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    try:
        yield from _serve([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"], env, port)
    finally:
        with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _exercise(base: str) -> None:
    status, tokens = call(base, "POST", "/api/v1/auth/login/", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert status == 200, tokens
    admin = tokens["access"]
    assert call(base, "POST", "/api/v1/categories/", {"slug": "lamps", "name": "Lamps"}, admin)[0] == 201
    lamp = {"sku": "LAMP-1", "name": "Lamp", "description": "", "category": "lamps", "price": "1.00", "stock": 5}
    status, product = call(base, "POST", "/api/v1/products/", lamp, admin)
    assert status == 201, product

    def client(n: int) -> list[int]:
        statuses = []
        email = f"client{n}@example.com"
        password = f"a-long-password-for-client-{n}"
        statuses.append(call(base, "POST", "/api/v1/auth/register/", {"email": email, "password": password})[0])
        status, pair = call(base, "POST", "/api/v1/auth/login/", {"email": email, "password": password})
        statuses.append(status)
        for m in range(3):
            body = {"sender_number": "+15551230001", "receiver_number": f"+44207946{n:02d}{m:02d}", "body": f"{n}/{m}"}
            statuses.append(call(base, "POST", "/api/v1/messages/", body, pair.get("access"))[0])
        statuses.append(call(base, "GET", "/api/v1/products/", None, pair.get("access"))[0])
        new_price = f"{n + 2}.00"
        statuses.append(call(base, "PATCH", f"/api/v1/products/{product['id']}/price/", {"price": new_price}, admin)[0])
        return statuses

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))

    assert [status for statuses in results for status in statuses if status >= 300] == []
    assert all(statuses == [201, 200, 201, 201, 201, 200, 200] for statuses in results)

    status, page = call(base, "GET", f"/api/v1/products/{product['id']}/price-history/?page_size=100", None, admin)
    assert status == 200
    history = list(reversed(page["results"]))  # oldest first
    assert len(history) == CLIENTS
    # No lost update: every change starts from the price the previous one set.
    assert Decimal(history[0]["old_price"]) == Decimal("1.00")
    for earlier, later in itertools.pairwise(history):
        assert Decimal(later["old_price"]) == Decimal(earlier["new_price"])
    status, current = call(base, "GET", f"/api/v1/products/{product['id']}/", None, admin)
    assert Decimal(current["price"]) == Decimal(history[-1]["new_price"])
    status, messages = call(base, "GET", "/api/v1/messages/?page_size=1", None, admin)
    assert messages["count"] == CLIENTS * 3


@pytest.mark.slow
def test_parallel_clients_against_make_run_on_sqlite(runserver_on_sqlite) -> None:
    _exercise(runserver_on_sqlite)


@pytest.mark.postgres
@pytest.mark.slow
def test_parallel_clients_against_gunicorn_on_postgres(gunicorn_on_postgres) -> None:
    _exercise(gunicorn_on_postgres)
