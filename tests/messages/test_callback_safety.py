"""Status callbacks never reach into our own network, and their settings keep the secret to one answer."""

import time

import pytest

from apps.messages import safe_http
from apps.messages.models import StatusCallback
from tests.helpers.receiver import receiver

from .helpers import MESSAGES_URL

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/api/v1/accounts/me/status-callback/"
SECRET_URL = "/api/v1/accounts/me/status-callback/secret/"


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def secret(user_client) -> str:
    return user_client.post(SECRET_URL).json()["secret"]


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hook",  # private
        "https://192.168.1.1/hook",
        "https://127.0.0.2/hook",  # loopback, and not the allowed host
        "https://localhost/hook",  # a name that resolves to loopback
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",  # private, written as IPv6
        "https://100.64.0.1/hook",  # shared address space (carrier NAT)
        "http://example.com/hook",  # http to a host not allowed
        "https://user:pass@example.com/hook",
        "ftp://example.com/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_unsafe_urls_are_refused_at_creation(user_client, payload, secret, url) -> None:
    answer = user_client.post(MESSAGES_URL, {**payload, "status_callback": url}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["status_callback"]
    assert user_client.patch(SETTINGS_URL, {"default_url": url}, format="json").status_code == 400


def test_the_check_runs_again_at_send_time_and_nothing_is_sent(
    user_client, payload, secret, settings, django_capture_on_commit_callbacks
) -> None:
    with receiver() as hook, django_capture_on_commit_callbacks(execute=True):
        accepted = user_client.post(MESSAGES_URL, {**payload, "status_callback": hook.url}, format="json")
        # Accepted; by the time it is delivered (on commit, below) and its callback sent, 127.0.0.1 is refused.
        settings.CALLBACK_ALLOWED_HOSTS = []

    assert accepted.status_code == 201
    callback = StatusCallback.objects.get()
    assert hook.requests == []
    assert callback.state == "gave_up"
    assert callback.last_error.startswith("Refused: The URL must be https.")


def test_a_name_resolving_to_loopback_is_refused_before_connecting() -> None:
    with receiver() as hook, pytest.raises(safe_http.UnsafeDestination, match="not a public address"):
        safe_http.post(f"https://localhost:{hook.port}/", b"{}", headers={}, timeout=1)
    assert hook.requests == []


def test_redirects_are_not_followed(user_client, payload, secret, django_capture_on_commit_callbacks) -> None:
    with (
        receiver() as inside,
        receiver(redirect_to=f"http://127.0.0.1:{inside.port}/") as hook,
        django_capture_on_commit_callbacks(execute=True),
    ):
        user_client.post(MESSAGES_URL, {**payload, "status_callback": hook.url}, format="json")

    callback = StatusCallback.objects.get()
    assert inside.requests == []
    assert [attempt.status_code for attempt in callback.attempt_log.all()] == [302] * callback.attempts
    assert (callback.state, callback.last_error) == ("gave_up", "The receiver answered 302.")


def test_a_status_callback_needs_the_accounts_secret(user_client, payload) -> None:
    answer = user_client.post(MESSAGES_URL, {**payload, "status_callback": "https://8.8.8.8/hook"}, format="json")

    assert answer.status_code == 400
    assert answer.json()["code"] == "callback_secret_missing"


def test_the_secret_is_shown_once_and_rotates(user_client, other_user, auth_client) -> None:
    assert user_client.get(SETTINGS_URL).json() == {"default_url": "", "secret_set": False, "secret_created_at": None}

    first = user_client.patch(SETTINGS_URL, {"default_url": "https://8.8.8.8/hook"}, format="json").json()
    shown = user_client.get(SETTINGS_URL).json()
    rotated = user_client.post(SECRET_URL).json()

    assert first["secret"].startswith("whsec_")
    assert "secret" not in shown
    assert shown["secret_set"] is True
    assert shown["default_url"] == "https://8.8.8.8/hook"
    assert rotated["secret"] not in (first["secret"], "")
    assert "secret" not in user_client.patch(SETTINGS_URL, {"default_url": ""}, format="json").json()
    assert auth_client(other_user).get(SETTINGS_URL).json()["secret_set"] is False


def test_callback_settings_need_a_signed_in_caller(api_client) -> None:
    assert api_client.get(SETTINGS_URL).status_code == 401
    assert api_client.post(SECRET_URL).status_code == 401


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 (well-known prefix) to the metadata service 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 to 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 to 127.0.0.1
        "64:ff9b::c0a8:101",  # NAT64 to 192.168.1.1
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 prefix
        "64:ff9b:1::808:808",  # refused whatever it embeds
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::808:808",  # IPv4-compatible is refused whatever it embeds
        "::ffff:0:a9fe:a9fe",  # SIIT 169.254.169.254
        "::ffff:0:a00:1",  # SIIT 10.0.0.1
        "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254
        "::ffff:a00:1",  # IPv4-mapped 10.0.0.1
        "::ffff:7f00:1",  # IPv4-mapped 127.0.0.1
        "::ffff:c0a8:101",  # IPv4-mapped 192.168.1.1
        "2001:0:a9fe:a9fe::1",  # Teredo
        "2001:db8::1",  # documentation
        "fc00::1",  # unique local
        "fe80::1",  # link-local
        "ff02::1",  # multicast
    ],
)
def test_ipv6_forms_embedding_a_private_address_are_refused(user_client, payload, secret, address) -> None:
    url = f"https://[{address}]/hook"

    answer = user_client.post(MESSAGES_URL, {**payload, "status_callback": url}, format="json")

    assert answer.status_code == 400
    assert answer.json()["status_callback"] == ["The URL's host is not a public address."]
    assert user_client.patch(SETTINGS_URL, {"default_url": url}, format="json").status_code == 400
    with pytest.raises(safe_http.UnsafeDestination, match="not a public address"):  # and again at send time
        safe_http.post(url, b"{}", headers={}, timeout=1)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::808:808",  # NAT64 to 8.8.8.8: how an IPv6-only network reaches a public IPv4 receiver
        "2002:808:808::1",  # 6to4 of 8.8.8.8
        "::ffff:8.8.8.8",  # IPv4-mapped 8.8.8.8
        "2606:4700:4700::1111",
    ],
)
def test_ipv6_forms_of_public_addresses_are_accepted(address) -> None:
    assert safe_http.resolve(f"https://[{address}]/hook").address == address


def test_a_receiver_dripping_its_headers_is_cut_at_the_deadline() -> None:
    # Each header line comes well within any read timeout; only a deadline for the whole exchange ends it.
    with receiver(drip_headers=0.2) as hook:
        started = time.monotonic()
        with pytest.raises(safe_http.SendFailed, match="did not answer in time"):
            safe_http.post(hook.url, b"{}", headers={}, timeout=1, allowed_hosts=["127.0.0.1"])
        took = time.monotonic() - started

    assert len(hook.requests) == 1
    assert 1 <= took < 1.5


def test_a_dripping_receiver_costs_one_failed_attempt_within_the_deadline(
    user_client, payload, secret, settings, django_capture_on_commit_callbacks
) -> None:
    settings.CALLBACK_TIMEOUT_SECONDS = 1
    settings.CALLBACK_MAX_ATTEMPTS = 1
    with receiver(drip_headers=0.2) as hook, django_capture_on_commit_callbacks(execute=True):
        user_client.post(MESSAGES_URL, {**payload, "status_callback": hook.url}, format="json")

    callback = StatusCallback.objects.get()
    (attempt,) = callback.attempt_log.all()
    assert (attempt.status_code, attempt.error) == (None, "The destination did not answer in time.")
    assert 1000 <= attempt.duration_ms < 1500
    assert (callback.state, callback.attempts, callback.in_flight_until) == ("gave_up", 1, None)
