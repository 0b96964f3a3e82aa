"""The admin's login form shares the API login's failure counters: guessing there is throttled too."""

import pytest
from django.test import Client

from .factories import DEFAULT_PASSWORD

ADMIN_LOGIN = "/admin/login/?next=/admin/"
API_LOGIN = "/api/v1/auth/login/"
pytestmark = pytest.mark.django_db


def _admin_sign_in(client: Client, email: str, password: str):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password})


def test_wrong_passwords_on_the_admin_form_are_throttled(admin_user, login_rate) -> None:
    login_rate("3/min")
    client = Client()
    for attempt in range(3):
        assert _admin_sign_in(client, admin_user.email, f"guess-{attempt}").status_code == 200  # the form again

    response = _admin_sign_in(client, admin_user.email, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert client.get("/admin/").status_code == 302  # not signed in


def test_admin_form_failures_count_for_the_api_login_and_back(api_client, admin_user, login_rate) -> None:
    login_rate("3/min")
    client = Client()
    for attempt in range(2):
        _admin_sign_in(client, admin_user.email, f"guess-{attempt}")
    assert api_client.post(API_LOGIN, {"email": admin_user.email, "password": "guess"}).status_code == 401

    assert api_client.post(API_LOGIN, {"email": admin_user.email, "password": DEFAULT_PASSWORD}).status_code == 429
    assert _admin_sign_in(client, admin_user.email, DEFAULT_PASSWORD).status_code == 429


def test_the_right_password_on_the_admin_form_signs_in(admin_user, login_rate) -> None:
    login_rate("3/min")
    client = Client()
    _admin_sign_in(client, admin_user.email, "one-typo")
    response = _admin_sign_in(client, admin_user.email, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
