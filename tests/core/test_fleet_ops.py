"""Settings a fleet needs: media shared between hosts, server-side cursors off behind PgBouncer."""

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import database_url, server_answers
from tests.helpers.fleet import system_program
from tests.helpers.processes import free_port, project_env, run_python, stop

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
