import pytest

from tests.helpers.processes import project_env, run_python

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "a-production-secret-that-is-long-enough-and-random-0123456789abcdef",
    "ALLOWED_HOSTS": "api.example.com",
}
SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


@pytest.mark.parametrize(
    ("module", "debug"),
    [("config.settings.local", "True"), ("config.settings.test", "False"), ("config.settings.production", "False")],
)
def test_every_settings_module_loads(module: str, debug: str) -> None:
    env = project_env(**{**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": module})
    result = run_python(SETUP, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == debug


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing: str) -> None:
    env = project_env(**{key: value for key, value in PRODUCTION_ENV.items() if key != missing})
    result = run_python(SETUP, env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_empty_allowed_hosts() -> None:
    result = run_python(SETUP, env=project_env(**{**PRODUCTION_ENV, "ALLOWED_HOSTS": ""}))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_passes_check_deploy_without_warnings() -> None:
    code = (
        "import sys; from django.core.management import execute_from_command_line\n"
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])\n"
    )
    result = run_python(code, env=project_env(**PRODUCTION_ENV))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_defaults_when_nothing_is_set() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings\n"
        "print(settings.DATABASES['default']['ENGINE'], settings.CACHES['default']['BACKEND'],"
        " settings.CELERY_TASK_ALWAYS_EAGER)\n"
    )
    result = run_python(code, env=project_env(DJANGO_SETTINGS_MODULE="config.settings.local"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]


def test_urls_move_each_part_onto_its_server() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings\n"
        "print(settings.DATABASES['default']['ENGINE'], settings.CACHES['default']['BACKEND'],"
        " settings.CELERY_TASK_ALWAYS_EAGER)\n"
    )
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/anything",
        REDIS_URL="redis://127.0.0.1:6379/3",
        CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//",
    )
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "django_redis.cache.RedisCache", "False"]


def test_env_example_lists_every_configuration_variable(base_dir) -> None:  # type: ignore[no-untyped-def]
    names = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (base_dir / ".env.example").read_text().splitlines()
        if "=" in line
    }
    contract = {
        "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG",
        "ALLOWED_HOSTS", "CORS_ALLOWED_ORIGINS", "THROTTLE_RATE_ANON", "THROTTLE_RATE_USER", "THROTTLE_RATE_LOGIN",
        "SMS_BACKEND", "EMAIL_BACKEND", "OIDC_PROVIDERS", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL",
        "EVENTS_BACKEND", "AWS_SNS_TOPIC_ARN", "LOG_DIR", "LOG_LEVEL", "LOG_FORMAT",
    }  # fmt: skip
    assert contract <= names


def test_env_file_is_never_tracked(base_dir) -> None:  # type: ignore[no-untyped-def]
    assert ".env" in (base_dir / ".gitignore").read_text().split()
