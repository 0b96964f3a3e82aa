"""The token's user comes from a short-lived cache, yet every change to the user applies on the next request."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework_simplejwt.tokens import AccessToken, Token

from apps.users.authentication import CachedUserJWTAuthentication, user_cache_key
from apps.users.models import User

ME = "/api/v1/users/me/"


def test_second_request_reads_no_user_row(user_client, user, django_assert_num_queries) -> None:
    assert user_client.get(ME).status_code == 200
    with django_assert_num_queries(0):
        assert user_client.get(ME).json()["email"] == user.email


def test_password_hash_is_never_cached(user_client, user) -> None:
    user_client.get(ME)
    cached = cache.get(user_cache_key(user.pk))["values"]
    assert cached["email"] == user.email
    assert "password" not in cached


def test_deactivation_applies_at_once_with_a_warm_cache(user_client, admin_client, user) -> None:
    assert user_client.get(ME).status_code == 200  # cached now

    assert admin_client.delete(f"/api/v1/users/{user.pk}/").status_code == 204

    response = user_client.get(ME)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_role_change_applies_at_once_with_a_warm_cache(user_client, admin_client, user) -> None:
    assert user_client.get("/api/v1/users/").status_code == 403

    assert admin_client.patch(f"/api/v1/users/{user.pk}/", {"role": "admin"}, format="json").status_code == 200

    assert user_client.get("/api/v1/users/").status_code == 200
    assert user_client.get(ME).json()["role"] == "admin"


def test_password_change_works_with_a_cached_user(user_client, user) -> None:
    from tests.users.factories import DEFAULT_PASSWORD

    user_client.get(ME)
    response = user_client.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "a-brand-new-passphrase-91"},
        format="json",
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase-91")


def test_a_remembered_token_is_refused_once_it_expires(api_client, user) -> None:
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(seconds=2))
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert api_client.get(ME).status_code == 200  # verified, and remembered by this process

        clock.shift(timedelta(seconds=2.1))

        response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_tampered_token_is_refused_after_the_genuine_one_was_remembered(api_client, user) -> None:
    token = str(AccessToken.for_user(user))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(ME).status_code == 200

    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api_client.get(ME).status_code == 401


@pytest.mark.parametrize("user_id", ["0{pk}", "{pk} ", " {pk}", "+{pk}", "{pk}.0"])
def test_a_token_naming_the_user_in_another_form_is_refused(api_client, user, user_id) -> None:
    token = AccessToken.for_user(user)
    token["user_id"] = user_id.format(pk=user.pk)  # signed with our key: only the form differs
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert api_client.get(ME).status_code == 401
    assert cache.get(user_cache_key(user_id.format(pk=user.pk))) is None


def test_the_issued_form_is_accepted(api_client, user) -> None:
    token = AccessToken.for_user(user)
    assert token["user_id"] == str(user.pk)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(ME).status_code == 200


# --- An invalidation wins over a fill in flight --------------------------------------------------------------


class PausedFill(CachedUserJWTAuthentication):
    """Test-only: a fill that stops between its database read and its cache write until told to go on."""

    row_read = threading.Event()
    go_on = threading.Event()

    def load_user(self, validated_token: Token) -> User:
        user = super().load_user(validated_token)
        type(self).row_read.set()
        assert type(self).go_on.wait(10)
        return user


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_fill_that_read_the_row_before_a_deactivation_cannot_undo_it(api_client, admin_client, user) -> None:
    token = str(AccessToken.for_user(user))
    outcome: list[object] = []

    def request_in_flight() -> None:
        try:
            request = Request(APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {token}"))
            outcome.append(PausedFill().authenticate(request))
        except Exception as exc:  # reported to the test below
            outcome.append(exc)
        finally:
            connection.close()

    PausedFill.row_read.clear()
    PausedFill.go_on.clear()
    thread = threading.Thread(target=request_in_flight)
    thread.start()
    try:
        assert PausedFill.row_read.wait(10)  # it read the still-active row, and has not cached it yet
        assert admin_client.delete(f"/api/v1/users/{user.pk}/").status_code == 204  # committed on return
    finally:
        PausedFill.go_on.set()
        thread.join(10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], tuple)  # the request in flight got in: it began before the commit

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api_client.get(ME)
    assert (response.status_code, response.json()) == (401, {"detail": "User is inactive", "code": "user_inactive"})


# --- simplejwt's settings --------------------------------------------------------------------------------------


def test_check_revoke_token_refuses_to_start(settings) -> None:
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "CHECK_REVOKE_TOKEN": True}

    with pytest.raises(SystemCheckError, match=r"users\.E001"):
        call_command("check")
