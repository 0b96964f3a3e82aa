"""Batched delivery: the messages a process accepted go to the worker together and are sent concurrently, each
once per attempt, with the single-message path's retries, failures and idempotency key."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.messages.backends import locmem
from apps.messages.backends.failing import FailingBackend
from apps.messages.delivery.services import messages_deliver
from apps.messages.dispatch import send_concurrently
from apps.messages.models import CallbackSettings, Message, StatusCallback
from apps.messages.tasks import deliver_messages_task

from .backends import SlowLocmemBackend
from .factories import MessageFactory

FAILING = "apps.messages.backends.failing.FailingBackend"


@pytest.mark.django_db
def test_a_batch_sends_each_queued_message_once(user) -> None:
    queued = MessageFactory.create_batch(3, account_id=user.account_id)
    done = MessageFactory(account_id=user.account_id, status=Message.Status.SENT)

    deliver_messages_task.delay([m.pk for m in [*queued, done]] + [987654321])

    assert sorted(sms.message_id for sms in locmem.outbox) == sorted(m.message_id for m in queued)
    rows = Message.objects.filter(pk__in=[m.pk for m in queued])
    assert sorted(rows.values_list("status", "attempts")) == [("sent", 1)] * 3
    done.refresh_from_db()
    assert (done.status, done.attempts) == ("sent", 0)


@pytest.mark.django_db
def test_a_batch_run_twice_sends_once(user) -> None:
    messages = MessageFactory.create_batch(2, account_id=user.account_id)

    deliver_messages_task.delay([m.pk for m in messages])
    deliver_messages_task.delay([m.pk for m in messages])  # a redelivered batch (late ack after a crash)

    assert sorted(sms.message_id for sms in locmem.outbox) == sorted(m.message_id for m in messages)


@pytest.mark.django_db
def test_a_refused_send_in_a_batch_goes_on_alone_with_its_retries(user, settings) -> None:
    settings.SMS_BACKEND = FAILING
    settings.MESSAGE_MAX_RETRIES = 3
    message = MessageFactory(account_id=user.account_id)

    deliver_messages_task.delay([message.pk])

    message.refresh_from_db()
    # The batch was the first attempt, then the same retries as a message sent alone.
    assert (message.status, message.attempts) == ("failed", settings.MESSAGE_MAX_RETRIES + 1)
    assert message.last_error == FailingBackend.error_message


@pytest.mark.django_db
def test_a_send_refused_for_good_in_a_batch_fails_at_once(user, settings) -> None:
    settings.SMS_BACKEND = "tests.messages.backends.RejectingBackend"
    message = MessageFactory(account_id=user.account_id)
    other = MessageFactory(account_id=user.account_id)

    deliver_messages_task.delay([message.pk, other.pk])

    rows = Message.objects.filter(pk__in=[message.pk, other.pk])
    assert (
        sorted(rows.values_list("status", "attempts", "last_error"))
        == [("failed", 1, "The gateway answered 400 Bad Request")] * 2
    )


@pytest.mark.django_db
def test_the_sends_of_a_batch_are_in_flight_together(user) -> None:
    messages = MessageFactory.create_batch(4, account_id=user.account_id)
    backend = SlowLocmemBackend()
    in_flight: set[str] = set()
    most = 0
    lock = threading.Lock()
    send = backend.send

    def counting_send(message: Message) -> str:
        nonlocal most
        with lock:
            in_flight.add(threading.current_thread().name)
            most = max(most, len(in_flight))
        try:
            return send(message)
        finally:
            with lock:
                in_flight.discard(threading.current_thread().name)

    backend.send = counting_send  # type: ignore[method-assign]
    outcomes = send_concurrently(backend, messages)

    provider_ids = [outcome for outcome in outcomes if isinstance(outcome, str)]
    assert provider_ids == outcomes  # no refusal among them
    assert sorted(provider_ids) == sorted(sms.provider_message_id for sms in locmem.outbox)
    assert len(set(outcomes)) == 4
    assert most == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_skips_the_rows_another_delivery_holds(user) -> None:
    held, free = MessageFactory.create_batch(2, account_id=user.account_id)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        from django.db import transaction

        with transaction.atomic():
            Message.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        assert messages_deliver(message_pks=[held.pk, free.pk]) == []
    finally:
        release.set()
        holder.join()

    assert [sms.message_id for sms in locmem.outbox] == [free.message_id]
    held.refresh_from_db()
    assert (held.status, held.attempts) == ("queued", 0)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_batch_takes_the_other_messages_due_for_their_first_attempt_oldest_first(user, settings) -> None:
    now = timezone.now()
    own = MessageFactory(account_id=user.account_id)
    due = [
        MessageFactory(account_id=user.account_id, next_attempt_at=now - timedelta(seconds=1000 - n))
        for n in range(settings.MESSAGE_DELIVERY_BATCH_SIZE)
    ]

    assert messages_deliver(message_pks=[own.pk], claim_due=True) == []

    # Its own message first, then the oldest due, up to MESSAGE_DELIVERY_BATCH_SIZE in all.
    sent = [own, *due[:-1]]
    assert sorted(sms.message_id for sms in locmem.outbox) == sorted(m.message_id for m in sent)
    newest = due[-1]
    newest.refresh_from_db()
    assert (newest.status, newest.attempts) == ("queued", 0)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_batch_never_takes_a_message_before_its_next_attempt_nor_one_waiting_for_its_retry(user) -> None:
    now = timezone.now()
    own = MessageFactory(account_id=user.account_id)
    not_due = MessageFactory(account_id=user.account_id, next_attempt_at=now + timedelta(minutes=5))
    # Refused once: its retry task sends it (taking it here would start a second series of retries).
    refused_waiting = MessageFactory(account_id=user.account_id, attempts=1, next_attempt_at=now + timedelta(minutes=5))
    refused_due = MessageFactory(account_id=user.account_id, attempts=1, next_attempt_at=now - timedelta(seconds=1))

    assert messages_deliver(message_pks=[own.pk], claim_due=True) == []

    assert [sms.message_id for sms in locmem.outbox] == [own.message_id]
    rows = Message.objects.filter(pk__in=[not_due.pk, refused_waiting.pk, refused_due.pk])
    assert sorted(rows.values_list("status", "attempts")) == [("queued", 0), ("queued", 1), ("queued", 1)]


@pytest.mark.django_db
def test_a_batch_run_in_process_sends_only_its_own_messages(user) -> None:
    own = MessageFactory(account_id=user.account_id)
    other = MessageFactory(account_id=user.account_id)

    deliver_messages_task.delay([own.pk])  # eager: inside the caller's request

    assert [sms.message_id for sms in locmem.outbox] == [own.message_id]
    other.refresh_from_db()
    assert other.status == "queued"


@pytest.mark.django_db
def test_a_redelivered_batch_leaves_a_refused_message_to_its_retry(user) -> None:
    message = MessageFactory(account_id=user.account_id, attempts=1, last_error="503", next_attempt_at=timezone.now())

    deliver_messages_task.delay([message.pk])  # the batch again after a crash past its commit

    assert locmem.outbox == []
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)


@pytest.mark.django_db
def test_a_batch_records_each_sent_message_with_its_event_and_its_callback(user) -> None:
    other_account = uuid.uuid4()
    CallbackSettings.objects.create(account_id=user.account_id, default_url="https://hooks.example.com/default")
    by_default, also_by_default = MessageFactory.create_batch(2, account_id=user.account_id)
    named = MessageFactory(account_id=other_account, status_callback="https://hooks.example.com/named")
    silent = MessageFactory(account_id=other_account)
    batch = [by_default, also_by_default, named, silent]

    deliver_messages_task.delay([m.pk for m in batch])

    rows = {m.pk: m for m in Message.objects.filter(pk__in=[m.pk for m in batch])}
    outbox = {sms.message_id: sms.provider_message_id for sms in locmem.outbox}
    for message in batch:
        row = rows[message.pk]
        assert (row.status, row.attempts, row.provider_message_id) == ("sent", 1, outbox[message.message_id])
        assert row.sent_at is not None
    sent_events = OutboxEvent.objects.filter(event_type="message.sent")
    assert sorted(e.payload["message_id"] for e in sent_events) == sorted(m.message_id for m in batch)
    assert all(e.created_at and e.payload["attempts"] == 1 for e in sent_events)
    callbacks = StatusCallback.objects.all()
    assert sorted((c.message_id, c.url, c.payload["status"]) for c in callbacks) == sorted(
        [
            (by_default.pk, "https://hooks.example.com/default", "sent"),
            (also_by_default.pk, "https://hooks.example.com/default", "sent"),
            (named.pk, "https://hooks.example.com/named", "sent"),
        ]
    )
