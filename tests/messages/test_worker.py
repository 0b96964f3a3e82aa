"""Delivery through a real Celery worker on the broker (RabbitMQ) and PostgreSQL, as in production."""

import time

import pytest

from apps.messages.models import Message
from tests.users.factories import UserFactory

from .helpers import MESSAGES_URL

DELIVERY_TIMEOUT_SECONDS = 60


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
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert celery_worker_process.poll() is None, "the worker exited"
        if Message.objects.filter(message_id__in=ids, status=Message.Status.SENT).count() == len(ids):
            break
        time.sleep(0.2)
    # The locmem outbox lives in the worker process: the database is what this process can check.
    delivered = Message.objects.filter(message_id__in=ids)
    assert sorted(delivered.values_list("status", "attempts")) == [("sent", 1)] * 5
    assert all(m.provider_message_id.startswith("locmem-") and m.sent_at for m in delivered)
    body = client.get(f"{MESSAGES_URL}{ids[0]}/").json()
    assert (body["status"], body["attempts"]) == ("sent", 1)
