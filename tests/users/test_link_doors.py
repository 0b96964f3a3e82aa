"""Every door that checks an emailed link's token is behind the login guard's link counters: the API's email
verification and reset confirmation, and the pages the emails link to (opening a reset link, sending its form,
verifying). Past the limit the answer is 429 and the token is not checked, not even a right one."""

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.test import Client
from django.utils.http import urlsafe_base64_encode

from apps.users.tokens import email_verification_token, encode_uid, password_reset_token

from .factories import DEFAULT_PASSWORD, UserFactory

VERIFY = "/api/v1/auth/verify-email/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
LOGIN = "/api/v1/auth/login/"
VERIFY_PAGE = "/account/verify-email/"
RESET_PAGE = "/account/reset-password/"
NEW_PASSWORD = "freshly-minted-secret-64"
BAD_LINK = {"token": ["The link is invalid or has expired."]}
pytestmark = pytest.mark.django_db


@pytest.fixture
def unverified(db):
    return UserFactory(is_verified=False)


@pytest.fixture
def token_checks(monkeypatch) -> list[str]:
    """Every token a link generator is asked to check (a spy that still checks)."""
    calls: list[str] = []
    original = PasswordResetTokenGenerator.check_token

    def spy(self: PasswordResetTokenGenerator, user, token) -> bool:
        calls.append(token)
        return original(self, user, token)

    monkeypatch.setattr(PasswordResetTokenGenerator, "check_token", spy)
    return calls


def _verify(client, user, token: str, **extra: str):
    return client.post(VERIFY, {"uid": encode_uid(user), "token": token}, **extra)


def _confirm(client, user, token: str, **extra: str):
    return client.post(CONFIRM, {"uid": encode_uid(user), "token": token, "new_password": NEW_PASSWORD}, **extra)


def test_wrong_verification_links_are_throttled_and_the_right_one_then_refused_unchecked(
    api_client, unverified, login_rate, token_checks
) -> None:
    login_rate("3/min")
    answers = [_verify(api_client, unverified, f"guess-{n}") for n in range(20)]

    right = _verify(api_client, unverified, email_verification_token.make_token(unverified))

    assert [a.status_code for a in answers] == [400] * 3 + [429] * 17
    assert answers[0].json() == BAD_LINK
    assert right.status_code == 429
    assert 1 <= int(right["Retry-After"]) <= 60
    assert token_checks == ["guess-0", "guess-1", "guess-2"]
    unverified.refresh_from_db()
    assert unverified.is_verified is False


def test_wrong_reset_links_are_throttled_and_the_right_one_then_refused_unchecked(
    api_client, user, login_rate, token_checks
) -> None:
    login_rate("3/min")
    statuses = [_confirm(api_client, user, f"guess-{n}").status_code for n in range(20)]

    right = _confirm(api_client, user, password_reset_token.make_token(user))

    assert statuses == [400] * 3 + [429] * 17
    assert right.status_code == 429
    assert token_checks == ["guess-0", "guess-1", "guess-2"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_a_right_link_after_a_typo_works_and_gives_its_place_back(api_client, user, unverified, login_rate) -> None:
    login_rate("2/min")
    assert _verify(api_client, unverified, "one-typo").status_code == 400
    assert _verify(api_client, unverified, email_verification_token.make_token(unverified)).status_code == 204
    assert _confirm(api_client, user, password_reset_token.make_token(user)).status_code == 204

    # Two right links took no place: one more wrong one is still checked.
    assert _confirm(api_client, user, "another-typo").status_code == 400
    assert _confirm(api_client, user, "and-another").status_code == 429


def test_the_pages_the_emails_link_to_are_throttled(user, unverified, login_rate, token_checks) -> None:
    login_rate("3/min")
    browser = Client()
    opened = [browser.get(RESET_PAGE, {"uid": encode_uid(user), "token": f"guess-{n}"}).status_code for n in range(2)]
    verified = browser.post(VERIFY_PAGE, {"uid": encode_uid(unverified), "token": "guess-2"})
    sent = browser.post(
        RESET_PAGE,
        {"uid": encode_uid(user), "token": "guess-3", "new_password": NEW_PASSWORD, "again": NEW_PASSWORD},
    )
    right = browser.get(RESET_PAGE, {"uid": encode_uid(user), "token": password_reset_token.make_token(user)})

    assert opened == [200, 200]  # the page saying the link no longer works
    assert verified.status_code == 400
    assert (sent.status_code, sent["Content-Type"]) == (429, "text/plain; charset=utf-8")
    assert sent.content.startswith(b"Too many wrong or expired links. Try again in ")
    assert 1 <= int(sent["Retry-After"]) <= 60
    assert right.status_code == 429
    assert token_checks == ["guess-0", "guess-1", "guess-2"]


def test_the_api_and_the_pages_share_one_limit(api_client, user, login_rate) -> None:
    login_rate("2/min")
    assert Client().get(RESET_PAGE, {"uid": encode_uid(user), "token": "guess-0"}).status_code == 200
    assert _confirm(api_client, user, "guess-1").status_code == 400

    assert _confirm(api_client, user, "guess-2").status_code == 429


def test_one_account_is_limited_from_any_address_in_any_spelling_of_its_uid(api_client, user, login_rate) -> None:
    login_rate("1/min")
    # Ten times the rate per account from anywhere, as for sign-ins; padding the uid is no fresh account.
    uids = [encode_uid(user), urlsafe_base64_encode(str(user.pk).encode()) + "=="]
    statuses = [
        api_client.post(
            CONFIRM,
            {"uid": uids[n % 2], "token": f"guess-{n}", "new_password": NEW_PASSWORD},
            REMOTE_ADDR=f"10.1.0.{n}",
        ).status_code
        for n in range(11)
    ]

    assert statuses == [400] * 10 + [429]


def test_locked_sign_ins_leave_the_reset_link_working(api_client, user, login_rate) -> None:
    login_rate("2/min")
    for n in range(3):
        api_client.post(LOGIN, {"email": user.email, "password": f"guess-{n}"})
    assert api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 429

    assert _confirm(api_client, user, password_reset_token.make_token(user)).status_code == 204
