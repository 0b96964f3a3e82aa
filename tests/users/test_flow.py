"""The whole life of an account through the API, as a client would live it."""

from django.core import mail

from apps.users.models import User

from .conftest import emails_to, link_params

NEW_PASSWORD = "a-brand-new-passphrase-77"
RESET_PASSWORD = "reset-and-remembered-passphrase-31"


def test_register_verify_login_refresh_change_logout_reset(db, api_client, run_on_commit, bearer) -> None:
    # Sign up: 201 with the user, and the verification email goes out after the commit.
    response = run_on_commit(
        api_client.post,
        "/api/v1/auth/register/",
        {"email": "Ada@Example.com", "password": "analytical-engine-1843", "full_name": "Ada Lovelace"},
    )
    assert response.status_code == 201, response.content
    user = User.objects.get()
    assert response.json() == {
        "id": user.pk,
        "email": "ada@example.com",
        "full_name": "Ada Lovelace",
        "role": "user",
        "account_id": str(user.account_id),
        "is_verified": False,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }
    [verification] = emails_to("ada@example.com", "Confirm your email address")

    # Verify with the link's uid and token; the same token a second time is a 400.
    response = api_client.post("/api/v1/auth/verify-email/", link_params(verification))
    assert response.status_code == 204
    assert response.content == b""
    user.refresh_from_db()
    assert user.is_verified is True
    response = api_client.post("/api/v1/auth/verify-email/", link_params(verification))
    assert response.status_code == 400
    assert response.json() == {"token": ["The link is invalid or has expired."]}

    # Sign in (any case of the email), then reach the protected /me with the access token.
    response = api_client.post(
        "/api/v1/auth/login/", {"email": "ADA@example.COM", "password": "analytical-engine-1843"}
    )
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    first = response.json()
    me = bearer(first["access"]).get("/api/v1/users/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert me.json()["is_verified"] is True

    # Refresh: a new pair; the refresh token used is now blacklisted.
    response = api_client.post("/api/v1/auth/refresh/", {"refresh": first["refresh"]})
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    response = api_client.post("/api/v1/auth/refresh/", {"refresh": first["refresh"]})
    assert response.status_code == 401
    assert response.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    # Taken for a stolen copy: every session of the account ends, its access tokens too; signing in again works.
    assert bearer(second["access"]).get("/api/v1/users/me/").json()["code"] == "token_revoked"
    second = api_client.post(
        "/api/v1/auth/login/", {"email": "ada@example.com", "password": "analytical-engine-1843"}
    ).json()

    # Change the password; the old one no longer signs in, the new one does.
    client = bearer(second["access"])
    response = client.post(
        "/api/v1/auth/password/change/",
        {"old_password": "analytical-engine-1843", "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 200
    third = response.json()  # every other refresh token of the account is revoked; this pair is the session's own
    assert api_client.post("/api/v1/auth/refresh/", {"refresh": second["refresh"]}).status_code == 401
    assert (
        api_client.post(
            "/api/v1/auth/login/", {"email": "ada@example.com", "password": "analytical-engine-1843"}
        ).status_code
        == 401
    )
    assert (
        api_client.post("/api/v1/auth/login/", {"email": "ada@example.com", "password": NEW_PASSWORD}).status_code
        == 200
    )

    # Log out with the current refresh token: it can no longer be refreshed.
    response = bearer(third["access"]).post("/api/v1/auth/logout/", {"refresh": third["refresh"]})
    assert response.status_code == 204
    assert response.content == b""
    response = api_client.post("/api/v1/auth/refresh/", {"refresh": third["refresh"]})
    assert response.status_code == 401

    # Forgot the password: 202, an email with a link, and the link sets a new password once.
    mail.outbox.clear()
    response = run_on_commit(api_client.post, "/api/v1/auth/password/reset/", {"email": "ada@EXAMPLE.com"})
    assert response.status_code == 202
    [reset] = emails_to("ada@example.com", "Reset your password")
    body = {**link_params(reset), "new_password": RESET_PASSWORD}
    response = api_client.post("/api/v1/auth/password/reset/confirm/", body)
    assert response.status_code == 204
    response = api_client.post("/api/v1/auth/password/reset/confirm/", {**body, "new_password": "yet-another-one-99x"})
    assert response.status_code == 400
    assert response.json() == {"token": ["The link is invalid or has expired."]}
    assert (
        api_client.post("/api/v1/auth/login/", {"email": "ada@example.com", "password": NEW_PASSWORD}).status_code
        == 401
    )
    response = api_client.post("/api/v1/auth/login/", {"email": "ada@example.com", "password": RESET_PASSWORD})
    assert response.status_code == 200

    # The account's own activity shows what it did, newest first.
    activity = bearer(response.json()["access"]).get("/api/v1/users/me/activity/").json()
    assert [row["action"] for row in activity["results"]] == [
        "auth.login",
        "auth.password_reset",
        "auth.logout",
        "auth.login",
        "auth.password_changed",
        "auth.login",
        "auth.login",
        "user.verified",
        "user.registered",
    ]
