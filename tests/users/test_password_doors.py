"""Every door that checks a password is behind the login guard: the password changes (API and admin) count a wrong
old password as a failed sign-in, and an admin session signed in and left ends a working day later."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from .factories import DEFAULT_PASSWORD

CHANGE = "/api/v1/auth/password/change/"
LOGIN = "/api/v1/auth/login/"
ADMIN_CHANGE = "/admin/password_change/"
NEW_PASSWORD = "a-brand-new-password-77"
pytestmark = pytest.mark.django_db


def _change(client, old_password: str, **extra: str):
    return client.post(CHANGE, {"old_password": old_password, "new_password": NEW_PASSWORD}, **extra)


def test_wrong_old_passwords_are_throttled_and_the_right_one_then_refused(user_client, user, login_rate) -> None:
    login_rate("3/min")
    statuses = [_change(user_client, f"guess-{n}").status_code for n in range(30)]

    right = _change(user_client, DEFAULT_PASSWORD)

    assert statuses == [400] * 3 + [429] * 27
    assert right.status_code == 429
    assert 1 <= int(right["Retry-After"]) <= 60
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)  # unchanged


def test_the_right_old_password_changes_it_after_a_typo(user_client, user, login_rate) -> None:
    login_rate("3/min")
    assert _change(user_client, "one-typo").status_code == 400
    assert _change(user_client, DEFAULT_PASSWORD).status_code == 200


def test_password_change_failures_count_as_failed_sign_ins(api_client, user_client, user, login_rate) -> None:
    login_rate("3/min")
    for n in range(3):
        _change(user_client, f"guess-{n}")

    # A stolen access token cannot be used to guess the password elsewhere from the same address either.
    assert api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 429
    # Another address may still sign in.
    other = api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 200


def _admin_session(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_admins_own_password_change_is_throttled(admin_user, login_rate) -> None:
    login_rate("3/min")
    client = _admin_session(admin_user)
    body = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    statuses = [client.post(ADMIN_CHANGE, {**body, "old_password": f"guess-{n}"}).status_code for n in range(5)]

    right = client.post(ADMIN_CHANGE, {**body, "old_password": DEFAULT_PASSWORD})

    assert statuses == [200] * 3 + [429] * 2  # the form again with its error, then refused
    assert right.status_code == 429
    admin_user.refresh_from_db()
    assert admin_user.check_password(DEFAULT_PASSWORD)


def test_the_admins_own_password_change_still_works(admin_user, login_rate) -> None:
    login_rate("3/min")
    client = _admin_session(admin_user)
    body = {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    response = client.post(ADMIN_CHANGE, body)
    assert (response.status_code, response["Location"]) == (302, "/admin/password_change/done/")
    admin_user.refresh_from_db()
    assert admin_user.check_password(NEW_PASSWORD)


def _session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.cookies["sessionid"].value)


def test_an_admin_session_left_after_sign_in_ends_a_working_day_later(admin_user) -> None:
    client = Client()
    signed_in = client.post("/admin/login/?next=/admin/", {"username": admin_user.email, "password": DEFAULT_PASSWORD})
    assert signed_in.status_code == 302
    session = _session_row(client)
    lifetime = session.expire_date - timezone.now()
    assert timedelta(hours=7, minutes=59) < lifetime <= timedelta(hours=8)
    assert client.get("/admin/").status_code == 200

    # Eight hours later: signed out.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/admin/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")
