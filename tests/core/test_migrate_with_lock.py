"""`manage.py migrate_with_lock`: the one-off migration step of a rollout, safe when several processes start it at
once (plain `migrate` is not: the others fail on IntegrityError or DuplicateTable)."""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlparse

import psycopg
import pytest

from tests.helpers.processes import BASE_DIR, closed_port, django_get_json, project_env

PROCESSES = 3


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """The URL of an empty PostgreSQL database of its own on the configured server, dropped at the end."""
    server = urlparse(os.environ["DATABASE_URL"])
    name = f"drm_fleetops_migrate_{secrets.token_hex(4)}"
    admin = server._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_at_once(env: dict[str, str]) -> list[tuple[int, str]]:
    processes = [manage("migrate_with_lock", env=env) for _ in range(PROCESSES)]
    return [(process.wait(timeout=300), process.communicate()[0]) for process in processes]


def assert_fully_migrated(env: dict[str, str]) -> None:
    check = manage("migrate", "--check", env=env)
    assert check.wait(timeout=120) == 0, check.communicate()[0][-3000:]
    status, body = django_get_json("/health/ready/", env=env)
    assert (status, body) == (200, {"status": "ok"})


@pytest.mark.postgres
@pytest.mark.slow
def test_three_at_once_on_a_fresh_database_all_succeed(fresh_database) -> None:
    env = project_env(DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=fresh_database)
    status, body = django_get_json("/health/ready/", env=env)
    assert (status, body) == (503, {"status": "not ready", "reason": "migrations pending"})

    results = run_at_once(env)

    assert [code for code, _ in results] == [0] * PROCESSES, "\n\n".join(output[-2000:] for _, output in results)
    assert_fully_migrated(env)


@pytest.mark.postgres
@pytest.mark.slow
def test_with_a_direct_url_it_locks_and_migrates_there(fresh_database) -> None:
    # DATABASE_URL (the pooler) answers nothing: everything the command does goes through DATABASE_DIRECT_URL.
    pooler = urlparse(fresh_database)._replace(netloc=f"postgres@127.0.0.1:{closed_port()}").geturl()
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=pooler, DATABASE_DIRECT_URL=fresh_database
    )

    results = run_at_once(env)

    assert [code for code, _ in results] == [0] * PROCESSES, "\n\n".join(output[-2000:] for _, output in results)
    assert_fully_migrated(project_env(DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=fresh_database))


def test_on_sqlite_it_just_migrates(tmp_path) -> None:
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env = project_env(DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=database)
    command = manage("migrate_with_lock", env=env)
    assert command.wait(timeout=300) == 0, command.communicate()[0][-3000:]
    assert_fully_migrated(env)
