"""Body retention: past MESSAGE_BODY_RETENTION_DAYS, or once final when the create asked it, a body becomes null
and `redacted_at` says when; a message not yet final keeps its body."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.messages.models import Message
from apps.messages.retention.services import message_bodies_redact
from apps.messages.tasks import redact_message_bodies_task

from .factories import MessageFactory
from .helpers import MESSAGES_URL, detail_url, message_json

pytestmark = pytest.mark.django_db


def aged(days: int, **fields) -> Message:
    return MessageFactory(created_at=timezone.now() - timedelta(days=days), **fields)


def test_bodies_past_the_retention_are_redacted_and_the_api_shows_it(user_client, user, settings) -> None:
    settings.MESSAGE_BODY_RETENTION_DAYS = 30
    old = [aged(31, account_id=user.account_id, status=status) for status in Message.FINAL_STATUSES]
    old_pending = [aged(31, status="queued"), aged(31, status="scheduled")]
    recent = aged(29, status="sent")

    redacted = redact_message_bodies_task.apply().result

    assert redacted == len(old)
    for message in old:
        message.refresh_from_db()
        assert (message.body, message.redacted_at is not None) == (None, True)
        body = user_client.get(detail_url(message.message_id)).json()
        assert body == message_json(message)
        assert (body["body"], body["redacted_at"] is not None) == (None, True)
    for message in [*old_pending, recent]:
        message.refresh_from_db()
        assert (message.body is not None, message.redacted_at) == (True, None)


def test_without_a_retention_no_body_is_redacted(settings) -> None:
    settings.MESSAGE_BODY_RETENTION_DAYS = None
    message = aged(3650, status="delivered")

    assert message_bodies_redact() == 0

    message.refresh_from_db()
    assert message.body is not None


def test_the_retention_sweep_goes_in_batches(settings) -> None:
    settings.MESSAGE_BODY_RETENTION_DAYS = 1
    for _ in range(5):
        aged(2, status="sent")

    assert message_bodies_redact(batch_size=2) == 5
    assert set(Message.objects.values_list("body", flat=True)) == {None}


def test_redact_body_after_send_redacts_once_final_and_not_before(
    user_client, payload, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        sent = user_client.post(MESSAGES_URL, {**payload, "redact_body_after_send": True}, format="json").json()
    scheduled_at = (timezone.now() + timedelta(minutes=5)).isoformat()
    waiting = user_client.post(
        MESSAGES_URL, {**payload, "redact_body_after_send": True, "send_at": scheduled_at}, format="json"
    ).json()
    kept = user_client.post(MESSAGES_URL, payload, format="json").json()  # did not ask; no retention set

    assert sent["redact_body_after_send"] is True
    assert Message.objects.get(message_id=sent["message_id"]).status == "sent"
    assert message_bodies_redact() == 1

    bodies = {m["message_id"]: user_client.get(detail_url(m["message_id"])).json() for m in (sent, waiting, kept)}
    assert (bodies[sent["message_id"]]["body"], bodies[sent["message_id"]]["redacted_at"] is not None) == (None, True)
    assert (bodies[waiting["message_id"]]["body"], bodies[waiting["message_id"]]["redacted_at"]) == (
        "Hello there",
        None,
    )
    assert bodies[kept["message_id"]]["body"] == "Hello there"


def test_a_redacted_failed_message_is_not_retried(admin_user) -> None:
    from apps.messages.delivery.services import message_retry_failed

    message = MessageFactory(status="failed", attempts=6, body=None, redacted_at=timezone.now())

    assert message_retry_failed(messages=Message.objects.all(), by=admin_user) == 0
    assert Message.objects.get(pk=message.pk).status == "failed"


def test_the_admin_shows_a_redacted_body_and_filters_by_it_and_by_segments(admin_user) -> None:
    client = Client()
    client.force_login(admin_user)
    redacted_at = timezone.now()
    redacted = MessageFactory(body=None, redacted_at=redacted_at, status="sent", segments=2)
    kept = MessageFactory(segments=1)

    listing = client.get("/admin/messaging/message/").content.decode()
    only_redacted = client.get("/admin/messaging/message/?redacted_at__isempty=0").content.decode()
    two_segments = client.get("/admin/messaging/message/?segments=2").content.decode()

    assert f"redacted {redacted_at:%Y-%m-%d %H:%M} UTC" in listing
    assert redacted.message_id in only_redacted
    assert kept.message_id not in only_redacted
    assert redacted.message_id in two_segments
    assert kept.message_id not in two_segments
