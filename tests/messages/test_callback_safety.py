"""Status callbacks never reach into our own network, and their settings keep the secret to one answer."""

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
