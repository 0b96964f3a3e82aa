"""The Django admin for users: email login, and every write (add, edit, password, deactivation) through the service."""

import pytest
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.core.models import AuditEvent, OutboxEvent
from apps.users.models import User

from .factories import UserFactory

CHANGELIST = "/admin/users/user/"


def change_url(user: User) -> str:
    return f"/admin/users/user/{user.pk}/change/"


@pytest.fixture
def site(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def change_form(user: User, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
        "is_verified": "on" if user.is_verified else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_the_user_list_searches_and_filters(site) -> None:
    UserFactory(email="findme@example.com", full_name="Find Me")
    UserFactory(email="hidden@example.com", role="admin", is_verified=False)

    response = site.get(CHANGELIST, {"q": "findme"})
    assert response.status_code == 200
    assert b"findme@example.com" in response.content
    assert b"hidden@example.com" not in response.content
    response = site.get(CHANGELIST, {"role__exact": "admin", "is_verified__exact": "0"})
    assert b"hidden@example.com" in response.content
    assert b"findme@example.com" not in response.content


def test_an_admin_by_role_may_use_the_admin_and_a_user_may_not(db) -> None:
    client = Client()
    client.force_login(UserFactory(role="admin"))
    assert client.get(CHANGELIST).status_code == 200
    client.force_login(UserFactory())
    assert client.get(CHANGELIST).status_code == 302  # to the admin's login page


def test_signing_out_of_the_admin_stays_in_the_admin(site) -> None:
    # The browsable API's "signed out, sign in again" page is its own: staff leaving the admin land on the admin's.
    response = site.post("/admin/logout/")
    assert response.status_code == 200
    assert response.templates[0].name == "registration/logged_out.html"
    assert b'href="/admin/"' in response.content  # "Log in again"
    assert site.get(CHANGELIST)["Location"].startswith("/admin/login/")


def test_the_admin_login_form_takes_an_email_in_any_case(admin_user) -> None:
    from .factories import DEFAULT_PASSWORD

    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": admin_user.email.upper(), "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(CHANGELIST).status_code == 200


def test_adding_a_user(site, admin_user) -> None:
    response = site.post(
        "/admin/users/user/add/",
        {
            "email": "New.Person@Example.com",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a-fine-password-2024",
            "password2": "a-fine-password-2024",
        },
    )
    assert response.status_code == 302, response.content
    created = User.objects.get(email="new.person@example.com")
    assert created.check_password("a-fine-password-2024")
    assert created.role == "user"
    assert AuditEvent.objects.filter(actor=admin_user, action="user.created", object_id=str(created.pk)).exists()


def test_adding_a_user_with_a_taken_email_in_another_case_fails(site, other_user) -> None:
    response = site.post(
        "/admin/users/user/add/",
        {
            "email": other_user.email.upper(),
            "usable_password": "true",
            "password1": "a-fine-password-2024",
            "password2": "a-fine-password-2024",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact=other_user.email).count() == 1


def test_a_role_change_in_the_admin_goes_through_the_service(site, admin_user, other_user) -> None:
    response = site.post(change_url(other_user), change_form(other_user, role="admin", full_name="Promoted"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    other_user.refresh_from_db()
    assert (other_user.role, other_user.is_staff, other_user.full_name) == ("admin", True, "Promoted")
    actions = set(AuditEvent.objects.filter(actor=admin_user).values_list("action", flat=True))
    assert {"user.role_changed", "user.profile_updated"} <= actions
    assert OutboxEvent.objects.get(event_type="user.role_changed").priority == "high"


def test_deactivating_in_the_admin_revokes_tokens(site, other_user) -> None:
    RefreshToken.for_user(other_user)
    response = site.post(change_url(other_user), change_form(other_user, is_active=""))

    assert response.status_code == 302
    other_user.refresh_from_db()
    assert other_user.is_active is False
    assert BlacklistedToken.objects.filter(token__user=other_user).count() == 1
    assert OutboxEvent.objects.filter(event_type="user.deactivated").count() == 1


def test_an_admin_cannot_demote_themselves_in_the_admin(site, admin_user) -> None:
    response = site.post(change_url(admin_user), change_form(admin_user, role="user"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"role": ["You cannot change your own role."]}
    admin_user.refresh_from_db()
    assert admin_user.role == "admin"


def test_users_are_deactivated_never_deleted(site, admin_user, other_user) -> None:
    assert site.get(f"/admin/users/user/{other_user.pk}/delete/").status_code == 403
    response = site.post(CHANGELIST, {"action": "deactivate_users", "_selected_action": [other_user.pk, admin_user.pk]})
    assert response.status_code == 302
    other_user.refresh_from_db()
    admin_user.refresh_from_db()
    assert (other_user.is_active, admin_user.is_active) == (False, True)
    assert AuditEvent.objects.filter(action="user.deactivated", object_id=str(other_user.pk)).exists()


def password_url(user: User) -> str:
    return f"/admin/users/user/{user.pk}/password/"


def test_the_change_page_edits_only_what_the_service_applies(site, other_user) -> None:
    from apps.users.admin import EDITABLE_FIELDS

    form = site.get(change_url(other_user)).context["adminform"].form
    editable = {name for name, field in form.fields.items() if not field.disabled}
    assert editable == set(EDITABLE_FIELDS)


def test_an_email_and_verification_edit_in_the_admin_is_audited(site, admin_user) -> None:
    other_user = UserFactory(is_verified=False)
    old_email = other_user.email
    response = site.post(change_url(other_user), change_form(other_user, email="Renamed@Example.com", is_verified="on"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    other_user.refresh_from_db()
    assert (other_user.email, other_user.is_verified) == ("renamed@example.com", True)
    audited = list(AuditEvent.objects.filter(actor=admin_user).order_by("id").values_list("action", "changes"))
    assert audited == [
        ("user.email_changed", {"email": [old_email, "renamed@example.com"]}),
        ("user.verified", {"is_verified": [False, True]}),
    ]


def test_an_unchanged_save_in_the_admin_writes_and_audits_nothing(site, other_user) -> None:
    response = site.post(change_url(other_user), change_form(other_user))
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()


def test_a_password_change_in_the_admin_revokes_the_sessions(site, admin_user, other_user) -> None:
    RefreshToken.for_user(other_user)
    new_password = "another-fine-password-2024"
    response = site.post(
        password_url(other_user), {"usable_password": "true", "password1": new_password, "password2": new_password}
    )

    assert response.status_code == 302, response.context["form"].errors
    other_user.refresh_from_db()
    assert other_user.check_password(new_password)
    assert BlacklistedToken.objects.filter(token__user=other_user).count() == 1
    event = AuditEvent.objects.get(actor=admin_user, action="auth.password_set")
    assert (event.object_id, event.changes) == (
        str(other_user.pk),
        {"usable_password": True, "revoked_refresh_tokens": 1},
    )


def test_removing_a_password_in_the_admin_revokes_the_sessions(site, other_user) -> None:
    RefreshToken.for_user(other_user)
    response = site.post(password_url(other_user), {"usable_password": "false", "unset-password": "1"})

    assert response.status_code == 302, response.context["form"].errors
    other_user.refresh_from_db()
    assert not other_user.has_usable_password()
    assert BlacklistedToken.objects.filter(token__user=other_user).count() == 1
    assert AuditEvent.objects.get(action="auth.password_set").changes["usable_password"] is False


def test_an_admin_changing_their_own_password_stays_signed_in(site, admin_user) -> None:
    new_password = "another-fine-password-2024"
    response = site.post(
        password_url(admin_user), {"usable_password": "true", "password1": new_password, "password2": new_password}
    )
    assert response.status_code == 302
    assert site.get(CHANGELIST).status_code == 200
