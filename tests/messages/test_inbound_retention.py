"""Body retention of inbound messages: past MESSAGE_BODY_RETENTION_DAYS (by `received_at`) a text no longer
receiving parts has its body null, `redacted_at` set and its parts' bodies emptied; its `message.inbound` event
keeps the body until it is delivered or given up, then loses it too."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from apps.messages.callbacks.services import status_callback_send
from apps.messages.models import InboundMessage, InboundPart, StatusCallback
from apps.messages.retention.services import message_bodies_redact
from apps.messages.tasks import redact_message_bodies_task
from tests.helpers.receiver import receiver

from .helpers import iso, received_events
from .inbound_helpers import (
    CUSTOMER,
    GATEWAY_SECRET,
    INBOUND_MESSAGES_URL,
    INBOUND_SEARCH_URL,
    OUR_NUMBER,
    STATUS_CALLBACK_URL,
    inbound_body,
    own_number,
    post_inbound,
)

pytestmark = pytest.mark.django_db

RETENTION_DAYS = 30


@pytest.fixture(autouse=True)
def _retention_gateway_and_local_receivers(settings) -> None:
    settings.MESSAGE_BODY_RETENTION_DAYS = RETENTION_DAYS
    settings.SMS_GATEWAY_RECEIPT_SECRET = GATEWAY_SECRET
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]


def days_ago(days: int) -> Any:
    return timezone.now() - timedelta(days=days)


def text(
    account_id: Any, *bodies: str, days: int, status: str = "complete", parts: int | None = None
) -> InboundMessage:
    """An inbound text received `days` ago, in one part per body."""
    inbound = InboundMessage.objects.create(
        account_id=account_id,
        backend="http",
        from_number=CUSTOMER,
        to_number=OUR_NUMBER,
        body="".join(bodies),
        reference="ref-1" if len(bodies) > 1 or parts else "",
        parts=parts or len(bodies),
        parts_received=len(bodies),
        status=status,
        received_at=days_ago(days),
        completed_at=days_ago(days) if status == "complete" else None,
    )
    for number, body in enumerate(bodies, start=1):
        InboundPart.objects.create(
            inbound=inbound, backend="http", gateway_message_id=f"{inbound.pk}-{number}", number=number, body=body
        )
    return inbound


def event(inbound: InboundMessage, *, state: str, days: int) -> StatusCallback:
    return StatusCallback.objects.create(
        inbound=inbound,
        url="https://hooks.example.com/inbound",
        payload={"event": "message.inbound", "message_id": inbound.message_id, "body": inbound.body},
        state=state,
        created_at=days_ago(days),
    )


def part_bodies(inbound: InboundMessage) -> list[str]:
    return list(inbound.part_rows.order_by("number").values_list("body", flat=True))


def test_texts_past_the_retention_are_redacted_with_their_parts(user) -> None:
    complete = text(user.account_id, "Good ", "morning", days=RETENTION_DAYS + 1)
    incomplete = text(user.account_id, "Good ", days=RETENTION_DAYS + 1, status="incomplete", parts=2)
    receiving = text(user.account_id, "Still ", days=RETENTION_DAYS + 1, status="receiving", parts=2)
    recent = text(user.account_id, "Recent", days=RETENTION_DAYS - 1)

    assert redact_message_bodies_task.apply().result == 2

    for redacted in (complete, incomplete):
        redacted.refresh_from_db()
        assert (redacted.body, redacted.redacted_at is not None) == (None, True)
        assert set(part_bodies(redacted)) == {""}
    for kept, bodies in ((receiving, ["Still "]), (recent, ["Recent"])):
        kept.refresh_from_db()
        assert (kept.body, kept.redacted_at, part_bodies(kept)) == ("".join(bodies), None, bodies)


def test_without_a_retention_no_inbound_body_is_redacted(user, settings) -> None:
    settings.MESSAGE_BODY_RETENTION_DAYS = None
    inbound = text(user.account_id, "Hello", days=3650)
    delivered = event(inbound, state="delivered", days=3650)

    assert message_bodies_redact() == 0

    inbound.refresh_from_db()
    delivered.refresh_from_db()
    assert (inbound.body, inbound.redacted_at, part_bodies(inbound)) == ("Hello", None, ["Hello"])
    assert delivered.payload["body"] == "Hello"


def test_the_inbound_sweep_goes_in_batches(user) -> None:
    for _ in range(5):
        text(user.account_id, "Hello", days=RETENTION_DAYS + 1)

    assert message_bodies_redact(batch_size=2) == 5
    assert set(InboundMessage.objects.values_list("body", flat=True)) == {None}


def test_final_events_past_the_retention_lose_their_body_and_pending_ones_keep_it(user) -> None:
    inbound = text(user.account_id, "Hello", days=RETENTION_DAYS + 1)
    delivered = event(inbound, state="delivered", days=RETENTION_DAYS + 1)
    gave_up = event(inbound, state="gave_up", days=RETENTION_DAYS + 1)
    pending = event(inbound, state="pending", days=RETENTION_DAYS + 1)
    recent = event(text(user.account_id, "Hi", days=RETENTION_DAYS - 1), state="delivered", days=RETENTION_DAYS - 1)

    assert message_bodies_redact() == 1 + 2  # the text, and its two final events

    bodies = {row.pk: row.payload["body"] for row in StatusCallback.objects.all()}
    assert bodies == {delivered.pk: None, gave_up.pk: None, pending.pk: "Hello", recent.pk: "Hi"}
    delivered.refresh_from_db()
    assert delivered.payload == {"event": "message.inbound", "message_id": inbound.message_id, "body": None}


def test_a_pending_event_still_carries_its_body_and_loses_it_once_delivered(api_client, user_client, user) -> None:
    own_number(user.account_id)
    with receiver() as hook:
        secret = user_client.patch(STATUS_CALLBACK_URL, {"default_url": hook.url}, format="json").json()["secret"]
        # On-commit work does not run here: the event stays pending, as behind a receiver that is down.
        post_inbound(api_client, inbound_body("gw-1", "Call me back"))
        InboundMessage.objects.update(received_at=days_ago(RETENTION_DAYS + 1))
        StatusCallback.objects.update(created_at=days_ago(RETENTION_DAYS + 1))
        pending = StatusCallback.objects.get()

        assert message_bodies_redact() == 1
        assert InboundMessage.objects.get().body is None
        assert StatusCallback.objects.get().payload["body"] == "Call me back"

        assert status_callback_send(callback_pk=pending.pk) is None
        assert [e["body"] for e in received_events(hook, secret)] == ["Call me back"]

    assert StatusCallback.objects.get().state == "delivered"
    assert message_bodies_redact() == 1
    assert StatusCallback.objects.get().payload["body"] is None


def test_the_reads_show_a_redacted_text_as_null_with_when(user_client, user) -> None:
    inbound = text(user.account_id, "Hello", days=RETENTION_DAYS + 1)
    message_bodies_redact()
    inbound.refresh_from_db()

    detail = user_client.get(f"{INBOUND_MESSAGES_URL}{inbound.message_id}/").json()
    listed = user_client.get(INBOUND_MESSAGES_URL).json()["results"]
    found = user_client.get(INBOUND_SEARCH_URL, {"message_id": inbound.message_id}).json()["results"]

    assert detail == {
        "message_id": inbound.message_id,
        "direction": "inbound",
        "account_id": str(user.account_id),
        "from_number": CUSTOMER,
        "to_number": OUR_NUMBER,
        "body": None,
        "status": "complete",
        "parts": 1,
        "parts_received": 1,
        "backend": "http",
        "received_at": iso(inbound.received_at),
        "completed_at": iso(inbound.completed_at),
        "redacted_at": iso(inbound.redacted_at),
    }
    assert listed == found == [detail]


def test_a_late_part_of_a_redacted_text_starts_a_text_of_its_own(api_client, user) -> None:
    own_number(user.account_id)
    post_inbound(api_client, inbound_body("gw-p1", "Good ", reference="ref-7", part=1, parts=2))
    InboundMessage.objects.update(status="incomplete", received_at=days_ago(RETENTION_DAYS + 1))
    message_bodies_redact()

    late = post_inbound(api_client, inbound_body("gw-p2", "morning", reference="ref-7", part=2, parts=2))

    redacted, started = InboundMessage.objects.order_by("received_at")
    assert (late.status_code, late.json()["message_id"]) == (201, started.message_id)
    assert (redacted.body, redacted.parts_received, part_bodies(redacted)) == (None, 1, [""])
    assert (started.body, started.status, started.redacted_at) == ("morning", "receiving", None)


def test_the_admin_shows_a_redacted_text_and_filters_by_it(admin_user) -> None:
    client = Client()
    client.force_login(admin_user)
    redacted = text(admin_user.account_id, "Quokka sighting", days=RETENTION_DAYS + 1)
    kept = text(admin_user.account_id, "New", days=1)
    message_bodies_redact()
    redacted.refresh_from_db()

    listing = client.get("/admin/messaging/inboundmessage/").content.decode()
    only_redacted = client.get("/admin/messaging/inboundmessage/?redacted_at__isempty=0").content.decode()
    page = client.get(f"/admin/messaging/inboundmessage/{redacted.pk}/change/").content.decode()

    assert f"redacted {redacted.redacted_at:%Y-%m-%d %H:%M} UTC" in listing
    assert "kept" in listing
    assert redacted.message_id in only_redacted
    assert kept.message_id not in only_redacted
    assert "Quokka sighting" not in page


@pytest.mark.postgres
def test_the_sweep_s_candidates_are_read_through_their_partial_indexes(user) -> None:
    from apps.messages.retention import services

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables would be scanned whole, as they should be
    cutoff = days_ago(RETENTION_DAYS)

    inbound_plan = services._inbound_past_retention(cutoff).explain()
    event_plan = services._inbound_events_past_retention(cutoff).explain()

    assert "inbound_body_kept_idx" in inbound_plan, inbound_plan
    assert "cb_inbound_body_kept_idx" in event_plan, event_plan


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_locked_text_and_a_locked_event_are_left_for_a_later_sweep(user) -> None:
    locked_text = text(user.account_id, "Busy", days=RETENTION_DAYS + 1)
    free_text = text(user.account_id, "Free", days=RETENTION_DAYS + 1)
    locked_event = event(free_text, state="delivered", days=RETENTION_DAYS + 1)
    locked, release = threading.Event(), threading.Event()

    def hold_locks() -> None:
        try:
            with transaction.atomic():
                InboundMessage.objects.select_for_update().get(pk=locked_text.pk)
                StatusCallback.objects.select_for_update().get(pk=locked_event.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_locks)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        assert message_bodies_redact() == 1  # the free text alone: nothing waited for a lock
    finally:
        release.set()
        holder.join(timeout=10)

    assert InboundMessage.objects.get(pk=locked_text.pk).body == "Busy"
    assert StatusCallback.objects.get(pk=locked_event.pk).payload["body"] == "Free"
    assert message_bodies_redact() == 2
    assert InboundMessage.objects.get(pk=locked_text.pk).body is None
    assert StatusCallback.objects.get(pk=locked_event.pk).payload["body"] is None
