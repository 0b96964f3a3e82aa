"""Status callbacks against a real receiver on 127.0.0.1: signed, every status in order, retried, given up."""

import json
import socket
from datetime import timedelta

import pytest
from celery.beat import ScheduleEntry, Scheduler
from django.utils import timezone

from apps.messages import signatures
from apps.messages.backends import locmem
from apps.messages.models import Message, StatusCallback
from apps.messages.tasks import send_status_callback_task, sweep_status_callbacks_task
from config.celery import app as celery_app
from tests.helpers.receiver import receiver

from .helpers import MESSAGES_URL, received_events

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/api/v1/accounts/me/status-callback/"
SECRET_URL = "/api/v1/accounts/me/status-callback/secret/"
RECEIPTS_URL = "/api/v1/messages/receipts/http/"
GATEWAY_SECRET = "gateway-secret"


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SMS_GATEWAY_RECEIPT_SECRET = GATEWAY_SECRET


@pytest.fixture
def secret(user_client) -> str:
    return user_client.post(SECRET_URL).json()["secret"]


def send(client, payload, url: str, capture) -> dict:
    with capture(execute=True):
        answer = client.post(MESSAGES_URL, {**payload, "status_callback": url}, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def report(client, message_id: str, status: str, capture) -> None:
    body = json.dumps({"reference": message_id, "status": status}).encode()
    headers = signatures.signed_headers(secret=GATEWAY_SECRET, body=body)
    with capture(execute=True):
        answer = client.post(
            RECEIPTS_URL,
            body,
            content_type="application/json",
            HTTP_X_SIGNATURE=headers["X-Signature"],
            HTTP_X_SIGNATURE_TIMESTAMP=headers["X-Signature-Timestamp"],
        )
    assert answer.status_code == 200, answer.content


def test_every_status_reaches_the_receiver_signed_and_in_order(
    user_client, api_client, payload, secret, django_capture_on_commit_callbacks
) -> None:
    with receiver() as hook:
        message = send(user_client, payload, hook.url, django_capture_on_commit_callbacks)
        report(api_client, message["message_id"], "delivered", django_capture_on_commit_callbacks)

    assert message["status_callback"] == hook.url
    seen = received_events(hook, secret)
    assert [(event["message_id"], event["status"], event["attempts"], event["error"]) for event in seen] == [
        (message["message_id"], "sent", 1, None),
        (message["message_id"], "delivered", 1, None),
    ]
    assert set(seen[0]) == {"event_id", "message_id", "status", "attempts", "error", "time"}
    assert seen[0]["event_id"] != seen[1]["event_id"]
    assert hook.requests[0].headers["Content-Type"] == "application/json"


def test_failed_attempts_are_retried_until_the_receiver_takes_them(
    user_client, payload, secret, django_capture_on_commit_callbacks
) -> None:
    with receiver(plan=[500, 503]) as hook:
        send(user_client, payload, hook.url, django_capture_on_commit_callbacks)

    callback = StatusCallback.objects.get()
    assert [attempt.status_code for attempt in callback.attempt_log.all()] == [500, 503, 200]
    assert (callback.state, callback.attempts) == ("delivered", 3)
    assert len({request.headers["X-Signature"] for request in hook.requests}) >= 1
    assert [event["event_id"] for event in received_events(hook, secret)] == [callback.event_id] * 3


def test_a_callback_is_given_up_after_its_attempts_and_recorded(
    user_client, payload, secret, settings, django_capture_on_commit_callbacks
) -> None:
    with receiver(plan=[500] * 10) as hook:
        send(user_client, payload, hook.url, django_capture_on_commit_callbacks)

    callback = StatusCallback.objects.get()
    assert len(hook.requests) == settings.CALLBACK_MAX_ATTEMPTS
    assert (callback.state, callback.last_status_code, callback.last_error) == (
        "gave_up",
        500,
        "The receiver answered 500.",
    )
    assert callback.finished_at is not None


def test_a_failed_message_reports_its_error_as_a_code(
    user_client, payload, secret, settings, django_capture_on_commit_callbacks
) -> None:
    settings.SMS_BACKEND = "apps.messages.backends.failing.FailingBackend"
    settings.MESSAGE_MAX_RETRIES = 1
    with receiver() as hook:
        message = send(user_client, payload, hook.url, django_capture_on_commit_callbacks)

    assert [(event["status"], event["attempts"], event["error"]) for event in received_events(hook, secret)] == [
        ("failed", 2, "gateway_error")
    ]
    assert user_client.get(f"{MESSAGES_URL}{message['message_id']}/").json()["error_code"] == "gateway_error"
    # The internal text stays for the admin.
    assert Message.objects.get().last_error == "The failing backend refuses every message."


def test_a_later_status_waits_for_the_earlier_one(
    user_client, api_client, payload, secret, settings, django_capture_on_commit_callbacks
) -> None:
    settings.CALLBACK_RETRY_BACKOFF_SECONDS = 3600  # the `sent` callback's retry is an hour away
    with receiver(plan=[500]) as hook:
        message = send(user_client, payload, hook.url, django_capture_on_commit_callbacks)
        report(api_client, message["message_id"], "delivered", django_capture_on_commit_callbacks)
        assert [event["status"] for event in received_events(hook, secret)] == ["sent"]  # delivered waits its turn

        sent = StatusCallback.objects.get(payload__status="sent")
        StatusCallback.objects.filter(pk=sent.pk).update(next_attempt_at=sent.created_at)  # the retry is due
        with django_capture_on_commit_callbacks(execute=True):
            send_status_callback_task.delay(sent.pk)

    assert [event["status"] for event in received_events(hook, secret)] == ["sent", "sent", "delivered"]
    assert set(StatusCallback.objects.values_list("state", flat=True)) == {"delivered"}


def test_the_sweeper_sends_callbacks_whose_task_was_lost(user, secret, django_capture_on_commit_callbacks) -> None:
    with receiver() as hook:
        message = Message.objects.create(
            account_id=user.account_id, sender_number="+15551230001", receiver_number="+442079460958", body="Hi"
        )
        lost = StatusCallback.objects.create(message=message, url=hook.url, payload={"status": "sent"})
        StatusCallback.objects.filter(pk=lost.pk).update(next_attempt_at=lost.created_at.replace(year=2020))
        with django_capture_on_commit_callbacks(execute=True):
            sweep_status_callbacks_task.delay()

    assert [json.loads(request.body) for request in hook.requests] == [{"status": "sent"}]
    assert StatusCallback.objects.get().state == "delivered"


def test_the_account_default_url_is_used_when_a_message_names_none(
    user_client, payload, django_capture_on_commit_callbacks
) -> None:
    with receiver() as hook:
        secret = user_client.patch(SETTINGS_URL, {"default_url": hook.url}, format="json").json()["secret"]
        with django_capture_on_commit_callbacks(execute=True):
            user_client.post(MESSAGES_URL, payload, format="json")

    assert [event["status"] for event in received_events(hook, secret)] == ["sent"]


def test_no_url_no_callback(user_client, payload, secret, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        user_client.post(MESSAGES_URL, payload, format="json")

    assert StatusCallback.objects.count() == 0
    assert len(locmem.outbox) == 1


def test_a_new_default_url_applies_to_the_next_status_change(
    user_client, payload, django_capture_on_commit_callbacks
) -> None:
    with receiver() as first, receiver() as second:
        with django_capture_on_commit_callbacks(execute=True):
            secret = user_client.patch(SETTINGS_URL, {"default_url": first.url}, format="json").json()["secret"]
        with django_capture_on_commit_callbacks(execute=True):
            user_client.post(MESSAGES_URL, payload, format="json")  # reads (and caches) the first URL
        with django_capture_on_commit_callbacks(execute=True):
            user_client.patch(SETTINGS_URL, {"default_url": second.url}, format="json")
        with django_capture_on_commit_callbacks(execute=True):
            user_client.post(MESSAGES_URL, payload, format="json")

    assert [event["status"] for event in received_events(first, secret)] == ["sent"]
    assert [event["status"] for event in received_events(second, secret)] == ["sent"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_embedded_a_callback_the_receiver_missed_waits_for_beat_run_beside_make_run(
    user_client, payload, secret, settings, django_capture_on_commit_callbacks
) -> None:
    # Embedded mode: tasks run in-process (eager), where no timer runs a retry, with the default backoff.
    assert settings.CELERY_TASK_ALWAYS_EAGER
    settings.CALLBACK_RETRY_BACKOFF_SECONDS = 30
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/status"  # nothing listens there yet: the receiver is down
    message = send(user_client, payload, url, django_capture_on_commit_callbacks)

    callback = StatusCallback.objects.get()
    assert (callback.state, callback.attempts) == ("pending", 1)  # tried once, kept: not lost, not a loop
    assert [attempt.status_code for attempt in callback.attempt_log.all()] == [None]
    assert callback.next_attempt_at > timezone.now()

    # Past its retry time and the sweeper's grace, with the receiver back: beat (`make beat`, which with no broker
    # runs each task in its own process) sends it.
    StatusCallback.objects.filter(pk=callback.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    schedule = settings.CELERY_BEAT_SCHEDULE["sweep-status-callbacks"]
    sweep = ScheduleEntry(name="sweep-status-callbacks", app=celery_app, **schedule)
    with receiver(port=port) as hook, django_capture_on_commit_callbacks(execute=True):
        Scheduler(app=celery_app, lazy=True).apply_async(sweep, advance=False)

    assert [(event["event_id"], event["message_id"], event["status"]) for event in received_events(hook, secret)] == [
        (callback.event_id, message["message_id"], "sent")
    ]
    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == ("delivered", 2)
