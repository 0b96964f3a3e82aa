"""Whatever the body, a write endpoint answers 4xx JSON, never a 500."""

import pytest

PUBLIC = [
    "/api/v1/auth/register/",
    "/api/v1/auth/login/",
    "/api/v1/auth/refresh/",
    "/api/v1/auth/verify-email/",
    "/api/v1/auth/password/reset/",
    "/api/v1/auth/password/reset/confirm/",
]
SIGNED_IN = ["/api/v1/auth/logout/", "/api/v1/auth/password/change/"]
BODIES = ["[]", '["email"]', '"a string"', "42", "null", "{", '{"email": {"$ne": null}}', "{}"]


@pytest.mark.parametrize("url", PUBLIC)
@pytest.mark.parametrize("body", BODIES)
def test_public_endpoints_reject_odd_bodies(db, api_client, url, body) -> None:
    response = api_client.post(url, body, content_type="application/json")
    assert response.status_code == 400, (url, body, response.content)
    assert isinstance(response.json(), dict)


@pytest.mark.parametrize("url", SIGNED_IN)
@pytest.mark.parametrize("body", BODIES)
def test_signed_in_endpoints_reject_odd_bodies(user_client, url, body) -> None:
    response = user_client.post(url, body, content_type="application/json")
    assert response.status_code == 400, (url, body, response.content)


@pytest.mark.parametrize("body", BODIES)
def test_patches_reject_odd_bodies(admin_client, other_user, body) -> None:
    for url in ("/api/v1/users/me/", f"/api/v1/users/{other_user.pk}/"):
        response = admin_client.patch(url, body, content_type="application/json")
        assert response.status_code in (200, 400), (url, body, response.content)  # {} is a valid empty PATCH
        assert response.status_code == 200 or isinstance(response.json(), dict)


def test_a_form_encoded_login_is_refused(api_client, user) -> None:
    from .factories import DEFAULT_PASSWORD

    response = api_client.post(
        "/api/v1/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, format="multipart"
    )
    assert response.status_code == 415
    assert response.json()["detail"].startswith('Unsupported media type "multipart/form-data')
