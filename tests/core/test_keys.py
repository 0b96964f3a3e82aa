"""No key written in the repository signs anything: local runs make their own, production refuses weak ones, and
tokens name their issuer and audience."""

import json
import secrets
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from config.keys import file_containing, local_secret_key, refuse_unsafe_key
from tests.helpers.processes import BASE_DIR, project_env, run_python

# Random-looking and long enough, but written here, in the repository: production must refuse it.
KEY_IN_THE_REPOSITORY = "_Hy4QNzTXE9_zpzoNgh0O6QrqkZRYhcqavGhaIe6tkmbwWVZHkATMD6sPQ4RVPov"
PRINT_KEYS = (
    "import django, json; django.setup(); from django.conf import settings\n"
    "from rest_framework_simplejwt.settings import api_settings\n"
    "print(json.dumps([settings.SECRET_KEY, api_settings.SIGNING_KEY]))\n"
)


def _keys(**env: str) -> list[str]:
    result = run_python(PRINT_KEYS, env=project_env(**env))
    assert result.returncode == 0, result.stderr[-3000:]
    keys: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return keys


def test_local_run_signs_with_a_random_key_of_the_checkout_that_survives_a_restart() -> None:
    first = _keys(DJANGO_SETTINGS_MODULE="config.settings.local", SECRET_KEY="")
    second = _keys(DJANGO_SETTINGS_MODULE="config.settings.local", SECRET_KEY="")

    assert first == second
    assert first[0] == first[1] == (BASE_DIR / ".secret_key").read_text().strip()
    assert len(first[0]) >= 50
    assert file_containing(first[0], BASE_DIR) is None
    assert ".secret_key" in (BASE_DIR / ".gitignore").read_text().split()


def test_the_test_settings_key_appears_nowhere_in_the_repository() -> None:
    assert file_containing(settings.SECRET_KEY, BASE_DIR) is None


def test_local_key_file_is_made_once_and_read_back(tmp_path) -> None:
    path = tmp_path / ".secret_key"
    key = local_secret_key(path)

    assert local_secret_key(path) == key
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert local_secret_key(tmp_path / "other") != key


def test_a_separate_jwt_signing_key_signs_the_tokens() -> None:
    jwt_key = secrets.token_urlsafe(50)
    keys = _keys(DJANGO_SETTINGS_MODULE="config.settings.local", SECRET_KEY="", JWT_SIGNING_KEY=jwt_key)
    assert keys[1] == jwt_key
    assert keys[0] != jwt_key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("short-" + secrets.token_urlsafe(20), "at least 50 characters"),
        ("x" * 64, "too uniform"),
        ("abcdefghij" * 6, "too uniform"),
        ("django-insecure-" + secrets.token_urlsafe(50), "too uniform"),
        (KEY_IN_THE_REPOSITORY, "appears in the repository"),
    ],
    # Fixed ids: two of the keys are random, and pytest-xdist's workers must agree on every test's name.
    ids=["short", "one-character", "repeated-pattern", "django-insecure-prefix", "in-the-repository"],
)
def test_production_refuses_an_unsafe_key(key: str, reason: str) -> None:
    env = project_env(DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY=key, ALLOWED_HOSTS="api.test")
    result = run_python("import django; django.setup()", env=env)
    assert result.returncode != 0
    assert reason in result.stderr


def test_production_refuses_an_unsafe_jwt_signing_key() -> None:
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        JWT_SIGNING_KEY=KEY_IN_THE_REPOSITORY,
        ALLOWED_HOSTS="api.test",
    )
    result = run_python("import django; django.setup()", env=env)
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY appears in the repository" in result.stderr


def test_a_random_key_passes(tmp_path) -> None:
    refuse_unsafe_key("SECRET_KEY", secrets.token_urlsafe(50), repository=BASE_DIR)
    refuse_unsafe_key("SECRET_KEY", secrets.token_hex(32), repository=BASE_DIR)


def test_compose_requires_a_secret_key_of_its_own() -> None:
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    line = next(line.strip() for line in compose.splitlines() if line.strip().startswith("SECRET_KEY:"))
    assert line.startswith("SECRET_KEY: ${SECRET_KEY:?")
    assert ":-" not in line


def _forged(user_id: int, **claims: object) -> str:
    now = timezone.now()
    payload = {
        "token_type": "access",
        "user_id": str(user_id),
        "jti": secrets.token_hex(16),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        **claims,
    }
    return jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [{}, {"iss": "someone-else", "aud": settings.SIMPLE_JWT["AUDIENCE"]}, {"iss": settings.SIMPLE_JWT["ISSUER"]}],
    ids=["no-issuer-nor-audience", "other-issuer", "no-audience"],
)
def test_a_token_without_our_issuer_and_audience_is_refused(api_client, admin_user, claims) -> None:
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {_forged(admin_user.pk, **claims)}")
    assert api_client.get("/api/v1/users/").status_code == 401


def test_a_token_with_our_issuer_and_audience_is_accepted(api_client, admin_user) -> None:
    claims = {"iss": settings.SIMPLE_JWT["ISSUER"], "aud": settings.SIMPLE_JWT["AUDIENCE"]}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {_forged(admin_user.pk, **claims)}")
    assert api_client.get("/api/v1/users/").status_code == 200
