"""Login and password-reset attempts: counted per email and per client address, before any password check."""

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from apps.users.login_guard import SignInThrottled, reserve
from apps.users.models import User
from apps.users.throttles import LoginRateThrottle

from .factories import DEFAULT_PASSWORD

LOGIN = "/api/v1/auth/login/"
RESET = "/api/v1/auth/password/reset/"


@pytest.fixture
def check_password_calls(monkeypatch) -> list[str]:
    """Every password the user model is asked to check (a spy that still checks)."""
    calls: list[str] = []
    original = User.check_password

    def spy(self: User, raw_password: str) -> bool:
        calls.append(raw_password)
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", spy)
    return calls


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [1_000_000.0]
    monkeypatch.setattr(LoginRateThrottle, "timer", lambda self: now[0])
    return now


def assert_throttled(response) -> None:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    unit = "second" if retry_after == 1 else "seconds"  # DRF's wording: in the window's last second, "1 second"
    assert response.json() == {
        "detail": f"Request was throttled. Expected available in {retry_after} {unit}.",
        "code": "throttled",
    }


def test_failures_for_one_email_from_one_address_are_throttled_before_the_password_is_checked(
    api_client, user, login_rate, check_password_calls
) -> None:
    login_rate("3/min")
    for attempt in range(3):
        response = api_client.post(LOGIN, {"email": user.email, "password": f"guess-{attempt}"})
        assert response.status_code == 401
    assert len(check_password_calls) == 3

    # The right password, in another case of the email, from the same address: throttled, never checked.
    assert_throttled(api_client.post(LOGIN, {"email": user.email.upper(), "password": DEFAULT_PASSWORD}))
    assert len(check_password_calls) == 3


def test_failures_from_other_addresses_never_lock_the_owner_out(api_client, user, login_rate) -> None:
    login_rate("3/min")
    for attempt in range(10):  # ten addresses, each under its own limit
        response = api_client.post(
            LOGIN, {"email": user.email, "password": f"guess-{attempt}"}, REMOTE_ADDR=f"10.0.0.{attempt}"
        )
        assert response.status_code == 401

    owner = api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.0.0.99")

    assert owner.status_code == 200


def test_only_failures_count(api_client, user, login_rate) -> None:
    login_rate("3/min")
    statuses = [
        api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}).status_code for _ in range(6)
    ]
    assert statuses == [200] * 6


def test_a_crowd_of_guessers_is_stopped_per_email_but_not_at_the_owners_usual_address(
    api_client, user, login_rate
) -> None:
    login_rate("3/min")
    home = "192.0.2.10"
    assert (
        api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, REMOTE_ADDR=home).status_code == 200
    )
    for attempt in range(30):  # ten times the rate, for one email, from thirty addresses
        api_client.post(LOGIN, {"email": user.email, "password": "guess"}, REMOTE_ADDR=f"10.1.0.{attempt}")

    assert_throttled(api_client.post(LOGIN, {"email": user.email, "password": "guess"}, REMOTE_ADDR="10.2.0.1"))
    from_home = api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, REMOTE_ADDR=home)
    assert from_home.status_code == 200


def test_login_attempts_from_one_address_are_throttled(api_client, user, login_rate, check_password_calls) -> None:
    login_rate("3/min")
    for attempt in range(3):
        response = api_client.post(LOGIN, {"email": f"guess{attempt}@example.com", "password": "x"})
        assert response.status_code == 401

    assert_throttled(api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}))
    assert check_password_calls == []  # the three failures were for unknown emails
    # Another address may still sign in as this user.
    ok = api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert ok.status_code == 200


def test_a_forwarded_for_header_does_not_buy_a_fresh_address(api_client, user, login_rate) -> None:
    login_rate("2/min")
    for attempt in range(2):
        api_client.post(
            LOGIN, {"email": f"g{attempt}@example.com", "password": "x"}, HTTP_X_FORWARDED_FOR=f"1.2.3.{attempt}"
        )
    response = api_client.post(
        LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, HTTP_X_FORWARDED_FOR="5.6.7.8"
    )
    assert_throttled(response)


def test_the_login_counter_forgets_after_its_period(api_client, user, login_rate, clock) -> None:
    login_rate("2/min")
    for _ in range(2):
        api_client.post(LOGIN, {"email": user.email, "password": "wrong"})
    assert api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 429

    clock[0] += 61

    assert api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 200


def test_password_reset_requests_are_throttled_per_email_and_address(api_client, user, login_rate) -> None:
    login_rate("2/min")
    for attempt in range(2):
        assert api_client.post(RESET, {"email": user.email}, REMOTE_ADDR=f"10.0.1.{attempt}").status_code == 202
    assert_throttled(api_client.post(RESET, {"email": f" {user.email.upper()}"}, REMOTE_ADDR="10.0.1.50"))
    # One address asking for many emails.
    for attempt in range(2):
        assert api_client.post(RESET, {"email": f"o{attempt}@example.com"}, REMOTE_ADDR="10.0.2.1").status_code == 202
    assert_throttled(api_client.post(RESET, {"email": "o9@example.com"}, REMOTE_ADDR="10.0.2.1"))


def test_password_reset_and_login_keep_separate_counters(api_client, user, login_rate) -> None:
    login_rate("2/min")
    for _ in range(2):
        api_client.post(LOGIN, {"email": user.email, "password": "wrong"})
    assert api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 429
    # Locked out of sign-in is exactly when the reset is needed.
    assert api_client.post(RESET, {"email": user.email}).status_code == 202


def test_the_global_anonymous_rate_still_applies(api_client, user, monkeypatch) -> None:
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": "2/min", "login": "1000/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    for attempt in range(2):
        api_client.post(LOGIN, {"email": f"g{attempt}@example.com", "password": "x"})
    response = api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert "Retry-After" in response


def test_the_default_login_rate_comes_from_settings() -> None:
    from django.conf import settings

    rest_framework: dict[str, Any] = settings.REST_FRAMEWORK
    assert LoginRateThrottle.scope == "login"
    assert rest_framework["DEFAULT_THROTTLE_RATES"]["login"] == LoginRateThrottle.THROTTLE_RATES["login"]


@pytest.mark.redis
@pytest.mark.django_db
def test_on_redis_an_attempt_takes_or_is_refused_its_places_in_one_round_trip(user, login_rate, redis_round_trips):
    login_rate("2/min")
    attempts = []
    for _ in range(2):
        redis_round_trips.clear()
        attempts.append(reserve(email=user.email, address="10.0.0.9"))  # wrong passwords: places kept
        assert len(redis_round_trips) == 1
    redis_round_trips.clear()

    with pytest.raises(SignInThrottled):
        reserve(email=user.email, address="10.0.0.9")

    assert len(redis_round_trips) == 1
    assert [attempt.places for attempt in attempts] == [attempts[0].places] * 2
    assert cache.get(attempts[0].places[0]) == 2  # the refused attempt's place was given back
