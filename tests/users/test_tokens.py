"""Sign-in, refresh with rotation, sign-out, and what happens to tokens of a deactivated user."""

from datetime import timedelta

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from apps.core.models import AuditEvent

from .factories import DEFAULT_PASSWORD, UserFactory

LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/users/me/"
BAD_CREDENTIALS = {"detail": "No active account found with the given credentials.", "code": "invalid_credentials"}


# --- Login ----------------------------------------------------------------------------------------------------


def test_login_answers_a_token_pair_for_the_user_and_audits_it(api_client, user) -> None:
    response = api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert AccessToken(body["access"])["user_id"] == str(user.pk)
    assert OutstandingToken.objects.filter(user=user, jti=RefreshToken(body["refresh"])["jti"]).exists()
    audit = AuditEvent.objects.get(action="auth.login")
    assert (audit.actor, audit.object_id, audit.ip_address) == (user, str(user.pk), "10.1.2.3")


def test_login_email_is_case_and_space_insensitive(api_client, user) -> None:
    response = api_client.post(LOGIN, {"email": f"  {user.email.upper()} ", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "nobody@example.com", "password": DEFAULT_PASSWORD},
        {"email": "USER", "password": "wrong-password"},  # replaced by the user's email below
        {"email": "USER", "password": DEFAULT_PASSWORD.upper()},
        {"email": "USER", "password": f" {DEFAULT_PASSWORD}"},  # spaces are part of a password
    ],
)
def test_login_with_wrong_credentials_is_401(api_client, user, credentials) -> None:
    body = {**credentials, "email": user.email if credentials["email"] == "USER" else credentials["email"]}
    response = api_client.post(LOGIN, body)
    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not AuditEvent.objects.filter(action="auth.login").exists()
    assert not OutstandingToken.objects.exists()


def test_login_of_an_inactive_user_is_401(db, api_client) -> None:
    inactive = UserFactory(is_active=False)
    response = api_client.post(LOGIN, {"email": inactive.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"email": ["This field is required."], "password": ["This field is required."]}),
        ({"email": "user@example.com"}, {"password": ["This field is required."]}),
        ({"email": "nope", "password": "x"}, {"email": ["Enter a valid email address."]}),
        ({"email": "a@example.com", "password": ["x"]}, {"password": ["Not a valid string."]}),
        ({"email": "a@example.com", "password": ""}, {"password": ["This field may not be blank."]}),
    ],
)
def test_login_bad_input_is_400(db, api_client, body, errors) -> None:
    response = api_client.post(LOGIN, body)
    assert response.status_code == 400
    assert response.json() == errors


# --- Refresh --------------------------------------------------------------------------------------------------


def test_refresh_rotates_and_blacklists_the_old_token(api_client, user, login) -> None:
    tokens = login(user.email)

    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})

    assert response.status_code == 200
    new = response.json()
    assert set(new) == {"access", "refresh"}
    assert RefreshToken(new["refresh"])["user_id"] == str(user.pk)
    assert BlacklistedToken.objects.filter(token__jti=RefreshToken(tokens["refresh"], verify=False)["jti"]).exists()
    assert OutstandingToken.objects.filter(user=user, jti=RefreshToken(new["refresh"])["jti"]).exists()
    # The new refresh token works in turn; the old one does not.
    assert api_client.post(REFRESH, {"refresh": new["refresh"]}).status_code == 200
    again = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert again.status_code == 401
    assert again.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}


def test_a_replayed_rotated_refresh_token_revokes_every_session_and_is_audited(api_client, user, login) -> None:
    first = login(user.email)
    other_session = login(user.email)
    second = api_client.post(REFRESH, {"refresh": first["refresh"]}).json()

    replay = api_client.post(REFRESH, {"refresh": first["refresh"]})

    assert replay.status_code == 401
    assert replay.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}
    assert api_client.post(REFRESH, {"refresh": second["refresh"]}).status_code == 401
    assert api_client.post(REFRESH, {"refresh": other_session["refresh"]}).status_code == 401
    event = AuditEvent.objects.get(action="auth.refresh_token_replayed")
    assert (event.actor, event.object_id, event.changes) == (None, str(user.pk), {"revoked_refresh_tokens": 2})


def test_a_bad_refresh_token_revokes_nothing(api_client, user, login) -> None:
    tokens = login(user.email)
    assert api_client.post(REFRESH, {"refresh": _forged(user)}).status_code == 401
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 200
    assert not AuditEvent.objects.filter(action="auth.refresh_token_replayed").exists()


def _forged(user) -> str:
    token = RefreshToken.for_user(user)
    header, payload, _signature = str(token).split(".")
    return f"{header}.{payload}.c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ"


def _expired(user) -> str:
    token = RefreshToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: "not-a-token", id="garbage"),
        pytest.param(lambda user: "a.b.c", id="malformed"),
        pytest.param(_forged, id="forged"),
        pytest.param(_expired, id="expired"),
        pytest.param(lambda user: str(RefreshToken.for_user(user).access_token), id="access-token"),
        pytest.param(lambda user: 12345, id="number"),
    ],
)
def test_refresh_with_a_bad_token_is_401(api_client, user, make_token) -> None:
    response = api_client.post(REFRESH, {"refresh": make_token(user)})
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"refresh": ["This field is required."]}),
        ({"refresh": ""}, {"refresh": ["This field may not be blank."]}),
        ({"refresh": None}, {"refresh": ["This field may not be null."]}),
    ],
)
def test_refresh_without_a_token_is_400(db, api_client, body, errors) -> None:
    response = api_client.post(REFRESH, body)
    assert response.status_code == 400
    assert response.json() == errors


def test_refresh_of_a_deactivated_user_is_401(api_client, user, login) -> None:
    tokens = login(user.email)
    user.is_active = False
    user.save(update_fields=["is_active"])  # behind the service's back: the token itself is not blacklisted
    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert response.status_code == 401
    assert response.json() == {"detail": "No active account found for the given token.", "code": "token_not_valid"}


# --- Logout ---------------------------------------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api_client, user, login, bearer) -> None:
    tokens = login(user.email)
    client = bearer(tokens["access"])

    response = client.post(LOGOUT, {"refresh": tokens["refresh"]})

    assert response.status_code == 204
    assert response.content == b""
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
    assert AuditEvent.objects.filter(actor=user, action="auth.logout").exists()
    # Signing out twice with the same refresh token: it is already dead.
    again = bearer(login(user.email)["access"]).post(LOGOUT, {"refresh": tokens["refresh"]})
    assert again.status_code == 400
    assert again.json() == {"refresh": ["Token is blacklisted"]}


def test_logout_needs_authentication(api_client, user, login) -> None:
    tokens = login(user.email)
    response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 200


def test_logout_cannot_revoke_someone_elses_token(user, other_user, login, bearer) -> None:
    mine = login(user.email)
    theirs = login(other_user.email)
    response = bearer(mine["access"]).post(LOGOUT, {"refresh": theirs["refresh"]})
    assert response.status_code == 400
    assert response.json() == {"refresh": ["Token is invalid"]}
    assert not BlacklistedToken.objects.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"refresh": ["This field is required."]}),
        ({"refresh": "garbage"}, {"refresh": ["Token is invalid"]}),
    ],
)
def test_logout_bad_input_is_400(user_client, body, errors) -> None:
    response = user_client.post(LOGOUT, body)
    assert response.status_code == 400
    assert response.json() == errors


# --- Access tokens --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer",
        "Token abc",
    ],
)
def test_a_bad_access_token_is_401(api_client, user, header) -> None:
    api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get(ME)
    assert response.status_code == 401
    assert "detail" in response.json()
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_forged_access_token_is_401(api_client, user, bearer) -> None:
    header, payload, _signature = str(AccessToken.for_user(user)).split(".")
    response = bearer(f"{header}.{payload}.Zm9yZ2Vk").get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_refresh_token_is_not_an_access_token(user, login, bearer) -> None:
    assert bearer(login(user.email)["refresh"]).get(ME).status_code == 401


def test_an_inactive_users_access_token_stops_working(user, login, bearer) -> None:
    client = bearer(login(user.email)["access"])
    assert client.get(ME).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json() == {"detail": "User is inactive", "code": "user_inactive"}


# --- Revocation of access tokens --------------------------------------------------------------------------------

REVOKED = {"detail": "Token has been revoked.", "code": "token_revoked"}
PASSWORD_CHANGE = "/api/v1/auth/password/change/"


def test_a_password_change_in_another_session_ends_this_sessions_access_token(user, login, bearer) -> None:
    session_a = bearer(login(user.email)["access"])
    session_b = bearer(login(user.email)["access"])
    assert session_a.get(ME).status_code == 200  # verified, remembered, and its user cached

    changed = session_b.post(PASSWORD_CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": "n3w-Passphrase-8"})
    assert changed.status_code == 200

    response = session_a.get(ME)
    assert response.status_code == 401
    assert response.json() == REVOKED
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert session_b.get(ME).status_code == 401  # the changing session's old token too: it got a fresh pair
    assert bearer(changed.json()["access"]).get(ME).status_code == 200


def test_a_replayed_refresh_token_ends_every_access_token_of_the_account(api_client, user, login, bearer) -> None:
    first = login(user.email)
    other_session = login(user.email)
    rotated = api_client.post(REFRESH, {"refresh": first["refresh"]}).json()
    clients = [bearer(tokens["access"]) for tokens in (first, other_session, rotated)]
    assert [client.get(ME).status_code for client in clients] == [200, 200, 200]

    assert api_client.post(REFRESH, {"refresh": first["refresh"]}).status_code == 401  # the replay

    for client in clients:
        response = client.get(ME)
        assert (response.status_code, response.json()) == (401, REVOKED)
    assert bearer(login(user.email)["access"]).get(ME).status_code == 200  # signing in again works


def test_logout_ends_its_access_token_and_no_other_session(user, login, bearer) -> None:
    signed_out = login(user.email)
    client = bearer(signed_out["access"])
    other_session = bearer(login(user.email)["access"])
    assert client.get(ME).status_code == 200

    assert client.post(LOGOUT, {"refresh": signed_out["refresh"]}).status_code == 204

    response = client.get(ME)
    assert (response.status_code, response.json()) == (401, REVOKED)
    assert other_session.get(ME).status_code == 200


def test_a_refresh_token_of_a_revoked_generation_is_not_rotated(api_client, user, login) -> None:
    # The rotation that raced a revocation: its refresh token escaped the blacklist, not the generation.
    tokens = login(user.email)
    user.token_generation += 1
    user.save(update_fields=["token_generation"])

    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert response.status_code == 401
    assert response.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}
