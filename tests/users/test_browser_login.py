"""The browsable API's sign-in and sign-out (`/api-auth/`), throttled like the API's login."""

import pytest
from django.test import Client

from .factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_the_browsable_api_links_to_its_sign_in(user) -> None:
    page = Client().get("/api/v1/products/", HTTP_ACCEPT="text/html")
    assert page.status_code == 401
    assert b"<a href='/api-auth/login/?next=/api/v1/products/'>Log in</a>" in page.content


def test_sign_in_then_the_api_answers_and_sign_out_ends_it(user) -> None:
    client = Client()
    assert client.get("/api-auth/login/").status_code == 200
    response = client.post(
        "/api-auth/login/", {"username": user.email, "password": DEFAULT_PASSWORD, "next": "/api/v1/products/"}
    )
    assert (response.status_code, response["Location"]) == (302, "/api/v1/products/")
    assert client.get("/api/v1/users/me/", HTTP_ACCEPT="application/json").json()["email"] == user.email
    signed_out = client.post("/api-auth/logout/")
    assert (signed_out.status_code, signed_out["Location"]) == (302, "/api-auth/login/")  # with no `next`
    assert client.get("/api/v1/users/me/", HTTP_ACCEPT="application/json").status_code in (401, 403)


def test_wrong_passwords_are_throttled_like_the_api_login(user, login_rate) -> None:
    login_rate("3/min")
    client = Client()
    statuses = [
        client.post("/api-auth/login/", {"username": user.email, "password": "wrong"}).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = client.post("/api-auth/login/", {"username": user.email, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert b"Too many sign-in attempts" in refused.content
    # The API's login shares the counters.
    api = client.post(
        "/api/v1/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, content_type="application/json"
    )
    assert api.status_code == 429
