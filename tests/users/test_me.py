"""The caller's own account: /users/me/, its activity, and the password change."""

import pytest

from apps.core.models import AuditEvent
from apps.core.observability import audit
from apps.users.models import User

from .factories import DEFAULT_PASSWORD, UserFactory

ME = "/api/v1/users/me/"
ACTIVITY = "/api/v1/users/me/activity/"
CHANGE = "/api/v1/auth/password/change/"
NEW_PASSWORD = "an-entirely-new-secret-88"


def user_body(user: User) -> dict[str, object]:
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "account_id": str(user.account_id),
        "is_verified": user.is_verified,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


# --- /users/me/ -----------------------------------------------------------------------------------------------


def test_me_answers_the_callers_user(user, user_client) -> None:
    response = user_client.get(ME)
    assert response.status_code == 200
    assert response.json() == user_body(user)


@pytest.mark.parametrize("method", ["get", "patch"])
def test_me_needs_authentication(db, api_client, method) -> None:
    response = getattr(api_client, method)(ME, {"full_name": "x"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_me_patch_changes_the_name_and_audits_it(user, user_client) -> None:
    old_name = user.full_name
    response = user_client.patch(ME, {"full_name": "Katherine Johnson"})

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.full_name == "Katherine Johnson"
    assert response.json() == user_body(user)
    event = AuditEvent.objects.get(action="user.profile_updated")
    assert (event.actor, event.changes) == (user, {"full_name": [old_name, "Katherine Johnson"]})


def test_me_patch_ignores_every_other_field(user, user_client) -> None:
    before = user_body(user)
    body = {
        "role": "admin",
        "is_staff": True,
        "is_superuser": True,
        "is_verified": False,
        "is_active": False,
        "account_id": "00000000-0000-0000-0000-000000000001",
        "email": "someone-else@example.com",
        "id": 4242,
        "date_joined": "2000-01-01T00:00:00Z",
        "password": "hijacked-password-1",
    }
    response = user_client.patch(ME, body)

    assert response.status_code == 200
    assert response.json() == before
    user.refresh_from_db()
    assert user_body(user) == before
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert user.check_password(DEFAULT_PASSWORD)
    assert not AuditEvent.objects.exists()


def test_me_put_is_not_allowed(user_client) -> None:
    assert user_client.put(ME, {"full_name": "x"}).status_code == 405


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"full_name": "x" * 151}, {"full_name": ["Ensure this field has no more than 150 characters."]}),
        ({"full_name": None}, {"full_name": ["This field may not be null."]}),
        ({"full_name": {"first": "a"}}, {"full_name": ["Not a valid string."]}),
    ],
)
def test_me_patch_bad_input_is_400(user, user_client, body, errors) -> None:
    name = user.full_name
    response = user_client.patch(ME, body)
    assert response.status_code == 400
    assert response.json() == errors
    user.refresh_from_db()
    assert user.full_name == name


# --- /users/me/activity/ --------------------------------------------------------------------------------------


def test_activity_lists_the_callers_own_events_newest_first(user, other_user, login, bearer) -> None:
    login(other_user.email)
    tokens = login(user.email)
    client = bearer(tokens["access"])
    changed = client.post(CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200
    client = bearer(changed.json()["access"])  # the change ends every other token of the account
    audit.record(actor=user, action="message.created", object_type="messaging.message", object_id="01ABC")

    response = client.get(ACTIVITY)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    rows = list(AuditEvent.objects.filter(actor=user).order_by("-id"))
    assert body["results"] == [
        {
            "action": row.action,
            "object_type": row.object_type,
            "object_id": row.object_id,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
            "ip_address": row.ip_address,
        }
        for row in rows
    ]
    assert [row["ip_address"] for row in body["results"]] == [None, "127.0.0.1", "127.0.0.1"]
    assert [row["action"] for row in body["results"]] == ["message.created", "auth.password_changed", "auth.login"]
    assert body["results"][1]["object_id"] == str(user.pk)


def test_activity_is_paginated(user, user_client) -> None:
    for number in range(5):
        audit.record(actor=user, action=f"thing.{number}")
    response = user_client.get(ACTIVITY, {"page_size": 2, "page": 2})
    body = response.json()
    assert body["count"] == 5
    assert [row["action"] for row in body["results"]] == ["thing.2", "thing.1"]
    assert body["next"].endswith("page=3&page_size=2")
    assert user_client.get(ACTIVITY, {"page": 9}).status_code == 404


def test_activity_needs_authentication(db, api_client) -> None:
    assert api_client.get(ACTIVITY).status_code == 401


# --- Password change ------------------------------------------------------------------------------------------


def test_password_change_sets_the_new_password_and_audits_it(user, user_client) -> None:
    response = user_client.post(CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(actor=user, action="auth.password_changed").count() == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"old_password": "not-it-at-all", "new_password": NEW_PASSWORD},
            {"old_password": ["The old password is not correct."]},
        ),
        (
            {"old_password": DEFAULT_PASSWORD, "new_password": "x7#Qz"},
            {"new_password": ["This password is too short. It must contain at least 8 characters."]},
        ),
        (
            {"old_password": "wrong", "new_password": "qwerty123"},
            {"old_password": ["The old password is not correct."], "new_password": ["This password is too common."]},
        ),
        (
            {"old_password": DEFAULT_PASSWORD},
            {"new_password": ["This field is required."]},
        ),
        (
            {"old_password": DEFAULT_PASSWORD, "new_password": 12345678901234},
            {"new_password": ["This password is entirely numeric."]},
        ),
        (
            {"old_password": DEFAULT_PASSWORD, "new_password": ["a-list-of-one"]},
            {"new_password": ["Not a valid string."]},
        ),
    ],
)
def test_password_change_bad_input_is_400_and_changes_nothing(user, user_client, body, errors) -> None:
    response = user_client.post(CHANGE, body)
    assert response.status_code == 400
    assert response.json() == errors
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert not AuditEvent.objects.exists()


def test_password_change_rejects_a_password_like_the_email(db, auth_client) -> None:
    user = UserFactory(email="margaret.hamilton@example.com")
    response = auth_client(user).post(CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": "margaret.hamilton"})
    assert response.status_code == 400
    assert response.json() == {"new_password": ["The password is too similar to the email."]}


def test_password_change_ignores_fields_a_client_may_not_set(user, user_client) -> None:
    body = {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "role": "admin", "is_verified": False}
    assert user_client.post(CHANGE, body).status_code == 200
    user.refresh_from_db()
    assert (user.role, user.is_verified, user.is_staff) == ("user", True, False)


def test_password_change_needs_authentication(db, api_client) -> None:
    response = api_client.post(CHANGE, {"old_password": "a", "new_password": NEW_PASSWORD})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_password_change_signs_out_every_other_session_and_keeps_the_callers(api_client, user, login, bearer) -> None:
    elsewhere = login(user.email)
    here = login(user.email)

    response = bearer(here["access"]).post(CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})

    fresh = response.json()
    assert response.status_code == 200
    assert api_client.post("/api/v1/auth/refresh/", {"refresh": elsewhere["refresh"]}).status_code == 401
    assert api_client.post("/api/v1/auth/refresh/", {"refresh": here["refresh"]}).status_code == 401
    assert bearer(fresh["access"]).get(ME).status_code == 200
    assert api_client.post("/api/v1/auth/refresh/", {"refresh": fresh["refresh"]}).status_code == 200
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.changes == {"revoked_refresh_tokens": 2}
