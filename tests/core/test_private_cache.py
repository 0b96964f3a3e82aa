"""Answers that belong to one user are never stored by a shared cache or the browser."""

import pytest
from django.test import Client

from apps.core.keygen import KEY_LENGTH


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/users/me/", "/api/v1/users/me/activity/", "/api/v1/messages/"])
def test_personal_answers_are_private_and_not_stored(user_client, path) -> None:
    response = user_client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.django_db
def test_an_error_to_a_signed_in_user_is_private_too(user_client) -> None:
    response = user_client.get("/api/v1/messages/" + "0" * KEY_LENGTH + "/")
    assert response.status_code == 404
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.django_db
def test_a_session_signed_in_page_is_private(user) -> None:
    client = Client()
    client.force_login(user)
    assert client.get("/api/v1/users/me/")["Cache-Control"] == "private, no-store"


@pytest.mark.django_db
def test_anonymous_answers_keep_their_own_caching(api_client) -> None:
    assert "Cache-Control" not in api_client.get("/api/v1/products/")
    assert api_client.get("/health/")["Cache-Control"] == "no-store"
