"""Delivery through a real Celery worker on the broker (RabbitMQ) and PostgreSQL, as in production."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messages.models import Message
from tests.users.factories import UserFactory

from .factories import MessageFactory
from .helpers import MESSAGES_URL, wait_until_sent, warm_up_workers


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_messages_created_through_the_api_reach_sent_on_a_real_worker(celery_worker_process, auth_client) -> None:
    client = auth_client(UserFactory())
    payloads = [
        {"sender_number": "+15551230001", "receiver_number": f"+4420794609{n:02d}", "body": f"worker test {n}"}
        for n in range(5)
    ]

    responses = [client.post(MESSAGES_URL, payload, format="json") for payload in payloads]

    assert [r.status_code for r in responses] == [201] * 5
    assert {r.json()["status"] for r in responses} == {"queued"}
    ids = [r.json()["message_id"] for r in responses]
    pks = list(Message.objects.filter(message_id__in=ids).values_list("pk", flat=True))
    wait_until_sent([celery_worker_process], pks)
    # The locmem outbox lives in the worker process: the database is what this process can check.
    delivered = Message.objects.filter(message_id__in=ids)
    assert sorted(delivered.values_list("status", "attempts")) == [("sent", 1)] * 5
    assert all(m.provider_message_id.startswith("locmem-") and m.sent_at for m in delivered)
    body = client.get(f"{MESSAGES_URL}{ids[0]}/").json()
    assert (body["status"], body["attempts"]) == ("sent", 1)


GATEWAY_DELAY_SECONDS = 0.2  # a real gateway's latency


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_one_batch_on_a_real_worker_takes_the_other_due_messages_and_none_before_its_time(
    start_http_worker, start_gateway
) -> None:
    from apps.messages.tasks import deliver_messages_task

    slow_gateway = start_gateway(GATEWAY_DELAY_SECONDS)
    worker = start_http_worker(slow_gateway)
    due = MessageFactory.create_batch(30)  # accepted, their batches lost: only the one task below names any
    not_due = MessageFactory(next_attempt_at=timezone.now() + timedelta(minutes=5))
    waiting_for_retry = MessageFactory(attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=5))

    deliver_messages_task.delay([due[0].pk])
    wait_until_sent([worker], [m.pk for m in due])

    rows = Message.objects.filter(pk__in=[m.pk for m in due])
    assert sorted(rows.values_list("status", "attempts")) == [("sent", 1)] * 30
    assert (slow_gateway.posts, len(slow_gateway.keys)) == (30, 30)
    later = Message.objects.filter(pk__in=[not_due.pk, waiting_for_retry.pk])
    assert sorted(later.values_list("status", "attempts")) == [("queued", 0), ("queued", 1)]


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_concurrent_batches_on_a_real_worker_send_each_message_once(start_http_worker, start_gateway) -> None:
    from apps.messages.tasks import deliver_messages_task

    slow_gateway = start_gateway(GATEWAY_DELAY_SECONDS)
    worker = start_http_worker(slow_gateway)
    # Both worker processes up and connected, so the batches below overlap.
    warm_up_workers([worker], MessageFactory.create_batch(2))
    messages = MessageFactory.create_batch(300)

    # Small batches, as a trickle of creates makes them: each of the 2 worker processes takes what is due, up to
    # 100 at a time, while the other's sends are in flight.
    for start in range(0, len(messages), 3):
        deliver_messages_task.delay([m.pk for m in messages[start : start + 3]])
    wait_until_sent([worker], [m.pk for m in messages])

    rows = Message.objects.filter(pk__in=[m.pk for m in messages])
    assert sorted(rows.values_list("status", "attempts")) == [("sent", 1)] * 300
    assert (slow_gateway.posts, len(slow_gateway.keys)) == (302, 302)
