"""Settings a fleet needs: media shared between hosts, server-side cursors off behind PgBouncer."""

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.conftest import database_url, server_answers
from tests.helpers.fleet import gunicorn_env, migrate, start_gunicorn, system_program
from tests.helpers.processes import BASE_DIR, free_port, project_env, run_python, stop, wait_for_http

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "api.example.com",
    # Loading the settings connects to none of them.
    "DATABASE_URL": "postgres://app@db.example.com:5432/app",
    "CELERY_BROKER_URL": "amqp://app@broker.example.com:5672//",
    "REDIS_URL": "redis://cache.example.com:6379/0",
}
MEDIA_STORAGE = "from django.conf import settings; print(settings.STORAGES['default']['BACKEND'])"


@pytest.mark.parametrize(
    ("extra", "storage"),
    [
        ({"MEDIA_SINGLE_HOST": "true"}, "django.core.files.storage.FileSystemStorage"),
        ({"AWS_STORAGE_BUCKET_NAME": "media"}, "storages.backends.s3.S3Storage"),
    ],
)
def test_production_starts_with_shared_media_or_one_host(extra: dict[str, str], storage: str) -> None:
    result = run_python(MEDIA_STORAGE, env=project_env(**PRODUCTION, **extra))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == storage


@pytest.mark.parametrize("single_host", ["", "false"])
def test_production_refuses_local_media_on_a_fleet(single_host: str) -> None:
    result = run_python(MEDIA_STORAGE, env=project_env(**PRODUCTION, MEDIA_SINGLE_HOST=single_host))
    assert result.returncode != 0
    assert "ImproperlyConfigured: Media on the local filesystem is not shared between hosts" in result.stderr


DATABASE = "from django.conf import settings; print(settings.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS'))"


@pytest.mark.parametrize(("pooler", "disabled"), [("pgbouncer", "True"), ("", "None")])
def test_the_pgbouncer_pooler_turns_server_side_cursors_off(pooler: str, disabled: str) -> None:
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL="postgres://app@db.example.com:5432/app",
        DATABASE_POOLER=pooler,
    )
    result = run_python(DATABASE, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == disabled


def test_an_unknown_pooler_is_refused() -> None:
    env = project_env(DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_POOLER="pgpool")
    result = run_python(DATABASE, env=env)
    assert "DATABASE_POOLER must be empty or 'pgbouncer', not 'pgpool'" in result.stderr


PGBOUNCER_CONFIG = """
[databases]
* = host={host} port={port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {auth_file}
pool_mode = transaction
default_pool_size = 4
"""

# A client of PgBouncer iterates; between its chunks another client holds the server connection it had, as any busy
# fleet's does, so the next chunk's FETCH runs on another server connection.
ITERATE_THROUGH_PGBOUNCER = """
import django, os, psycopg
django.setup()
from django.contrib.contenttypes.models import ContentType
rows = ContentType.objects.order_by("pk").iterator(chunk_size=1)
first = next(rows)
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as other, other.transaction():
    other.execute("SELECT 1")
    rest = list(rows)
print(1 + len(rest), ContentType.objects.count())
"""


@pytest.fixture
def pgbouncer(db) -> Iterator[int]:
    """PgBouncer in transaction mode on a free local port, in front of the test database's server."""
    from django.db import connection

    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # pgbouncer drops root for `nobody`, and still reads its files from here
    (folder / "users.txt").write_text('"postgres" ""\n')
    port = free_port()
    config = folder / "pgbouncer.ini"
    config.write_text(
        PGBOUNCER_CONFIG.format(
            host=connection.settings_dict["HOST"] or "127.0.0.1",
            port=connection.settings_dict["PORT"] or 5432,
            listen_port=port,
            auth_file=folder / "users.txt",
        )
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
    process = subprocess.Popen(
        [system_program("pgbouncer"), *user, str(config)],
        stdout=(folder / "pgbouncer.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not server_answers(f"postgres://127.0.0.1:{port}", timeout=0.2):
            assert process.poll() is None, (folder / "pgbouncer.log").read_text()
            assert time.monotonic() < deadline, "pgbouncer did not start"
            time.sleep(0.1)
        yield port
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
@pytest.mark.slow
def test_iterator_works_through_pgbouncer_in_transaction_mode(pgbouncer) -> None:
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=database_url(pgbouncer), DATABASE_POOLER="pgbouncer"
    )
    result = run_python(ITERATE_THROUGH_PGBOUNCER, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    iterated, counted = result.stdout.split()
    assert iterated == counted
    assert int(counted) > 1


DRIPPERS = 4


def drip(port: int, stop_dripping: threading.Event) -> None:
    """A client that sends its request one byte every half second, as a slow or hostile one does."""
    request = b"POST /health/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: a\r\n" * 200
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for byte in request:
            if stop_dripping.wait(0.5):
                return
            connection.sendall(bytes([byte]))


def live_answers_within(port: int, seconds: float) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live/", timeout=seconds) as response:
            return response.status == 200
    except OSError:
        return False


def live_while_dripping(*, at: int, ask: int) -> list[bool]:
    """Whether /health/live/ on port `ask` answers within a second, three times, while DRIPPERS drip at `at`."""
    stop_dripping = threading.Event()
    with ThreadPoolExecutor(DRIPPERS) as clients:
        for _ in range(DRIPPERS):
            clients.submit(drip, at, stop_dripping)
        time.sleep(2)
        answers = [live_answers_within(ask, 1.0) for _ in range(3)]
        stop_dripping.set()
    return answers


def start_nginx(folder: Path, upstream_port: int) -> tuple[subprocess.Popen, int]:
    """Debian's nginx with deploy/nginx/nginx.conf, its upstream, port and paths moved to this test's."""
    port = free_port()
    config = (BASE_DIR / "deploy" / "nginx" / "nginx.conf").read_text()
    for compose_value, test_value in (
        ("server web:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 8000;", f"listen 127.0.0.1:{port};"),
        ("/tmp/", f"{folder}/"),
    ):
        assert compose_value in config
        config = config.replace(compose_value, test_value)
    (folder / "nginx.conf").write_text(config)
    process = subprocess.Popen(
        [system_program("nginx"), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
        stdout=(folder / "nginx.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, port


@pytest.mark.slow
def test_the_proxy_keeps_slow_clients_off_the_sync_workers(tmp_path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="nginx-"))
    folder.chmod(0o755)  # nginx's workers run as `nobody` when started as root
    env = gunicorn_env(tmp_path, GUNICORN_WORKERS="2", GUNICORN_THREADS="1")
    migrate(env)
    gunicorn, gunicorn_port = start_gunicorn(env, tmp_path / "gunicorn.log")
    nginx = None
    try:
        wait_for_http(f"http://127.0.0.1:{gunicorn_port}/health/live/", process=gunicorn)
        nginx, nginx_port = start_nginx(folder, gunicorn_port)
        wait_for_http(f"http://127.0.0.1:{nginx_port}/health/live/", process=nginx)

        through_proxy = live_while_dripping(at=nginx_port, ask=nginx_port)
        straight = live_while_dripping(at=gunicorn_port, ask=gunicorn_port)

        assert through_proxy == [True, True, True]
        assert straight == [False, False, False]  # the same clients straight at gunicorn hold both sync workers
    finally:
        for process in (nginx, gunicorn):
            if process is not None:
                stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def duration_seconds(value: str) -> int:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", value)
    assert value
    assert match is not None, value
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_compose_migrates_once_then_starts_the_fleet_behind_a_buffering_proxy(base_dir) -> None:
    services = yaml.safe_load((base_dir / "docker-compose.yml").read_text())["services"]
    from django.conf import settings

    assert services["migrate"]["command"] == ["python", "manage.py", "migrate_with_lock"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert "migrate" not in " ".join(services[name]["command"]), name
    assert services["web"]["command"] == ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]

    # Only the proxy is published; it serves the repository's config in front of web.
    assert "ports" not in services["web"]
    assert services["nginx"]["ports"] == ["8000:8000"]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]
    assert "server web:8000;" in (base_dir / "deploy" / "nginx" / "nginx.conf").read_text()

    # Each health check tests its own process.
    assert "-d celery@$$HOSTNAME" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["beat"]["healthcheck"]["test"] == ["CMD", "python", "manage.py", "beat_alive"]

    # Stopping waits for the drain and the in-flight requests, and for a running task's hard limit.
    gunicorn_stop = settings.DRAIN_SECONDS + 20 + 5  # GUNICORN_GRACEFUL_TIMEOUT's default is 20
    assert duration_seconds(services["web"]["stop_grace_period"]) >= gunicorn_stop
    assert duration_seconds(services["worker"]["stop_grace_period"]) > settings.CELERY_TASK_TIME_LIMIT
    assert services["worker"]["environment"]["CELERY_WORKER_PREFETCH_MULTIPLIER"] == "1"
