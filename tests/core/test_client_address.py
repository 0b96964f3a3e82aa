"""One client address per request, from NUM_PROXIES trusted proxies, for throttles, the audit trail and /metrics."""

import pytest
from rest_framework.throttling import SimpleRateThrottle

from apps.core.models import AuditEvent
from tests.users.factories import DEFAULT_PASSWORD, UserFactory

LOGIN = "/api/v1/auth/login/"
PROXY = "10.0.0.1"


@pytest.fixture
def three_logins_a_minute(monkeypatch) -> None:
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "login": "3/min"})


def _register(api_client, **headers: str) -> AuditEvent:
    body = {"email": "new@example.com", "password": "a-long-enough-password-9", "full_name": "New User"}
    assert api_client.post("/api/v1/auth/register/", body, REMOTE_ADDR=PROXY, **headers).status_code == 201
    return AuditEvent.objects.get(action="user.registered")


def _login(api_client, email: str, password: str, *, client: str):
    body = {"email": email, "password": password}
    return api_client.post(LOGIN, body, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client)


@pytest.mark.django_db
def test_without_trusted_proxies_x_forwarded_for_is_never_read(api_client, settings) -> None:
    settings.NUM_PROXIES = 0
    assert _register(api_client, HTTP_X_FORWARDED_FOR="198.51.100.7").ip_address == PROXY


@pytest.mark.django_db
def test_behind_one_proxy_the_audit_trail_records_the_client(api_client, settings) -> None:
    settings.NUM_PROXIES = 1
    # The left entry is whatever the client wrote; the right one is what our proxy saw.
    event = _register(api_client, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    assert event.ip_address == "198.51.100.7"


@pytest.mark.django_db
def test_a_malformed_forwarded_address_falls_back_to_the_peer(api_client, settings) -> None:
    settings.NUM_PROXIES = 1
    assert _register(api_client, HTTP_X_FORWARDED_FOR="not-an-address").ip_address == PROXY


@pytest.mark.django_db
def test_behind_a_proxy_one_clients_failures_do_not_lock_out_another(
    api_client, settings, three_logins_a_minute
) -> None:
    settings.NUM_PROXIES = 1
    owner = UserFactory()
    for attempt in range(4):
        attacker = _login(api_client, f"victim{attempt}@example.com", "guess", client="203.0.113.66")
    other_client = _login(api_client, owner.email, DEFAULT_PASSWORD, client="203.0.113.7")

    assert attacker.status_code == 429
    assert other_client.status_code == 200


@pytest.mark.django_db
def test_metrics_allow_list_reads_the_resolved_client(api_client, settings) -> None:
    settings.NUM_PROXIES = 1
    # The proxy runs on this host: without resolving, every client would look like loopback.
    response = api_client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert response.status_code == 403
    assert api_client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200
