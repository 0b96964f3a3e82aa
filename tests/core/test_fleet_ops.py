"""Settings a fleet needs: media shared between hosts, server-side cursors off behind PgBouncer."""

import secrets

import pytest

from tests.helpers.processes import project_env, run_python

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
