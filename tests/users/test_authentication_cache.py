"""The token's user comes from a short-lived cache, yet every change to the user applies on the next request."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from rest_framework_simplejwt.tokens import AccessToken

from apps.users.authentication import user_cache_key

ME = "/api/v1/users/me/"


def test_second_request_reads_no_user_row(user_client, user, django_assert_num_queries) -> None:
    assert user_client.get(ME).status_code == 200
    with django_assert_num_queries(0):
        assert user_client.get(ME).json()["email"] == user.email


def test_password_hash_is_never_cached(user_client, user) -> None:
    user_client.get(ME)
    cached = cache.get(user_cache_key(user.pk))
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
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=2))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(ME).status_code == 200  # verified, and remembered by this process

    time.sleep(2.1)

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
