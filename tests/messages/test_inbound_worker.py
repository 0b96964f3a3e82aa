"""Inbound messages on real servers: posted to the API, stored in PostgreSQL, their events sent by a real Celery
worker through RabbitMQ to a receiver on 127.0.0.1, once each and in order."""

import time

import pytest
from rest_framework.test import APIClient

from apps.messages.models import InboundMessage, InboundPart, StatusCallback
from tests.helpers.receiver import receiver
from tests.users.factories import UserFactory

from .helpers import received_events
from .inbound_helpers import (
    GATEWAY_SECRET,
    STATUS_CALLBACK_URL,
    inbound_body,
    own_number,
    post_inbound,
)

DELIVERY_TIMEOUT_SECONDS = 60


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_a_real_worker_delivers_every_inbound_event_once_and_in_order(
    start_celery_worker, auth_client, settings
) -> None:
    settings.SMS_GATEWAY_RECEIPT_SECRET = GATEWAY_SECRET
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    worker = start_celery_worker(CALLBACK_ALLOWED_HOSTS="127.0.0.1")
    user = UserFactory()
    own_number(user.account_id)
    gateway = APIClient()

    with receiver(plan=[500]) as hook:  # the first event is refused once: the others wait behind its retry
        secret = auth_client(user).patch(STATUS_CALLBACK_URL, {"default_url": hook.url}, format="json").json()["secret"]
        answers = [
            post_inbound(gateway, inbound_body("gw-1", "one")),
            post_inbound(gateway, inbound_body("gw-1", "one")),  # a resend
            post_inbound(gateway, inbound_body("gw-2b", "o", reference="r", part=2, parts=2)),
            post_inbound(gateway, inbound_body("gw-3", "three")),
            post_inbound(gateway, inbound_body("gw-2a", "tw", reference="r", part=1, parts=2)),
            post_inbound(gateway, inbound_body("gw-2a", "tw", reference="r", part=1, parts=2)),  # a resend
            post_inbound(gateway, inbound_body("gw-4", "four")),
            post_inbound(gateway, {**inbound_body("gw-5", "nobody's"), "to": "+15550000000"}),
            post_inbound(gateway, inbound_body("gw-6", "forged"), secret="not-the-secret"),
        ]
        deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert worker.poll() is None, "the worker exited"
            if StatusCallback.objects.filter(state="delivered").count() == 4:
                break
            time.sleep(0.2)
        time.sleep(1)  # room for a duplicate to show

    assert [a.status_code for a in answers] == [201, 200, 201, 201, 201, 200, 201, 404, 401]
    events = received_events(hook, secret)
    assert [e["body"] for e in events] == ["one", "one", "three", "two", "four"]  # "one" refused once, then sent
    assert len({e["event_id"] for e in events[1:]}) == 4
    assert list(StatusCallback.objects.order_by("pk").values_list("state", "attempts")) == [
        ("delivered", 2),
        ("delivered", 1),
        ("delivered", 1),
        ("delivered", 1),
    ]
    assert (InboundMessage.objects.count(), InboundPart.objects.count()) == (4, 5)
