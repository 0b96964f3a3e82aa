"""The admin shows each status callback with its attempts, and resends one through the service."""

import pytest
from django.test import Client

from apps.core.models import AuditEvent
from apps.messages.models import CallbackSettings, StatusCallback, StatusCallbackAttempt
from tests.helpers.receiver import receiver

from .factories import MessageFactory

CHANGELIST = "/admin/messaging/statuscallback/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def given_up() -> StatusCallback:
    message = MessageFactory(status="sent")
    CallbackSettings.objects.create(account_id=message.account_id, secret="whsec_test")
    callback = StatusCallback.objects.create(
        message=message, url="http://127.0.0.1:9/", payload={"status": "sent"}, state="gave_up", attempts=1
    )
    StatusCallbackAttempt.objects.create(callback=callback, status_code=503, error="The receiver answered 503.")
    return callback


def test_the_change_page_shows_each_attempt(staff_client, given_up) -> None:
    listing = staff_client.get(CHANGELIST).content.decode()
    page = staff_client.get(f"{CHANGELIST}{given_up.pk}/change/").content.decode()

    assert given_up.event_id in listing
    assert "503" in page
    assert "The receiver answered 503." in page


def test_resend_sends_it_again(staff_client, given_up, settings, django_capture_on_commit_callbacks) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    with receiver() as hook:
        StatusCallback.objects.filter(pk=given_up.pk).update(url=hook.url)
        with django_capture_on_commit_callbacks(execute=True):
            answer = staff_client.post(
                CHANGELIST, {"action": "resend_callbacks", "_selected_action": [given_up.pk]}, follow=True
            )

    assert answer.status_code == 200
    assert len(hook.requests) == 1
    resent = StatusCallback.objects.get(pk=given_up.pk)
    assert (resent.state, resent.attempt_log.count()) == ("delivered", 2)
    assert AuditEvent.objects.filter(action="callbacks.resent", object_id=given_up.event_id).exists()


def test_a_plain_user_cannot_see_callbacks(user, given_up) -> None:
    client = Client()
    client.force_login(user)

    assert client.get(CHANGELIST).status_code == 302
