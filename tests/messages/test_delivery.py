"""Background delivery: queued → sent through the SMS backend, retries with backoff, then failed; never for a
create that rolled back, and never twice by two runs of one delivery."""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone
from prometheus_client import REGISTRY

from apps.core.models import OutboxEvent
from apps.messages.acceptance import services as acceptance
from apps.messages.backends import locmem
from apps.messages.backends.failing import FailingBackend
from apps.messages.delivery.services import message_fail
from apps.messages.models import Message
from apps.messages.tasks import deliver_message_task, requeue_stale_messages_task, retry_countdown

from .factories import MessageFactory
from .helpers import MESSAGES_URL

FAILING = "apps.messages.backends.failing.FailingBackend"


def counter(name: str) -> float:
    return REGISTRY.get_sample_value(f"{name}_total") or 0.0


@pytest.mark.django_db
def test_a_created_message_is_sent_in_the_background(user_client, payload, django_capture_on_commit_callbacks) -> None:
    created_before, delivered_before = counter("messages_created"), counter("messages_delivered")

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(MESSAGES_URL, payload, format="json")

    assert response.json()["status"] == "queued"
    message = Message.objects.get()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, "")
    assert message.sent_at is not None
    assert locmem.outbox == [
        locmem.SentSms(
            message_id=message.message_id,
            sender_number="+15551230001",
            receiver_number="+442079460958",
            body="Hello there",
            provider_message_id=message.provider_message_id,
        )
    ]
    assert message.provider_message_id.startswith("locmem-")
    sent = OutboxEvent.objects.get(event_type="message.sent")
    assert (sent.priority, sent.aggregate_id) == ("high", message.message_id)
    assert sent.payload["provider_message_id"] == message.provider_message_id
    assert counter("messages_created") == created_before + 1
    assert counter("messages_delivered") == delivered_before + 1


@pytest.mark.django_db
def test_the_api_shows_the_sent_message(user_client, payload, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message_id = user_client.post(MESSAGES_URL, payload, format="json").json()["message_id"]

    body = user_client.get(f"{MESSAGES_URL}{message_id}/").json()

    assert (body["status"], body["attempts"]) == ("sent", 1)
    assert body["sent_at"] is not None


@pytest.mark.django_db
def test_nothing_is_sent_when_the_create_rolls_back(user, payload, monkeypatch, django_capture_on_commit_callbacks):
    requested: list[int] = []
    monkeypatch.setattr(acceptance, "request_delivery", requested.append)  # records, then delivers nothing

    def outbox_down(*args, **kwargs):
        # The last step of the create's transaction, after the message's INSERT, fails: it all rolls back.
        raise DatabaseError("the outbox table is unavailable")

    monkeypatch.setattr(acceptance.events, "message_created", outbox_down)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DatabaseError):
        acceptance.message_create(actor=user, account_id=user.account_id, **payload)

    assert not Message.objects.exists()
    assert requested == []  # no delivery asked for, neither during the transaction nor after it
    assert locmem.outbox == []


@pytest.mark.django_db
def test_a_refused_message_is_retried_then_failed(
    user_client, payload, settings, django_capture_on_commit_callbacks
) -> None:
    settings.SMS_BACKEND = FAILING
    settings.MESSAGE_MAX_RETRIES = 3
    failed_before = counter("messages_failed")

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(MESSAGES_URL, payload, format="json")

    assert response.status_code == 201
    message = Message.objects.get()
    assert message.status == "failed"
    assert message.attempts == settings.MESSAGE_MAX_RETRIES + 1
    assert message.last_error == FailingBackend.error_message
    assert message.sent_at is None
    assert message.provider_message_id == ""
    failed = OutboxEvent.objects.get(event_type="message.failed")
    assert (failed.priority, failed.payload["attempts"]) == ("critical", 4)
    assert not OutboxEvent.objects.filter(event_type="message.sent").exists()
    assert counter("messages_failed") == failed_before + 1


@pytest.mark.django_db
def test_a_failed_message_put_back_in_the_queue_is_sent_once(
    user, settings, django_capture_on_commit_callbacks
) -> None:
    message = MessageFactory(account_id=user.account_id)
    settings.SMS_BACKEND = FAILING
    settings.MESSAGE_MAX_RETRIES = 0
    deliver_message_task.delay(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)

    message.status = Message.Status.QUEUED  # as the admin's retry does
    message.save(update_fields=["status"])
    settings.SMS_BACKEND = "apps.messages.backends.locmem.LocmemBackend"
    deliver_message_task.delay(message.pk)

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, FailingBackend.error_message)
    assert [sms.message_id for sms in locmem.outbox] == [message.message_id]


@pytest.mark.django_db
def test_a_message_the_gateway_rejects_for_good_fails_without_retries(user, settings) -> None:
    settings.SMS_BACKEND = "tests.messages.backends.RejectingBackend"
    message = MessageFactory(account_id=user.account_id)

    deliver_message_task.delay(message.pk)

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (
        "failed",
        1,
        "The gateway answered 400 Bad Request",
    )


@pytest.mark.django_db
def test_running_the_task_twice_sends_once(user) -> None:
    message = MessageFactory(account_id=user.account_id)

    deliver_message_task.delay(message.pk)
    deliver_message_task.delay(message.pk)

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert len(locmem.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("final", ["sent", "failed"])
def test_a_finished_message_is_never_sent_again_nor_changes(user, final) -> None:
    message = MessageFactory(account_id=user.account_id, status=final, attempts=2)

    deliver_message_task.delay(message.pk)
    assert message_fail(message_pk=message.pk, error="late") is None

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (final, 2, "")
    assert locmem.outbox == []


@pytest.mark.django_db
def test_a_task_for_a_missing_message_does_nothing(db) -> None:
    result = deliver_message_task.delay(123456789)

    assert result.successful()
    assert locmem.outbox == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_once(user, settings) -> None:
    """The second run waits for the first one's row lock, then finds the message sent."""
    settings.SMS_BACKEND = "tests.messages.backends.SlowLocmemBackend"
    message = MessageFactory(account_id=user.account_id)
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait(timeout=10)
            deliver_message_task.apply(args=(message.pk,))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert len(locmem.outbox) == 1


def test_retry_countdown_grows_exponentially_with_jitter(settings) -> None:
    settings.MESSAGE_RETRY_BACKOFF_SECONDS = 2

    for retries, base in [(0, 2), (1, 4), (2, 8), (3, 16)]:
        countdowns = [retry_countdown(retries) for _ in range(50)]
        assert all(base <= c <= base + 2 for c in countdowns)
        assert len(set(countdowns)) > 1
    assert retry_countdown(30) == 15 * 60


def test_retry_countdown_without_a_base_is_immediate(settings) -> None:
    settings.MESSAGE_RETRY_BACKOFF_SECONDS = 0

    assert retry_countdown(4) == 0


# --- the stale-message sweeper --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweeper_sends_messages_whose_task_was_lost(user, settings, django_capture_on_commit_callbacks) -> None:
    long_ago = timezone.now() - timedelta(seconds=settings.MESSAGE_REQUEUE_AFTER_SECONDS + 5)
    stale = MessageFactory(account_id=user.account_id, created_at=long_ago, next_attempt_at=long_ago)
    fresh = MessageFactory(account_id=user.account_id)
    done = MessageFactory(account_id=user.account_id, created_at=long_ago, next_attempt_at=long_ago, status="sent")

    with django_capture_on_commit_callbacks(execute=True):
        requeued = requeue_stale_messages_task.delay().get()

    assert requeued == 1
    assert [sms.message_id for sms in locmem.outbox] == [stale.message_id]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    done.refresh_from_db()
    assert (stale.status, fresh.status, done.status) == ("sent", "queued", "sent")


@pytest.mark.django_db
def test_the_sweeper_leaves_a_message_waiting_for_its_retry(user, settings) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    MessageFactory(
        account_id=user.account_id, created_at=long_ago, next_attempt_at=timezone.now() + timedelta(seconds=30)
    )

    assert requeue_stale_messages_task.delay().get() == 0


@pytest.mark.django_db
def test_the_sweeper_does_not_enqueue_the_same_message_every_period(user, settings) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    MessageFactory(account_id=user.account_id, created_at=long_ago, next_attempt_at=long_ago)

    assert requeue_stale_messages_task.delay().get() == 1
    assert requeue_stale_messages_task.delay().get() == 0


@pytest.mark.django_db
def test_a_broker_outage_at_create_is_caught_up_by_the_sweeper(
    user_client, payload, monkeypatch, settings, django_capture_on_commit_callbacks
) -> None:
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    with monkeypatch.context() as patch:
        patch.setattr(deliver_message_task, "apply_async", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            response = user_client.post(MESSAGES_URL, payload, format="json")
    assert response.status_code == 201
    message = Message.objects.get()
    assert message.status == "queued"

    settings.MESSAGE_REQUEUE_AFTER_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        requeue_stale_messages_task.delay()

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
