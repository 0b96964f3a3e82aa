"""`make run` shows no debug page unless asked for, and where DEBUG is on the page holds no credential."""

import pytest

from tests.helpers.processes import project_env, run_python

OIDC_SECRET = "oidc-client-secret-that-must-not-show"
BROKER_PASSWORD = "broker-password-that-must-not-show"
DATABASE_PASSWORD = "database-password-that-must-not-show"
# What runserver puts in every request's META: the whole process environment.
ENVIRONMENT = {
    "OIDC_PROVIDERS": f'[{{"id": "idp", "client_id": "web", "client_secret": "{OIDC_SECRET}"}}]',
    "DATABASE_URL": f"postgres://app:{DATABASE_PASSWORD}@db.internal:5432/app",
}


def test_make_run_has_debug_off_unless_asked_for() -> None:
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    for debug, expected in (("", "False"), ("true", "True")):
        env = project_env(DJANGO_SETTINGS_MODULE="config.settings.local")
        if debug:
            env["DEBUG"] = debug
        result = run_python(code, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip().splitlines()[-1] == expected


def test_a_foreign_host_gets_json_not_a_technical_page_by_default() -> None:
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/', HTTP_HOST='evil.example')\n"
        "print(r.status_code, r['Content-Type'], r.content.decode())\n"
    )
    result = run_python(code, env=project_env(DJANGO_SETTINGS_MODULE="config.settings.local", **ENVIRONMENT))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        result.stdout.strip().splitlines()[-1]
        == '400 application/json {"detail": "Bad request.", "code": "bad_request"}'
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/v1/products/"])
def test_the_debug_page_redacts_credentials_and_shows_no_environment(client, settings, path) -> None:
    settings.DEBUG = True
    settings.CELERY_BROKER_URL = f"amqp://guest:{BROKER_PASSWORD}@127.0.0.1:5672//"
    settings.OIDC_PROVIDERS = [{"id": "idp", "client_id": "web", "client_secret": OIDC_SECRET}]

    response = client.get(path, HTTP_HOST="evil.example", **ENVIRONMENT)

    page = response.content.decode()
    assert response.status_code == 400
    assert "DisallowedHost" in page  # the technical page itself, so the assertions below look at it
    for secret in (OIDC_SECRET, BROKER_PASSWORD, DATABASE_PASSWORD, settings.SECRET_KEY):
        assert secret not in page
    assert "OIDC_PROVIDERS" in page  # the setting is listed, its secret starred
    assert "postgres://app:" not in page
