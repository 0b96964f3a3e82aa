"""Shared fixtures: API clients, users of each role, and the gate for tests that need a real server."""

import os
import socket
from collections.abc import Callable
from typing import cast
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.users.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# marker -> (setting that must point at the real server, URL scheme prefixes that count as "real")
SERVER_MARKERS = {
    "postgres": (lambda: os.environ.get("DATABASE_URL", ""), ("postgres", "postgresql", "pgsql")),
    "redis": (lambda: os.environ.get("REDIS_URL", ""), ("redis",)),
    "broker": (lambda: os.environ.get("CELERY_BROKER_URL", ""), ("amqp", "pyamqp", "redis")),
}


def server_answers(url: str, timeout: float = 1.0) -> bool:
    parsed = urlparse(url)
    default_port = {"postgres": 5432, "postgresql": 5432, "redis": 6379, "amqp": 5672, "pyamqp": 5672}
    port = parsed.port or default_port.get(parsed.scheme, 0)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Server-marked tests run when their server is configured: skipped when it is not (the embedded run);
    when it is configured but does not answer, skipped on a laptop and failed in CI."""
    for marker, (read_url, schemes) in SERVER_MARKERS.items():
        if item.get_closest_marker(marker) is None:
            continue
        url = read_url()
        if not url.startswith(schemes):
            pytest.skip(f"needs a real {marker} server: set its URL (embedded run)")
        if not server_answers(url):
            message = f"{marker} server at {url} does not answer"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)


def delete_broker_names(prefix: str) -> None:
    """Delete the queues and exchanges that CELERY_QUEUE_PREFIX=`prefix` declares on the configured broker."""
    import contextlib

    from kombu import Connection
    from kombu.transport.pyamqp import Channel as AmqpChannel

    with Connection(os.environ["CELERY_BROKER_URL"], connect_timeout=2) as connection:
        channel = cast(AmqpChannel, connection.default_channel)  # every caller's broker is amqp://
        for name in ("critical", "default", "low"):
            with contextlib.suppress(Exception):
                channel.queue_delete(f"{prefix}{name}")
        for name in ("critical", "default", "low", "domain-events", "celery", "celeryev"):
            with contextlib.suppress(Exception):
                channel.exchange_delete(f"{prefix}{name}")


@pytest.fixture(autouse=True, scope="session")
def _delete_this_runs_queues():
    """This run's queues (a prefix of its own, see config/settings/test.py) go when it ends."""
    yield
    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith(("amqp", "pyamqp")) and server_answers(url):
        delete_broker_names(settings.CELERY_QUEUE_PREFIX)


@pytest.fixture(autouse=True)
def _isolated_cache() -> None:
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def redis_round_trips(monkeypatch) -> list[int]:
    """How many times the code under test wrote to a Redis socket: once per command, or once per pipeline."""
    from redis.connection import AbstractConnection

    sent: list[int] = []
    real_send = AbstractConnection.send_packed_command

    def counting_send(self, command, check_health=True):
        sent.append(1)
        return real_send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_send)
    return sent


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def admin_user(db):
    return UserFactory(role="admin")


@pytest.fixture
def auth_client() -> Callable[..., APIClient]:
    """`auth_client(user)`: an API client that sends a real access JWT for `user`."""

    def make(user) -> APIClient:
        client = APIClient()
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def user_client(auth_client, user) -> APIClient:
    return auth_client(user)


@pytest.fixture
def admin_client(auth_client, admin_user) -> APIClient:
    return auth_client(admin_user)


@pytest.fixture
def base_dir():
    return settings.BASE_DIR


@pytest.fixture
def real_broker():
    """Send tasks to the configured broker instead of running them in-process, for this test only."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield app
    app.conf.task_always_eager = previous


def database_url(port: int | None = None) -> str:
    """The URL of the test database (optionally reached through another local port, e.g. a cuttable relay)."""
    from django.db import connection

    database = connection.settings_dict
    return (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST'] or '127.0.0.1'}:"
        f"{port or database['PORT'] or 5432}/{database['NAME']}"
    )


@pytest.fixture
def start_celery_worker(transactional_db, real_broker):
    """`start_celery_worker(database_port=None, name=None, **env)`: a real Celery worker (2 processes, every queue)
    on the configured broker and this test's database; stopped at the end of the test.

    Use with the `broker` and `postgres` markers: the worker is another process, so it needs a database server
    it can share with the test (the rows are committed: `transactional_db`).
    """
    import subprocess
    import sys

    from tests.helpers.processes import BASE_DIR, project_env, stop

    started: list[subprocess.Popen] = []

    def start(database_port: int | None = None, name: str | None = None, **overrides: str) -> subprocess.Popen:
        env = project_env(
            **{
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": database_url(database_port),
                "REDIS_URL": os.environ.get("REDIS_URL", ""),
                "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
                "CELERY_TASK_ALWAYS_EAGER": "false",
                **overrides,
            }
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-c",
                "2",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *(["-n", name] if name else []),  # a second worker at once needs a node name of its own
            ],
            cwd=BASE_DIR,
            env=env,
            start_new_session=True,
        )
        started.append(process)
        return process

    real_broker.control.purge()
    try:
        yield start
    finally:
        for process in started:
            stop(process)


@pytest.fixture
def celery_worker_process(start_celery_worker):
    """A real Celery worker (2 processes, every queue) on the configured broker and this test's database."""
    return start_celery_worker()
