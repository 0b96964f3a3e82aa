"""Scheduled sends, cancel, and the validity period, on the embedded defaults (in-process Celery, the locmem SMS
backend): what the API answers, what the claim takes, and the status callbacks each end writes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import AuditEvent, OutboxEvent
from apps.messages import metrics
from apps.messages.backends import locmem
from apps.messages.delivery.services import message_deliver, messages_deliver
from apps.messages.lifecycle.services import messages_expire_overdue
from apps.messages.models import CallbackSettings, Message, StatusCallback
from apps.messages.tasks import deliver_messages_task, expire_messages_task
from tests.users.factories import UserFactory

from .factories import MessageFactory
from .helpers import MESSAGES_URL, detail_url, iso, message_json

pytestmark = pytest.mark.django_db


def cancel_url(message_id: str) -> str:
    return f"{detail_url(message_id)}cancel/"


@pytest.fixture
def hooked(user) -> None:
    """The account has a default callback URL: every status change writes a StatusCallback row."""
    CallbackSettings.objects.create(account_id=user.account_id, default_url="https://hooks.example.com/s", secret="s")


def callback_statuses(message: Message) -> list[str]:
    return [callback.payload["status"] for callback in StatusCallback.objects.filter(message=message)]


def make_due(message: Message) -> None:
    """Its send_at has come (a create refuses one less than 60 s ahead)."""
    past = timezone.now() - timedelta(seconds=1)
    Message.objects.filter(pk=message.pk).update(send_at=past, next_attempt_at=past)


def schedule(client, payload, capture, **fields) -> dict:
    send_at = timezone.now() + timedelta(minutes=5)
    with capture(execute=True):
        response = client.post(MESSAGES_URL, {**payload, "send_at": send_at.isoformat(), **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_scheduled_message_is_accepted_as_scheduled_and_not_sent(
    user_client, payload, django_capture_on_commit_callbacks
) -> None:
    send_at = timezone.now() + timedelta(minutes=5)

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(MESSAGES_URL, {**payload, "send_at": send_at.isoformat()}, format="json")
    deliver_messages_task.apply()  # beat's wake-up: nothing is due

    assert response.status_code == 201
    message = Message.objects.get()
    assert response.json() == message_json(message)
    assert (message.status, message.send_at, message.next_attempt_at) == ("scheduled", send_at, send_at)
    assert response.json()["expires_at"] == iso(send_at + timedelta(hours=10))
    assert locmem.outbox == []


@pytest.mark.parametrize(
    "ahead",
    [timedelta(seconds=30), timedelta(days=35, minutes=1), timedelta(minutes=-5)],
    ids=["too-soon", "too-late", "past"],
)
def test_a_send_at_out_of_range_is_400_naming_it(user_client, payload, ahead) -> None:
    send_at = timezone.now() + ahead

    response = user_client.post(MESSAGES_URL, {**payload, "send_at": send_at.isoformat()}, format="json")

    assert response.status_code == 400
    assert response.json() == {"send_at": ["Must be at least 60 seconds and at most 35 days ahead."]}
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (36_001, "Ensure this value is less than or equal to 36000."),
        (59, "Ensure this value is greater than or equal to 60."),
    ],
)
def test_a_validity_period_out_of_range_is_400_naming_it(user_client, payload, value, error) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, "validity_period": value}, format="json")

    assert response.status_code == 400
    assert response.json() == {"validity_period": [error]}


def test_the_validity_period_sets_expires_at(user_client, payload, settings) -> None:
    settings.MESSAGE_DEFAULT_VALIDITY_SECONDS = 600

    default = user_client.post(MESSAGES_URL, payload, format="json").json()
    named = user_client.post(MESSAGES_URL, {**payload, "validity_period": 120}, format="json").json()

    first, second = Message.objects.order_by("pk")
    assert (default["validity_period"], first.expires_at) == (600, first.created_at + timedelta(seconds=600))
    assert (named["validity_period"], second.expires_at) == (120, second.created_at + timedelta(seconds=120))


def test_a_scheduled_message_is_claimed_once_due_and_sent(
    user_client, payload, hooked, django_capture_on_commit_callbacks
) -> None:
    scheduled = schedule(user_client, payload, django_capture_on_commit_callbacks)
    message = Message.objects.get()
    make_due(message)

    with django_capture_on_commit_callbacks(execute=True):
        deliver_messages_task.apply()

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert [sms.message_id for sms in locmem.outbox] == [scheduled["message_id"]]
    assert callback_statuses(message) == ["sent"]


def test_a_scheduled_message_whose_first_attempt_fails_goes_on_through_the_retries(
    user_client, payload, settings, django_capture_on_commit_callbacks
) -> None:
    schedule(user_client, payload, django_capture_on_commit_callbacks)
    message = Message.objects.get()
    make_due(message)
    settings.SMS_BACKEND = "apps.messages.backends.failing.FailingBackend"
    settings.MESSAGE_MAX_RETRIES = 1

    deliver_messages_task.apply()

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)


def test_cancel_a_scheduled_message_answers_it_canceled_and_it_is_never_sent(
    user_client, user, payload, hooked, django_capture_on_commit_callbacks
) -> None:
    scheduled = schedule(user_client, payload, django_capture_on_commit_callbacks)
    message = Message.objects.get()

    response = user_client.post(cancel_url(scheduled["message_id"]))
    make_due(message)
    deliver_messages_task.apply()

    assert response.status_code == 200
    assert response.json() == {**scheduled, "status": "canceled"}
    assert Message.objects.get().status == "canceled"
    assert locmem.outbox == []
    assert callback_statuses(message) == ["canceled"]
    audit = AuditEvent.objects.get(action="message.canceled")
    assert (audit.object_id, audit.changes) == (message.message_id, {"status": ["scheduled", "canceled"]})
    event = OutboxEvent.objects.get(event_type="message.canceled")
    assert event.payload == {"message_id": message.message_id, "account_id": str(user.account_id)}


def test_canceling_a_canceled_message_answers_200_with_it_and_changes_nothing(
    user_client, payload, hooked, django_capture_on_commit_callbacks
) -> None:
    scheduled = schedule(user_client, payload, django_capture_on_commit_callbacks)
    first = user_client.post(cancel_url(scheduled["message_id"]))

    second = user_client.post(cancel_url(scheduled["message_id"]))

    assert (second.status_code, second.json()) == (200, first.json())
    assert callback_statuses(Message.objects.get()) == ["canceled"]
    assert AuditEvent.objects.filter(action="message.canceled").count() == 1


def test_a_queued_message_never_attempted_can_be_canceled(
    user_client, user, django_capture_on_commit_callbacks
) -> None:
    message = MessageFactory(account_id=user.account_id)
    before = metrics.messages_canceled_total._value.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(cancel_url(message.message_id))

    assert (response.status_code, response.json()["status"]) == (200, "canceled")
    assert metrics.messages_canceled_total._value.get() - before == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "sent", "attempts": 1},
        {"status": "queued", "attempts": 1},  # handed to the gateway once already, waiting for its retry
        {"status": "failed", "attempts": 6},
        {"status": "expired"},
        {"status": "delivered", "attempts": 1},
    ],
)
def test_a_message_already_handed_to_the_gateway_cannot_be_canceled(user_client, user, fields) -> None:
    message = MessageFactory(account_id=user.account_id, **fields)

    response = user_client.post(cancel_url(message.message_id))

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The message was already handed to the gateway (or ended otherwise) and cannot be canceled.",
        "code": "message_not_cancelable",
    }
    message.refresh_from_db()
    assert (message.status, message.attempts) == (fields["status"], fields.get("attempts", 0))


def test_another_accounts_message_is_404_on_cancel(user_client) -> None:
    message = MessageFactory(account_id=UserFactory().account_id)

    response = user_client.post(cancel_url(message.message_id))

    assert response.status_code == 404
    assert Message.objects.get().status == "queued"


def test_an_idempotent_replay_of_a_scheduled_create_answers_it_scheduled(
    user_client, payload, django_capture_on_commit_callbacks
) -> None:
    send_at = (timezone.now() + timedelta(minutes=5)).isoformat()
    body = {**payload, "send_at": send_at}
    first = user_client.post(MESSAGES_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    user_client.post(cancel_url(first.json()["message_id"]))

    again = user_client.post(MESSAGES_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    other = user_client.post(MESSAGES_URL, {**body, "validity_period": 600}, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert (again.status_code, again.json()) == (201, first.json())
    assert again.json()["status"] == "scheduled"
    assert other.status_code == 409


def test_a_message_past_its_validity_is_not_claimed_and_the_sweep_expires_it(
    user, hooked, django_capture_on_commit_callbacks
) -> None:
    overdue = MessageFactory(account_id=user.account_id, expires_at=timezone.now() - timedelta(seconds=1))
    scheduled = MessageFactory(
        account_id=user.account_id,
        status="scheduled",
        next_attempt_at=timezone.now() - timedelta(minutes=1),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    valid = MessageFactory(account_id=user.account_id, expires_at=timezone.now() + timedelta(minutes=5))
    before = metrics.messages_expired_total._value.get()

    deliver_messages_task.apply()
    with django_capture_on_commit_callbacks(execute=True):
        expired = expire_messages_task.apply().result

    assert [sms.message_id for sms in locmem.outbox] == [valid.message_id]
    assert expired == 2
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {overdue.pk: "expired", scheduled.pk: "expired", valid.pk: "sent"}
    assert callback_statuses(overdue) == callback_statuses(scheduled) == ["expired"]
    assert sorted(OutboxEvent.objects.filter(event_type="message.expired").values_list("aggregate_id", flat=True)) == (
        sorted([overdue.message_id, scheduled.message_id])
    )
    assert metrics.messages_expired_total._value.get() - before == 2


def test_the_expiry_sweep_goes_in_batches(user) -> None:
    MessageFactory.create_batch(5, expires_at=timezone.now() - timedelta(seconds=1))

    expired = messages_expire_overdue(batch_size=2)

    assert expired == 5
    assert set(Message.objects.values_list("status", flat=True)) == {"expired"}


def test_a_retry_past_the_validity_is_never_sent(user, hooked) -> None:
    retrying = MessageFactory(
        account_id=user.account_id,
        attempts=1,
        next_attempt_at=timezone.now(),
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert message_deliver(message_pk=retrying.pk) is None

    retrying.refresh_from_db()
    assert (retrying.status, retrying.attempts) == ("expired", 1)
    assert locmem.outbox == []
    assert callback_statuses(retrying) == ["expired"]


def test_a_canceled_message_never_expires(user) -> None:
    canceled = MessageFactory(account_id=user.account_id, status="canceled", expires_at=timezone.now())

    messages_expire_overdue()

    assert Message.objects.get(pk=canceled.pk).status == "canceled"


def _deliver_in_thread(pk: int) -> list:
    from django.db import connection

    try:
        return messages_deliver(message_pks=[pk])
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cancel_during_the_send_waits_for_it_and_is_refused(user, settings) -> None:
    """The send holds the row's lock while the gateway answers (1 s): the cancel waits, then finds it sent."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from apps.messages.lifecycle.services import MessageNotCancelable, message_cancel
    from bench.gateway import Gateway

    gateway = Gateway(0, 1.0)
    threading.Thread(target=gateway.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    settings.SMS_BACKEND = "apps.messages.backends.http.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{gateway.server_address[1]}/messages"
    message = MessageFactory(account_id=user.account_id)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            sending = pool.submit(_deliver_in_thread, message.pk)
            deadline = time.monotonic() + 10
            while gateway.posts == 0:  # the send is in flight, the row locked
                assert time.monotonic() < deadline, "the send never started"
                time.sleep(0.01)
            with pytest.raises(MessageNotCancelable):
                message_cancel(message_pk=message.pk, by=user)
            assert sending.result(timeout=10) == []
    finally:
        gateway.shutdown()
        gateway.server_close()

    message.refresh_from_db()
    assert (message.status, message.attempts, gateway.posts) == ("sent", 1, 1)
