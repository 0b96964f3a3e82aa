"""Without a FRONTEND_URL the emails link to this service's own pages, on the host and port the request came to,
and a person completes verification and a password reset there with plain forms."""

import re

import pytest
from django.core import mail
from django.test import Client

from apps.users.tokens import email_verification_token, encode_uid, password_reset_token

from .factories import UserFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-new-page-password-that-is-long-93"


def _link(body: str) -> str:
    match = re.search(r"https?://\S+", body)
    assert match, body
    return match.group(0)


def test_the_registration_email_links_to_the_port_the_service_runs_on(run_on_commit, settings) -> None:
    settings.FRONTEND_URL = ""
    client = Client(HTTP_HOST="127.0.0.1:8123")
    body = {"email": "pages@example.com", "password": "a-long-page-password-42", "full_name": "P"}
    response = run_on_commit(client.post, "/api/v1/auth/register/", body, content_type="application/json")
    assert response.status_code == 201
    [message] = mail.outbox
    assert _link(str(message.body)).startswith("http://127.0.0.1:8123/account/verify-email/?uid=")


def test_the_verification_page_verifies_on_the_button_only() -> None:
    user = UserFactory(is_verified=False)
    query = {"uid": encode_uid(user), "token": email_verification_token.make_token(user)}
    client = Client()
    page = client.get("/account/verify-email/", query)
    assert page.status_code == 200
    assert b"Verify my email" in page.content
    assert b"<script" not in page.content
    user.refresh_from_db()
    assert user.is_verified is False  # following the link changes nothing

    done = client.post("/account/verify-email/", query)
    assert done.status_code == 200
    assert b"Your email is verified." in done.content
    user.refresh_from_db()
    assert user.is_verified is True

    again = client.post("/account/verify-email/", query)
    assert again.status_code == 400
    assert b"The link is invalid or has expired." in again.content


def test_the_reset_page_sets_the_new_password(api_client) -> None:
    user = UserFactory()
    query = {"uid": encode_uid(user), "token": password_reset_token.make_token(user)}
    client = Client()
    assert b'type="password"' in client.get("/account/reset-password/", query).content

    differ = client.post("/account/reset-password/", {**query, "new_password": NEW_PASSWORD, "again": "other"})
    assert differ.status_code == 400
    assert b"The two passwords differ." in differ.content

    weak = client.post("/account/reset-password/", {**query, "new_password": "123", "again": "123"})
    assert weak.status_code == 400
    assert b"too short" in weak.content

    done = client.post("/account/reset-password/", {**query, "new_password": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert done.status_code == 200
    assert b"Your password is changed." in done.content
    login = api_client.post("/api/v1/auth/login/", {"email": user.email, "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 200

    used = client.post("/account/reset-password/", {**query, "new_password": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert used.status_code == 400
    assert b"This reset link no longer works" in used.content


def test_a_used_reset_link_says_so_at_once_and_offers_a_new_one(run_on_commit, settings) -> None:
    settings.FRONTEND_URL = ""
    user = UserFactory()
    query = {"uid": encode_uid(user), "token": password_reset_token.make_token(user)}
    client = Client()
    done = client.post("/account/reset-password/", {**query, "new_password": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert done.status_code == 200

    page = client.get("/account/reset-password/", query)
    assert page.status_code == 200
    assert b"This reset link no longer works" in page.content
    assert b'type="password"' not in page.content  # no form to type two passwords into for nothing
    assert b'action="/account/reset-password/new-link/"' in page.content

    sent = run_on_commit(client.post, "/account/reset-password/new-link/", {"email": user.email.upper()})
    assert sent.status_code == 200
    assert b"a new password reset link has been sent" in sent.content
    [message] = mail.outbox
    fresh = client.get(_link(str(message.body)))
    assert fresh.status_code == 200
    assert b'type="password"' in fresh.content


def test_a_link_that_was_never_good_says_so_too() -> None:
    page = Client().get("/account/reset-password/", {"uid": "nonsense", "token": "nonsense"})
    assert page.status_code == 200
    assert b"This reset link no longer works" in page.content


def test_asking_for_a_new_link_shares_the_apis_throttle(api_client, login_rate) -> None:
    login_rate("3/min")
    user = UserFactory()
    for _ in range(3):
        assert api_client.post("/api/v1/auth/password/reset/", {"email": user.email}, format="json").status_code == 202
    refused = Client().post("/account/reset-password/new-link/", {"email": user.email}, REMOTE_ADDR="10.0.0.9")
    assert refused.status_code == 429
    assert b"Too many requests for a reset link" in refused.content
    assert mail.outbox == []


def test_the_new_link_page_opened_again_asks_for_an_email() -> None:
    # "Check your email" is answered at this address: reloading it, or coming back to it, must not be a bare 405.
    page = Client().get("/account/reset-password/new-link/")
    assert page.status_code == 200
    assert b"Ask for a new password reset link" in page.content
    assert b'name="email"' in page.content
    assert b"This reset link no longer works" not in page.content


def test_an_unknown_email_gets_the_same_answer(run_on_commit) -> None:
    sent = run_on_commit(Client().post, "/account/reset-password/new-link/", {"email": "nobody@example.com"})
    assert sent.status_code == 200
    assert b"a new password reset link has been sent" in sent.content
    assert mail.outbox == []
