"""Fixtures of the users tests: following emailed links, signing in through the API, small login rates."""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.users.factories import DEFAULT_PASSWORD

LINK = re.compile(r"https?://\S+\?uid=\S+")
STOPPED_CLOCK = 3_600_000.0 + 10  # ten seconds into a window of any rate up to an hour


def link_params(message: mail.EmailMessage) -> dict[str, str]:
    """The `uid` and `token` of the one link in an email's body."""
    links = LINK.findall(str(message.body))
    assert len(links) == 1, message.body
    query = parse_qs(urlparse(links[0]).query)
    return {"uid": query["uid"][0], "token": query["token"][0]}


def emails_to(address: str, subject: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [address] and m.subject == subject]


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """`run_on_commit(client.post, url, body)`: make the request, then run what it left for after its commit
    (emails, outbox relay), as the real server would."""

    def run(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def login(api_client: APIClient) -> Callable[..., dict[str, str]]:
    """`login(email, password)`: sign in through the API; returns the token pair."""

    def sign_in(email: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
        response = api_client.post("/api/v1/auth/login/", {"email": email, "password": password})
        assert response.status_code == 200, response.content
        return response.json()

    return sign_in


@pytest.fixture
def bearer() -> Callable[[str], APIClient]:
    """`bearer(access)`: a fresh client that sends this access token."""

    def make(access: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return client

    return make


@pytest.fixture
def login_rate(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """`login_rate("3/min")`: the `login` throttle rate for this test, with the throttles' clock stopped ten
    seconds into a window, so the test's attempts never straddle two windows (the `clock` fixture moves it).

    DRF copies the rates onto SimpleRateThrottle when it is imported, so the class attribute is what to patch.
    """

    def set_rate(rate: str) -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "login": rate})
        monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: STOPPED_CLOCK)

    return set_rate
