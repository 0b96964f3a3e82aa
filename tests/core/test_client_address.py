"""One client address per request, read from X-Forwarded-For only when the socket's peer is a trusted proxy
(TRUSTED_PROXIES), for throttles, the login guard, the audit trail, /metrics and `request.is_secure()`."""

import pytest
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from apps.core.models import AuditEvent
from tests.users.factories import DEFAULT_PASSWORD, UserFactory

LOGIN = "/api/v1/auth/login/"
PROXY = "10.0.0.1"
PROXIES = ["10.0.0.0/24"]
STOPPED_CLOCK = 3_600_000.0 + 10  # ten seconds into a window: the attempts never straddle two


@pytest.fixture
def three_logins_a_minute(monkeypatch) -> None:
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "login": "3/min"})
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: STOPPED_CLOCK)


def _register(api_client, remote_addr: str = PROXY, **headers: str) -> AuditEvent:
    body = {"email": "new@example.com", "password": "a-long-enough-password-9", "full_name": "New User"}
    assert api_client.post("/api/v1/auth/register/", body, REMOTE_ADDR=remote_addr, **headers).status_code == 201
    return AuditEvent.objects.get(action="user.registered")


def _login(api_client, email: str, password: str, *, client: str, peer: str = PROXY):
    body = {"email": email, "password": password}
    return api_client.post(LOGIN, body, REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=client)


@pytest.mark.django_db
def test_without_trusted_proxies_x_forwarded_for_is_never_read(api_client, settings) -> None:
    settings.TRUSTED_PROXIES = []
    assert _register(api_client, HTTP_X_FORWARDED_FOR="198.51.100.7").ip_address == PROXY


@pytest.mark.django_db
def test_from_a_trusted_proxy_the_audit_trail_records_the_client(api_client, settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    # The left entry is whatever the client wrote; the right one is what our proxy saw.
    event = _register(api_client, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    assert event.ip_address == "198.51.100.7"


@pytest.mark.django_db
def test_behind_two_trusted_proxies_the_client_is_the_rightmost_untrusted_address(api_client, settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    event = _register(api_client, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.0.0.9")
    assert event.ip_address == "198.51.100.7"


@pytest.mark.django_db
def test_a_peer_outside_the_trusted_networks_is_not_believed(api_client, settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    event = _register(api_client, remote_addr="203.0.113.66", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert event.ip_address == "203.0.113.66"


@pytest.mark.django_db
def test_a_malformed_forwarded_address_falls_back_to_the_peer(api_client, settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    assert _register(api_client, HTTP_X_FORWARDED_FOR="not-an-address").ip_address == PROXY


@pytest.mark.django_db
def test_behind_a_proxy_one_clients_failures_do_not_lock_out_another(
    api_client, settings, three_logins_a_minute
) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    owner = UserFactory()
    for attempt in range(4):
        attacker = _login(api_client, f"victim{attempt}@example.com", "guess", client="203.0.113.66")
    other_client = _login(api_client, owner.email, DEFAULT_PASSWORD, client="203.0.113.7")

    assert attacker.status_code == 429
    assert other_client.status_code == 200


@pytest.mark.django_db
def test_a_client_rotating_x_forwarded_for_is_throttled_on_its_own_address(
    api_client, settings, three_logins_a_minute
) -> None:
    settings.TRUSTED_PROXIES = PROXIES  # proxies exist, but this client talks to the service directly
    owner = UserFactory()
    statuses = [
        _login(api_client, owner.email, f"guess-{n}", client=f"198.51.100.{n}", peer="203.0.113.66").status_code
        for n in range(40)
    ]
    assert statuses == [401] * 3 + [429] * 37
    # The owner, from elsewhere, is not held back by it.
    assert _login(api_client, owner.email, DEFAULT_PASSWORD, client="", peer="203.0.113.7").status_code == 200


@pytest.mark.django_db
def test_metrics_allow_list_reads_the_resolved_client(api_client, settings) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    # The proxy runs on this host: without resolving, every client would look like loopback.
    response = api_client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert response.status_code == 403
    assert api_client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_an_untrusted_client_cannot_claim_loopback_for_metrics(api_client, settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    response = api_client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 403


def _https_redirect(settings) -> None:
    """Production's scheme settings: plain HTTP is redirected, a proxy's X-Forwarded-Proto: https says it was not."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = []


@pytest.mark.django_db
def test_an_untrusted_client_cannot_make_the_request_secure(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    _https_redirect(settings)
    response = Client().get("/health/live/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_a_trusted_proxy_says_the_request_was_https(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    _https_redirect(settings)
    response = Client().get("/health/live/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
