import json
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.processes import BASE_DIR, project_env, run_python

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "api.example.com",
    # Loading the settings connects to neither.
    "DATABASE_URL": "postgres://app@db.example.com:5432/app",
    "CELERY_BROKER_URL": "amqp://app@broker.example.com:5672//",
    "REDIS_URL": "redis://cache.example.com:6379/0",
    "MEDIA_SINGLE_HOST": "true",
}
SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
CHECK_DEPLOY = (
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])\n"
)


@pytest.mark.parametrize(
    ("module", "debug"),
    [("config.settings.local", "False"), ("config.settings.test", "False"), ("config.settings.production", "False")],
)
def test_every_settings_module_loads(module: str, debug: str) -> None:
    env = project_env(**{**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": module})
    result = run_python(SETUP, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == debug


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"])
def test_production_refuses_to_start_without(missing: str) -> None:
    env = project_env(**{key: value for key, value in PRODUCTION_ENV.items() if key != missing})
    result = run_python(SETUP, env=env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_production_refuses_an_empty_broker_url() -> None:
    """Empty, celery.py would run every task inside the request."""
    result = run_python(SETUP, env=project_env(**{**PRODUCTION_ENV, "CELERY_BROKER_URL": ""}))
    assert result.returncode != 0
    assert "Set the CELERY_BROKER_URL environment variable" in result.stderr


def test_production_refuses_the_in_memory_broker() -> None:
    result = run_python(SETUP, env=project_env(**{**PRODUCTION_ENV, "CELERY_BROKER_URL": "memory://"}))
    assert result.returncode != 0
    assert "CELERY_BROKER_URL must name a real broker" in result.stderr


@pytest.mark.parametrize(("workers", "starts"), [("", False), ("2", False), ("1", True)])
def test_production_refuses_a_per_process_cache_with_several_workers(workers: str, starts: bool) -> None:
    env = project_env(**{key: value for key, value in PRODUCTION_ENV.items() if key != "REDIS_URL"})
    if workers:
        env["GUNICORN_WORKERS"] = workers
    result = run_python(SETUP, env=env)
    assert (result.returncode == 0) == starts, result.stderr[-2000:]
    if not starts:
        assert "Set REDIS_URL: an in-process cache is not shared between GUNICORN_WORKERS > 1" in result.stderr


def test_production_refuses_empty_allowed_hosts() -> None:
    result = run_python(SETUP, env=project_env(**{**PRODUCTION_ENV, "ALLOWED_HOSTS": ""}))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


@pytest.mark.parametrize("hosts", ["*", "api.example.com,*"])
def test_production_refuses_a_wildcard_allowed_host(hosts: str) -> None:
    # The emails' links are built from the Host header (tests/users/test_email_links.py shows where a wildcard leads).
    result = run_python(SETUP, env=project_env(**{**PRODUCTION_ENV, "ALLOWED_HOSTS": hosts}))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS may not be '*': list the host names the service answers to" in result.stderr


@pytest.mark.parametrize(
    ("proxies", "starts"), [("0.0.0.0/0", False), ("10.0.0.0/8,::/0", False), ("10.0.0.0/8", True)]
)
def test_production_refuses_trusting_every_address_as_a_proxy(proxies: str, starts: bool) -> None:
    # Every client could then name its own address in X-Forwarded-For, past every per-address limit.
    result = run_python(SETUP, env=project_env(**{**PRODUCTION_ENV, "TRUSTED_PROXIES": proxies}))
    assert (result.returncode == 0) == starts, result.stderr[-2000:]
    if not starts:
        assert "TRUSTED_PROXIES may not hold every address (/0)" in result.stderr


@pytest.mark.parametrize("rate", ["10", "ten/min", "10/fortnight", "10 / min"])
def test_a_malformed_throttle_rate_stops_the_start(rate: str) -> None:
    # DRF would parse it on the first request its throttle guards, and fail every one of them.
    result = run_python(
        SETUP, env=project_env(DJANGO_SETTINGS_MODULE="config.settings.local", THROTTLE_RATE_LOGIN=rate)
    )
    assert result.returncode != 0
    assert "THROTTLE_RATE_LOGIN must be a rate such as 10/min" in result.stderr


def test_check_deploy_warns_of_callback_hosts_allowed_past_the_address_check() -> None:
    env = project_env(**{**PRODUCTION_ENV, "CALLBACK_ALLOWED_HOSTS": "10.0.0.5,localhost"})
    result = run_python(CHECK_DEPLOY, env=env)
    assert result.returncode != 0
    assert "(messaging.W001) CALLBACK_ALLOWED_HOSTS is set (10.0.0.5, localhost)" in result.stderr


def test_production_passes_check_deploy_without_warnings() -> None:
    result = run_python(CHECK_DEPLOY, env=project_env(**PRODUCTION_ENV))
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


def test_env_example_lists_every_configuration_variable(base_dir) -> None:
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


@pytest.mark.parametrize(
    ("variables", "bundle"),
    [
        ({"REQUESTS_CA_BUNDLE": "/requests.pem", "CURL_CA_BUNDLE": "/curl.pem"}, "/requests.pem"),
        ({"CURL_CA_BUNDLE": "/curl.pem"}, "/curl.pem"),
        ({"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""}, ""),
    ],
)
def test_the_gateway_ca_bundle_is_read_as_requests_reads_it(variables: dict[str, str], bundle: str) -> None:
    env = project_env(DJANGO_SETTINGS_MODULE="config.settings.local")
    env.pop("REQUESTS_CA_BUNDLE", None)
    env.pop("CURL_CA_BUNDLE", None)
    code = "import django; django.setup(); from django.conf import settings; "
    code += "print(repr(settings.SMS_GATEWAY_CA_BUNDLE))"
    result = run_python(code, env={**env, **variables})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == repr(bundle)


def test_env_file_is_never_tracked(base_dir) -> None:
    assert ".env" in (base_dir / ".gitignore").read_text().split()


LOG_SOMETHING = (
    "import django, logging; django.setup(); from django.conf import settings\n"
    "logging.getLogger('apps').warning('to the log'); logging.getLogger('audit').info('audited')\n"
    "print(sorted(settings.LOGGING['handlers']))\n"
)


def test_settings_log_to_stdout_and_make_no_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    skip = shutil.ignore_patterns(".venv", ".git", ".env", "logs", "media", "*.sqlite3*", "__pycache__")
    shutil.copytree(BASE_DIR, project, ignore=skip)
    env = project_env(DJANGO_SETTINGS_MODULE="config.settings.local", LOG_DIR="")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # prometheus_client takes even an empty one as "write here"
    before = sorted(path.name for path in project.iterdir())

    imported = subprocess.run(
        [sys.executable, "-c", "import config.settings.production"],
        cwd=project,
        env={**env, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    started = subprocess.run(
        [sys.executable, "-c", LOG_SOMETHING], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )

    assert imported.returncode == 0, imported.stderr
    assert started.returncode == 0, started.stderr
    assert sorted(path.name for path in project.iterdir()) == before
    *logged, handlers = started.stdout.splitlines()
    assert handlers == "['console']"
    assert [json.loads(line)["message"] for line in logged] == ["to the log", "audited"]


def test_log_dir_adds_files_that_logrotate_may_move(tmp_path: Path) -> None:
    log_dir = tmp_path / "not-made-yet" / "logs"
    code = (
        LOG_SOMETHING + "import os; os.rename(settings.LOG_DIR + '/app.log', settings.LOG_DIR + '/app.log.1')\n"
        "logging.getLogger('apps').warning('after the rotation')\n"
    )
    result = run_python(code, env=project_env(DJANGO_SETTINGS_MODULE="config.settings.local", LOG_DIR=str(log_dir)))

    assert result.returncode == 0, result.stderr
    assert "after the rotation" in result.stdout  # stdout has everything too
    rotated = [json.loads(line)["message"] for line in (log_dir / "app.log.1").read_text().splitlines()]
    assert rotated == ["to the log"]
    reopened = [json.loads(line)["message"] for line in (log_dir / "app.log").read_text().splitlines()]
    assert reopened == ["after the rotation"]
    assert [json.loads(line)["message"] for line in (log_dir / "audit.log").read_text().splitlines()] == ["audited"]
    assert (log_dir / "error.log").read_text() == ""


def test_the_metrics_folder_is_made_by_the_first_metric_not_by_the_settings(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    env = project_env(DJANGO_SETTINGS_MODULE="config.settings.local", PROMETHEUS_MULTIPROC_DIR=str(folder))
    code = (
        "import os, django; from django.conf import settings; settings.INSTALLED_APPS\n"
        f"made_on_import = os.path.isdir({str(folder)!r}); django.setup()\n"
        f"print(made_on_import, os.path.isdir({str(folder)!r}))\n"
    )
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def _names_read_by_the_code(base_dir: Path) -> set[str]:
    patterns = [
        re.compile(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"'),
        re.compile(r'(?:os\.environ(?:\.get|\.setdefault)?\(|os\.environ\[|_env\()\s*"([A-Z][A-Z0-9_]*)"'),
    ]
    names: set[str] = set()
    for path in [*(base_dir / "config").rglob("*.py"), *(base_dir / "apps").rglob("*.py")]:
        text = path.read_text()
        for pattern in patterns:
            names.update(pattern.findall(text))
    return names


def test_env_example_lists_every_variable_the_code_reads(base_dir) -> None:
    listed = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (base_dir / ".env.example").read_text().splitlines()
        if "=" in line
    }
    read = _names_read_by_the_code(base_dir)
    assert {"GUNICORN_WORKERS", "GUNICORN_TIMEOUT", "SECRET_KEY", "CONN_MAX_AGE"} <= read
    assert read - listed == set()


def test_one_environment_reader_for_every_settings_module(base_dir) -> None:
    """env.py alone makes the reader, reads `.env` and drops empty variables; each concern module says what it
    holds in its opening line."""
    modules = sorted((base_dir / "config" / "settings").glob("*.py"))
    assert {"env.py", "base.py", "local.py", "test.py", "production.py"} <= {path.name for path in modules}
    for path in modules:
        text = path.read_text()
        if path.name == "env.py":
            assert text.count("environ.Env()") == text.count("read_env(") == text.count("del os.environ") == 1
            continue
        assert "environ.Env(" not in text, path.name
        assert "read_env(" not in text, path.name
        assert "del os.environ" not in text, path.name
        if path.name != "__init__.py":
            assert text.startswith('"""'), path.name


def test_the_apps_read_the_environment_only_through_the_settings(base_dir) -> None:
    read = re.compile(r"os\.environ\.get\(|os\.environ\[|os\.getenv\(|environ\.Env\(")
    offenders = [str(path) for path in (base_dir / "apps").rglob("*.py") if read.search(path.read_text())]
    assert offenders == []


EMPTY_MEANS_DEFAULT = (
    "import django, os; django.setup(); from django.conf import settings\n"
    "from django.test import Client\n"
    "print(settings.CONN_MAX_AGE if 'sqlite' not in settings.DATABASES['default']['ENGINE'] else 'sqlite',\n"
    "      settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['anon'], settings.PRODUCTS_CACHE_TTL,\n"
    "      bool(settings.SECRET_KEY), 'PROMETHEUS_MULTIPROC_DIR' in os.environ,\n"
    "      Client().get('/metrics', REMOTE_ADDR='127.0.0.1').status_code)\n"
)


def test_an_empty_variable_means_the_default() -> None:
    empty = {
        name: ""
        for name in (
            "SECRET_KEY", "DATABASE_URL", "THROTTLE_RATE_ANON", "PRODUCTS_CACHE_TTL", "PROMETHEUS_MULTIPROC_DIR",
            "REDIS_URL", "CELERY_BROKER_URL", "LOG_DIR", "STATIC_ROOT", "MEDIA_ROOT", "OIDC_PROVIDERS",
        )
    }  # fmt: skip
    result = run_python(EMPTY_MEANS_DEFAULT, env=project_env(DJANGO_SETTINGS_MODULE="config.settings.local", **empty))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["sqlite", "60/min", "300", "True", "False", "200"]


def test_gunicorn_takes_an_empty_variable_as_its_default() -> None:
    code = "import runpy; c = runpy.run_path('config/gunicorn.py'); print(c['workers'], c['timeout'], c['bind'])"
    env = project_env(GUNICORN_WORKERS="", GUNICORN_TIMEOUT="", GUNICORN_BIND="")
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["2", "30", "0.0.0.0:8000"]
