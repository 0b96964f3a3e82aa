"""Inbound messages under real parallel posts on PostgreSQL: the unique constraints keep one row per gateway id and
one open set of parts per reference, whatever the interleaving."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from apps.messages.models import InboundMessage, InboundPart
from tests.users.factories import UserFactory

from .inbound_helpers import GATEWAY_SECRET, inbound_body, own_number, post_inbound

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture(autouse=True)
def _gateway_secret(settings) -> None:
    settings.SMS_GATEWAY_RECEIPT_SECRET = GATEWAY_SECRET


def post_together(payloads: list[dict[str, Any]]) -> list[Any]:
    """POST every payload at once, each from its own thread and database connection."""
    barrier = threading.Barrier(len(payloads))

    def post(payload: dict[str, Any]) -> Any:
        try:
            barrier.wait(timeout=10)
            return post_inbound(APIClient(), payload)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return [future.result(timeout=30) for future in [pool.submit(post, p) for p in payloads]]


def test_parallel_resends_of_one_message_store_it_once() -> None:
    own_number(UserFactory().account_id)

    answers = post_together([inbound_body("gw-1", "Hello")] * THREADS)

    assert sorted(a.status_code for a in answers) == [200] * (THREADS - 1) + [201]
    assert len({a.json()["message_id"] for a in answers}) == 1
    assert (InboundMessage.objects.count(), InboundPart.objects.count()) == (1, 1)


def test_parallel_parts_of_a_new_text_each_twice_make_one_complete_message() -> None:
    own_number(UserFactory().account_id)
    parts = [
        inbound_body(f"gw-{number}", text, reference="9", part=number, parts=4)
        for number, text in enumerate(["One ", "two ", "three ", "four."], start=1)
    ]

    answers = post_together(parts + parts)

    assert sorted(a.status_code for a in answers) == [200] * 4 + [201] * 4
    assert len({a.json()["message_id"] for a in answers}) == 1
    stored = InboundMessage.objects.get()
    assert (stored.status, stored.body, stored.parts_received) == ("complete", "One two three four.", 4)
    assert InboundPart.objects.count() == 4
