"""Idempotency keys are kept IDEMPOTENCY_KEY_TTL_HOURS: a replay after that is a new message, and beat prunes them."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.messages.models import IdempotencyKey, Message
from apps.messages.tasks import prune_idempotency_keys_task
from config.celery import app

from .helpers import MESSAGES_URL

KEY = "retry-3f9a"


def _age_keys(hours: float) -> None:
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=hours))


@pytest.mark.django_db
def test_a_replay_within_the_window_answers_the_first_message(user_client, payload) -> None:
    first = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    _age_keys(settings.IDEMPOTENCY_KEY_TTL_HOURS - 0.1)

    retry = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert (retry.status_code, retry["Idempotent-Replayed"]) == (201, "true")
    assert retry.json()["message_id"] == first.json()["message_id"]
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_a_replay_after_the_window_creates_a_new_message_even_before_the_prune(user_client, payload) -> None:
    first = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    _age_keys(settings.IDEMPOTENCY_KEY_TTL_HOURS + 0.1)

    later = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later
    assert later.json()["message_id"] != first.json()["message_id"]
    assert Message.objects.count() == 2
    key = IdempotencyKey.objects.get()
    assert key.message.message_id == later.json()["message_id"], "the key now answers the new message"
    other_body = user_client.post(
        MESSAGES_URL, {**payload, "body": "Something else"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert other_body.status_code == 409, "and counts again for its own window"


@pytest.mark.django_db
def test_the_beat_task_deletes_the_keys_past_the_window_only(auth_client, user, other_user, payload) -> None:
    auth_client(user).post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="old")
    _age_keys(settings.IDEMPOTENCY_KEY_TTL_HOURS + 1)
    auth_client(other_user).post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="fresh")

    assert prune_idempotency_keys_task.delay().get() == 1

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    assert Message.objects.count() == 2, "the messages stay; only their keys go"
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert prune_idempotency_keys_task.name in schedule
    assert prune_idempotency_keys_task.name in app.tasks
