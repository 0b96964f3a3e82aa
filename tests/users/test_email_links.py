"""Verification and password-reset links: what the emails carry and how their tokens may be used."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from apps.core.models import AuditEvent
from apps.users.tasks import send_password_reset_email_task, send_verification_email_task
from apps.users.tokens import email_verification_token, encode_uid, password_reset_token

from .conftest import emails_to, link_params
from .email_backends import FlakyEmailBackend
from .factories import DEFAULT_PASSWORD, UserFactory

VERIFY = "/api/v1/auth/verify-email/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
NEW_PASSWORD = "freshly-minted-secret-64"
pytestmark = pytest.mark.django_db

BAD_LINK = {"token": ["The link is invalid or has expired."]}
ACCEPTED = {"detail": "If an account has this email, a password reset link has been sent to it."}


@pytest.fixture
def unverified(db):
    return UserFactory(is_verified=False, full_name="Alan Turing")


def verification_params(user) -> dict[str, str]:
    return {"uid": encode_uid(user), "token": email_verification_token.make_token(user)}


def reset_params(user) -> dict[str, str]:
    return {"uid": encode_uid(user), "token": password_reset_token.make_token(user)}


# --- Verification ---------------------------------------------------------------------------------------------


def test_the_verification_email_links_to_the_front_end(unverified, settings) -> None:
    settings.FRONTEND_URL = "https://app.example.com/"
    send_verification_email_task.delay(unverified.pk)

    [message] = mail.outbox
    assert message.to == [unverified.email]
    assert message.subject == "Confirm your email address"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    params = link_params(message)
    assert f"https://app.example.com/verify-email?uid={params['uid']}&token={params['token']}" in message.body
    assert params["uid"] == encode_uid(unverified)
    assert email_verification_token.check_token(unverified, params["token"])


def test_verify_email_marks_the_user_verified_and_audits_it(api_client, unverified) -> None:
    response = api_client.post(VERIFY, verification_params(unverified))

    assert response.status_code == 204
    unverified.refresh_from_db()
    assert unverified.is_verified is True
    assert AuditEvent.objects.filter(actor=unverified, action="user.verified").exists()


def test_verification_email_is_not_sent_to_a_verified_user(db) -> None:
    verified = UserFactory(is_verified=True)
    assert send_verification_email_task.delay(verified.pk).get() is False
    assert send_verification_email_task.delay(987654).get() is False
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"uid": "!!!"}, {"uid": ["Invalid value."]}),
        ({"uid": "YWJj"}, {"uid": ["Invalid value."]}),  # "abc"
        ({"uid": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ"}, {"uid": ["Invalid value."]}),  # a number past bigint
        ({"uid": "OTk5OTk5"}, BAD_LINK),  # 999999: no such user
        ({"token": "abc-123"}, BAD_LINK),
        ({"token": ""}, {"token": ["This field may not be blank."]}),
        ({"token": None}, {"token": ["This field may not be null."]}),
        ({"uid": 5}, {"uid": ["Invalid value."]}),
    ],
)
def test_verify_email_with_a_bad_link_is_400(api_client, unverified, change, errors) -> None:
    response = api_client.post(VERIFY, {**verification_params(unverified), **change})
    assert response.status_code == 400
    assert response.json() == errors
    unverified.refresh_from_db()
    assert unverified.is_verified is False


def test_verify_email_with_no_body_names_both_fields(db, api_client) -> None:
    response = api_client.post(VERIFY, {})
    assert response.status_code == 400
    assert response.json() == {"uid": ["This field is required."], "token": ["This field is required."]}


def test_a_token_for_another_user_or_purpose_does_not_verify(api_client, unverified) -> None:
    other = UserFactory(is_verified=False)
    with_others_token = {"uid": encode_uid(unverified), "token": email_verification_token.make_token(other)}
    assert api_client.post(VERIFY, with_others_token).json() == BAD_LINK
    # A password-reset token (another salt) is no verification token.
    assert api_client.post(VERIFY, reset_params(unverified)).json() == BAD_LINK
    unverified.refresh_from_db()
    assert unverified.is_verified is False


def test_an_inactive_user_cannot_verify(api_client) -> None:
    inactive = UserFactory(is_verified=False, is_active=False)
    assert api_client.post(VERIFY, verification_params(inactive)).json() == BAD_LINK


def test_a_verification_token_expires(api_client, unverified, settings, monkeypatch) -> None:
    params = verification_params(unverified)
    later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 5)  # noqa: DTZ005 (Django's own)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)
    assert api_client.post(VERIFY, params).json() == BAD_LINK


# --- Password reset -------------------------------------------------------------------------------------------


def test_password_reset_emails_a_link_to_an_active_user(api_client, user, run_on_commit) -> None:
    response = run_on_commit(api_client.post, RESET, {"email": user.email})

    assert response.status_code == 202
    assert response.json() == ACCEPTED
    [message] = emails_to(user.email, "Reset your password")
    assert "http://testserver/account/reset-password/?uid=" in message.body  # no FRONTEND_URL: our own page
    assert "1 hour" in message.body
    assert password_reset_token.check_token(user, link_params(message)["token"])


def test_the_reset_link_is_built_from_the_host_header(api_client, user, run_on_commit, settings) -> None:
    # Why production refuses ALLOWED_HOSTS=* (tests/core/test_settings.py): Django's host check is what stands
    # between a stranger's Host header and the link mailed to the account's owner.
    settings.ALLOWED_HOSTS = ["testserver"]
    refused = run_on_commit(api_client.post, RESET, {"email": user.email}, HTTP_HOST="attacker.example")
    settings.ALLOWED_HOSTS = ["*"]
    taken = run_on_commit(api_client.post, RESET, {"email": user.email}, HTTP_HOST="attacker.example")

    assert refused.status_code == 400
    assert taken.status_code == 202
    [message] = emails_to(user.email, "Reset your password")
    assert "http://attacker.example/account/reset-password/?uid=" in message.body


@pytest.mark.parametrize("email", ["nobody@example.com", "INACTIVE"])
def test_password_reset_answers_the_same_for_an_unknown_or_inactive_email(api_client, run_on_commit, email) -> None:
    inactive = UserFactory(is_active=False)
    email = inactive.email if email == "INACTIVE" else email
    response = run_on_commit(api_client.post, RESET, {"email": email})
    assert response.status_code == 202
    assert response.json() == ACCEPTED
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"email": ["This field is required."]}),
        ({"email": "no"}, {"email": ["Enter a valid email address."]}),
    ],
)
def test_password_reset_bad_input_is_400(db, api_client, body, errors) -> None:
    response = api_client.post(RESET, body)
    assert response.status_code == 400
    assert response.json() == errors


def test_reset_confirm_sets_the_password_once_and_signs_out_everywhere(api_client, user, login) -> None:
    tokens = login(user.email)
    user.refresh_from_db()  # the sign-in wrote last_login, which the link covers
    params = reset_params(user)

    response = api_client.post(CONFIRM, {**params, "new_password": NEW_PASSWORD})

    assert response.status_code == 204
    assert response.content == b""
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    assert api_client.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}).status_code == 401
    audit = AuditEvent.objects.get(action="auth.password_reset")
    assert (audit.actor, audit.changes) == (user, {"revoked_refresh_tokens": 1})
    # The token was bound to the old password: it is spent.
    again = api_client.post(CONFIRM, {**params, "new_password": "and-another-one-12"})
    assert again.status_code == 400
    assert again.json() == BAD_LINK


def test_a_sign_in_ends_every_outstanding_reset_link(api_client, user, login) -> None:
    params = reset_params(user)
    login(user.email)

    response = api_client.post(CONFIRM, {**params, "new_password": NEW_PASSWORD})

    assert response.status_code == 400
    assert response.json() == BAD_LINK


def test_a_password_change_ends_every_outstanding_reset_link(api_client, user, auth_client) -> None:
    params = reset_params(user)
    change = {"old_password": DEFAULT_PASSWORD, "new_password": "a-changed-password-77"}
    assert auth_client(user).post("/api/v1/auth/password/change/", change).status_code == 200

    response = api_client.post(CONFIRM, {**params, "new_password": NEW_PASSWORD})

    assert response.status_code == 400
    assert response.json() == BAD_LINK


def test_a_reset_link_lives_one_hour_by_default(settings) -> None:
    assert settings.PASSWORD_RESET_TIMEOUT == 60 * 60


def test_a_user_without_a_usable_password_gets_the_reset_email(api_client, run_on_commit) -> None:
    user = UserFactory()
    user.set_unusable_password()  # what linking an OpenID Connect identity may leave
    user.save(update_fields=["password"])

    response = run_on_commit(api_client.post, RESET, {"email": user.email})

    assert response.status_code == 202
    [message] = emails_to(user.email, "Reset your password")
    user.refresh_from_db()
    assert password_reset_token.check_token(user, link_params(message)["token"])


@pytest.mark.parametrize(
    ("new_password", "errors"),
    [
        ("short", ["This password is too short. It must contain at least 8 characters."]),
        ("password123", ["This password is too common."]),
        ("", ["This field may not be blank."]),
    ],
)
def test_reset_confirm_with_a_rejected_password_is_400_and_keeps_the_token(
    api_client, db, new_password, errors
) -> None:
    user = UserFactory(full_name="Ada Lovelace")  # a random name can be "too similar" to a password tried here
    params = reset_params(user)
    response = api_client.post(CONFIRM, {**params, "new_password": new_password})
    assert response.status_code == 400
    assert response.json() == {"new_password": errors}
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert api_client.post(CONFIRM, {**params, "new_password": NEW_PASSWORD}).status_code == 204


def test_reset_confirm_with_a_verification_token_is_400(api_client, user) -> None:
    body = {**verification_params(user), "new_password": NEW_PASSWORD}
    response = api_client.post(CONFIRM, body)
    assert response.status_code == 400
    assert response.json() == BAD_LINK


def test_reset_confirm_with_no_body_names_every_field(db, api_client) -> None:
    response = api_client.post(CONFIRM, {})
    assert response.status_code == 400
    assert response.json() == {
        "uid": ["This field is required."],
        "token": ["This field is required."],
        "new_password": ["This field is required."],
    }


def test_a_reset_email_that_fails_to_send_is_retried(user, settings) -> None:
    settings.EMAIL_BACKEND = "tests.users.email_backends.FlakyEmailBackend"
    FlakyEmailBackend.failures_left, FlakyEmailBackend.attempts = 2, 0

    send_password_reset_email_task.delay(user.pk)

    assert FlakyEmailBackend.attempts == 3
    assert len(emails_to(user.email, "Reset your password")) == 1


def test_email_tasks_give_up_after_five_retries(user, settings) -> None:
    settings.EMAIL_BACKEND = "tests.users.email_backends.FlakyEmailBackend"
    FlakyEmailBackend.failures_left, FlakyEmailBackend.attempts = 100, 0

    result = send_password_reset_email_task.delay(user.pk)

    assert FlakyEmailBackend.attempts == 6  # the first try and five retries
    assert result.failed()
    assert mail.outbox == []
    assert send_password_reset_email_task.max_retries == send_verification_email_task.max_retries == 5
