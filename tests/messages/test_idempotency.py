"""The Idempotency-Key header on create: a retry answers the first answer; another body with the key is 409."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from apps.core.models import AuditEvent
from apps.messages.acceptance.idempotency import IdempotencyConflict, request_fingerprint
from apps.messages.acceptance.services import message_create
from apps.messages.models import IdempotencyKey, Message
from tests.users.factories import UserFactory

from .factories import MessageFactory
from .helpers import MESSAGES_URL

KEY = "retry-3f9a"


@pytest.mark.django_db
def test_a_retry_with_the_same_key_and_body_answers_the_first_answer(
    user_client, payload, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert Message.objects.get().status == "sent"  # delivered meanwhile: the replay still shows the first answer

    retry = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Message.objects.count() == 1
    assert AuditEvent.objects.filter(action="message.created").count() == 1


@pytest.mark.django_db
def test_the_same_body_means_the_same_normalised_request(user_client, payload) -> None:
    first = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    spaced = {**payload, "sender_number": "+1 555 123 0001", "ignored": "field"}

    retry = user_client.post(MESSAGES_URL, spaced, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_409_and_writes_nothing(user_client, payload) -> None:
    user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    response = user_client.post(
        MESSAGES_URL, {**payload, "body": "Something else"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This Idempotency-Key was already used with a different request body.",
        "code": "idempotency_conflict",
    }
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_every_request_creates(user_client, payload) -> None:
    user_client.post(MESSAGES_URL, payload, format="json")
    user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="  ")

    assert Message.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_a_different_key_creates_another_message(user_client, payload) -> None:
    first = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    second = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY + "-2")

    assert first.json()["message_id"] != second.json()["message_id"]
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_keys_belong_to_the_callers_account(user_client, auth_client, other_user, payload) -> None:
    mine = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    theirs = auth_client(other_user).post(
        MESSAGES_URL, {**payload, "body": "Theirs"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )

    assert theirs.status_code == 201
    assert theirs.json()["message_id"] != mine.json()["message_id"]
    assert theirs.json()["account_id"] == str(other_user.account_id)


@pytest.mark.django_db
def test_an_overlong_key_is_400(user_client, payload) -> None:
    response = user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)

    assert response.status_code == 400
    assert response.json() == {"Idempotency-Key": ["Ensure this header has no more than 255 characters."]}
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_an_invalid_body_with_a_used_key_is_still_400(user_client, payload) -> None:
    user_client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    response = user_client.post(MESSAGES_URL, {**payload, "body": ""}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == 400


def _post_in_thread(auth_client, user, payload, *, barrier: threading.Barrier | None = None):
    client = auth_client(user)
    try:
        if barrier is not None:
            barrier.wait(timeout=10)
        return client.post(MESSAGES_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_the_same_key_create_one_message(auth_client, payload) -> None:
    user = UserFactory()
    barrier = threading.Barrier(8)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(_post_in_thread, auth_client, user, payload, barrier=barrier) for _ in range(8)]
        responses = [future.result(timeout=30) for future in futures]

    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.json()["message_id"] for r in responses}) == 1
    assert Message.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_that_loses_the_insert_race_answers_from_the_winner(auth_client, payload) -> None:
    """Deterministic race: the winner's key row is written but not committed when the retry checks for it, so the
    retry inserts, waits on the unique index, fails once the winner commits, and answers the winner's message."""
    user = UserFactory()
    with ThreadPoolExecutor(max_workers=1) as pool, transaction.atomic():
        winner = MessageFactory(account_id=user.account_id, **payload)
        IdempotencyKey.objects.create(
            account_id=user.account_id,
            key=KEY,
            message=winner,
            request_fingerprint=request_fingerprint(account_id=user.account_id, **payload),
        )
        retry = pool.submit(_post_in_thread, auth_client, user, payload)
        _wait_until_a_backend_waits_on_a_lock()
    response = retry.result(timeout=30)

    assert response.status_code == 201
    assert response.json()["message_id"] == winner.message_id
    assert response["Idempotent-Replayed"] == "true"
    assert list(Message.objects.values_list("message_id", flat=True)) == [winner.message_id]


def _wait_until_a_backend_waits_on_a_lock(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Activity statistics are a snapshot per transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the retry never waited on the winner's uncommitted key")


@pytest.mark.django_db
def test_the_service_replays_and_conflicts_without_http(user) -> None:
    fields = {
        "account_id": user.account_id,
        "sender_number": "+15551230001",
        "receiver_number": "+15551230002",
        "body": "hi",
    }
    first = message_create(actor=user, idempotency_key=KEY, **fields)
    again = message_create(actor=user, idempotency_key=KEY, **fields)

    assert (first.replayed, again.replayed) == (False, True)
    assert again.message.message_id == first.message.message_id
    with pytest.raises(IdempotencyConflict, match="different request body") as raised:
        message_create(actor=user, idempotency_key=KEY, **{**fields, "body": "other"})
    assert raised.value.status_code == 409
