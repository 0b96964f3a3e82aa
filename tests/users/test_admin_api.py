"""Admin user management: /api/v1/users/ and /api/v1/users/{id}/."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.core.models import AuditEvent, OutboxEvent
from apps.users.models import User

from .factories import UserFactory
from .test_me import user_body

LIST = "/api/v1/users/"


def detail(user: User | int) -> str:
    return f"/api/v1/users/{getattr(user, 'pk', user)}/"


# --- Who may ----------------------------------------------------------------------------------------------------


ADMIN_CALLS = [
    ("get", LIST),
    ("get", "DETAIL"),
    ("patch", "DETAIL"),
    ("delete", "DETAIL"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_a_plain_user_gets_403_on_every_admin_endpoint(user, other_user, user_client, method, path) -> None:
    url = detail(other_user) if path == "DETAIL" else path
    response = getattr(user_client, method)(url, {"role": "admin", "is_active": False})
    assert response.status_code == 403
    assert response.json() == {"detail": "Only an admin may do this.", "code": "permission_denied"}
    other_user.refresh_from_db()
    assert (other_user.role, other_user.is_active) == ("user", True)


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_a_plain_user_cannot_promote_themselves(user, user_client, method, path) -> None:
    url = detail(user) if path == "DETAIL" else path
    assert getattr(user_client, method)(url, {"role": "admin"}).status_code == 403
    user.refresh_from_db()
    assert (user.role, user.is_staff) == ("user", False)


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_anonymous_gets_401_on_every_admin_endpoint(db, api_client, method, path) -> None:
    target = UserFactory()
    url = detail(target) if path == "DETAIL" else path
    response = getattr(api_client, method)(url, {"role": "admin"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# --- List and detail ------------------------------------------------------------------------------------------


def test_admin_lists_every_user_paginated(admin_user, admin_client) -> None:
    others = [*UserFactory.create_batch(2), UserFactory(is_active=False)]
    response = admin_client.get(LIST)
    assert response.status_code == 200
    assert response.json() == {
        "count": 4,
        "next": None,
        "previous": None,
        "results": [user_body(u) for u in [admin_user, *others]],
    }


def test_admin_searches_users_by_email_and_name(admin_client) -> None:
    ada = UserFactory(email="ada@analytical.org", full_name="Ada Lovelace")
    charles = UserFactory(email="charles@engines.org", full_name="Charles Babbage")
    someone = UserFactory(email="someone@else.org", full_name="Someone Else")

    def found(**params: str) -> list[int]:
        return [row["id"] for row in admin_client.get(LIST, params).json()["results"]]

    assert found(search="ANALYTICAL") == [ada.pk]
    assert found(search="babbage") == [charles.pk]
    assert found(search=".org", role="user") == [ada.pk, charles.pk, someone.pk]
    assert found(search="nobody-like-this") == []


def test_a_search_with_a_null_character_is_a_400_naming_the_parameter(admin_client) -> None:
    response = admin_client.get(LIST, {"search": "ada\x00"})

    assert (response.status_code, response.json()) == (400, {"search": ["Null characters are not allowed."]})


def test_admin_filters_users_by_role(admin_user, admin_client) -> None:
    plain = UserFactory()
    other_admin = UserFactory(role="admin")
    assert [row["id"] for row in admin_client.get(LIST, {"role": "admin"}).json()["results"]] == [
        admin_user.pk,
        other_admin.pk,
    ]
    assert [row["id"] for row in admin_client.get(LIST, {"role": "user"}).json()["results"]] == [plain.pk]
    assert admin_client.get(LIST, {"role": ""}).json()["count"] == 3  # empty counts as absent


def test_an_unknown_role_filter_is_400(admin_client) -> None:
    response = admin_client.get(LIST, {"role": "superhero"})
    assert response.status_code == 400
    assert response.json() == {"role": ["Select a valid choice. superhero is not one of the available choices."]}


def test_admin_filters_users_by_activity(admin_user, admin_client) -> None:
    gone = UserFactory(is_active=False)
    assert [row["id"] for row in admin_client.get(LIST, {"is_active": "false"}).json()["results"]] == [gone.pk]


def test_admin_reads_one_user(admin_client, other_user) -> None:
    response = admin_client.get(detail(other_user))
    assert response.status_code == 200
    assert response.json() == user_body(other_user)


@pytest.mark.parametrize("path", ["/api/v1/users/999999/", "/api/v1/users/abc/", "/api/v1/users/-1/"])
def test_an_unknown_user_is_404(admin_client, path) -> None:
    response = admin_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert admin_client.patch(path, {"full_name": "x"}).status_code == 404
    assert admin_client.delete(path).status_code == 404


# --- Update ---------------------------------------------------------------------------------------------------


def test_admin_promotes_a_user_recorded_and_published(admin_user, admin_client, other_user) -> None:
    response = admin_client.patch(detail(other_user), {"role": "admin"})

    assert response.status_code == 200
    other_user.refresh_from_db()
    assert (other_user.role, other_user.is_staff) == ("admin", True)
    assert response.json() == user_body(other_user)
    audit = AuditEvent.objects.get(action="user.role_changed")
    assert (audit.actor, audit.object_id, audit.changes) == (
        admin_user,
        str(other_user.pk),
        {"role": ["user", "admin"]},
    )
    event = OutboxEvent.objects.get(event_type="user.role_changed")
    assert (event.priority, event.aggregate_type, event.aggregate_id) == ("high", "user", str(other_user.pk))
    assert event.payload == {
        "user_id": other_user.pk,
        "account_id": str(other_user.account_id),
        "old_role": "user",
        "new_role": "admin",
    }
    # The new admin's rights hold at once, with the token they already had.
    promoted = APIClient()
    promoted.force_authenticate(other_user)
    assert promoted.get(LIST).status_code == 200


def test_admin_patch_changes_name_and_ignores_what_it_may_not_set(admin_client, other_user) -> None:
    before = user_body(other_user)
    body = {
        "full_name": "Renamed Person",
        "email": "new@example.com",
        "is_verified": False,
        "account_id": "00000000-0000-0000-0000-000000000001",
        "is_staff": True,
        "is_superuser": True,
        "id": 777,
        "password": "set-by-admin-1234",
    }
    response = admin_client.patch(detail(other_user), body)

    assert response.status_code == 200
    assert response.json() == {**before, "full_name": "Renamed Person"}
    other_user.refresh_from_db()
    assert (other_user.is_staff, other_user.is_superuser, other_user.role) == (False, False, "user")
    assert not other_user.check_password("set-by-admin-1234")
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["user.profile_updated"]
    assert not OutboxEvent.objects.exists()


def test_patch_with_the_same_values_records_nothing(admin_client, other_user) -> None:
    body = {"role": "user", "is_active": True, "full_name": other_user.full_name}
    assert admin_client.patch(detail(other_user), body).status_code == 200
    assert not AuditEvent.objects.exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"role": "superhero"}, {"role": ['"superhero" is not a valid choice.']}),
        ({"role": None}, {"role": ["This field may not be null."]}),
        ({"is_active": "perhaps"}, {"is_active": ["Must be a valid boolean."]}),
        ({"is_active": None}, {"is_active": ["This field may not be null."]}),
        ({"full_name": "x" * 151}, {"full_name": ["Ensure this field has no more than 150 characters."]}),
        (
            {"role": "admin", "is_active": "perhaps", "full_name": "Half Written"},
            {"is_active": ["Must be a valid boolean."]},
        ),
    ],
)
def test_admin_patch_bad_input_is_400_and_changes_nothing(admin_client, other_user, body, errors) -> None:
    before = user_body(other_user)
    response = admin_client.patch(detail(other_user), body)
    assert response.status_code == 400
    assert response.json() == errors
    other_user.refresh_from_db()
    assert user_body(other_user) == before
    assert not AuditEvent.objects.exists()


def test_an_admin_cannot_demote_or_deactivate_themselves(admin_user, admin_client) -> None:
    response = admin_client.patch(detail(admin_user), {"role": "user", "is_active": False, "full_name": "Still Me"})
    assert response.status_code == 400
    assert response.json() == {
        "role": ["You cannot change your own role."],
        "is_active": ["You cannot deactivate your own account."],
    }
    response = admin_client.delete(detail(admin_user))
    assert response.status_code == 400
    assert response.json() == {"is_active": ["You cannot deactivate your own account."]}
    admin_user.refresh_from_db()
    assert (admin_user.role, admin_user.is_active, admin_user.full_name) == ("admin", True, admin_user.full_name)
    assert admin_user.full_name != "Still Me"
    assert not AuditEvent.objects.exists()


def test_a_superuser_stays_an_admin(admin_client) -> None:
    root = User.objects.create_superuser("root@example.com", "root-password-123")
    response = admin_client.patch(detail(root), {"role": "user"})
    assert response.status_code == 400
    assert response.json() == {"role": ["A superuser is always an admin."]}
    root.refresh_from_db()
    assert root.role == "admin"


def test_a_failure_midway_writes_nothing(admin_client, other_user, monkeypatch) -> None:
    """The role, its audit row and its event are one transaction: if the event cannot be written, none stays."""
    from apps.users import events

    def broken_outbox(*args, **kwargs):
        raise RuntimeError("outbox table is gone")

    monkeypatch.setattr(events, "publish_event", broken_outbox)
    admin_client.raise_request_exception = False
    response = admin_client.patch(detail(other_user), {"role": "admin", "full_name": "Half Written"})
    assert response.status_code == 500
    assert response.json()["detail"] == "Internal server error."
    other_user.refresh_from_db()
    assert (other_user.role, other_user.is_staff) == ("user", False)
    assert other_user.full_name != "Half Written"
    assert not AuditEvent.objects.exists()


# --- Deactivation ---------------------------------------------------------------------------------------------


def test_delete_deactivates_and_revokes_every_token(admin_user, admin_client, other_user, login, bearer) -> None:
    sessions = [login(other_user.email) for _ in range(3)]
    bystander = login(admin_user.email)

    response = admin_client.delete(detail(other_user))

    assert response.status_code == 204
    assert response.content == b""
    other_user.refresh_from_db()
    assert other_user.is_active is False
    assert User.objects.filter(pk=other_user.pk).exists()  # deactivated, not deleted
    assert BlacklistedToken.objects.filter(token__user=other_user).count() == 3
    assert OutstandingToken.objects.filter(user=other_user).count() == 3
    for session in sessions:
        assert bearer(session["access"]).get("/api/v1/users/me/").status_code == 401
        refreshed = APIClient().post("/api/v1/auth/refresh/", {"refresh": session["refresh"]})
        assert refreshed.status_code == 401
    assert APIClient().post("/api/v1/auth/refresh/", {"refresh": bystander["refresh"]}).status_code == 200
    login_again = APIClient().post("/api/v1/auth/login/", {"email": other_user.email, "password": "whatever"})
    assert login_again.status_code == 401
    audit = AuditEvent.objects.get(action="user.deactivated")
    assert (audit.actor, audit.changes) == (admin_user, {"is_active": [True, False], "revoked_refresh_tokens": 3})
    event = OutboxEvent.objects.get(event_type="user.deactivated")
    assert (event.priority, event.payload) == (
        "high",
        {"user_id": other_user.pk, "account_id": str(other_user.account_id)},
    )
    # Still listed for admins, and a second DELETE is harmless.
    assert admin_client.get(detail(other_user)).status_code == 200
    assert admin_client.delete(detail(other_user)).status_code == 204
    assert OutboxEvent.objects.filter(event_type="user.deactivated").count() == 1


def test_patch_is_active_deactivates_and_reactivates(admin_client, other_user, login) -> None:
    session = login(other_user.email)
    assert admin_client.patch(detail(other_user), {"is_active": False}).status_code == 200
    other_user.refresh_from_db()
    assert other_user.is_active is False
    assert BlacklistedToken.objects.filter(token__user=other_user).count() == 1

    assert admin_client.patch(detail(other_user), {"is_active": True}).status_code == 200
    other_user.refresh_from_db()
    assert other_user.is_active is True
    assert list(OutboxEvent.objects.values_list("event_type", flat=True)) == ["user.deactivated", "user.reactivated"]
    # Reactivation does not bring the revoked session back.
    assert APIClient().post("/api/v1/auth/refresh/", {"refresh": session["refresh"]}).status_code == 401
    assert login(other_user.email)["access"]
