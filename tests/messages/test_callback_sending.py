"""How a callback attempt holds the system: no transaction across the POST, every attempt counted even when cut
short, a slow receiver holding only its own account, and a create in `make run` never waiting on a receiver."""

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.db import connection, connections, transaction
from django.utils import timezone

from apps.messages.callbacks.services import UNFINISHED, status_callback_send, status_callbacks_requeue_due
from apps.messages.models import CallbackSettings, Message, StatusCallback
from tests.helpers.receiver import Received, receiver
from tests.users.factories import UserFactory

from .helpers import MESSAGES_URL

SECRET_URL = "/api/v1/accounts/me/status-callback/secret/"


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]


def pending_callback(url: str, *, account_id=None) -> StatusCallback:
    if account_id is None:
        account_id = UserFactory().account_id
    CallbackSettings.objects.get_or_create(account_id=account_id, defaults={"secret": "whsec_test"})
    message = Message.objects.create(
        account_id=account_id, sender_number="+15551230001", receiver_number="+442079460958", body="Hi"
    )
    return StatusCallback.objects.create(message=message, url=url, payload={"status": "sent"})


@contextmanager
def raised_after(seconds: float, exception: type[BaseException]) -> Iterator[None]:
    """Raise `exception` in this thread after `seconds`, as billiard does at a task's soft time limit (SIGALRM)."""

    def handler(signum: int, frame: object) -> None:
        raise exception()

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.django_db(transaction=True)
def test_no_transaction_or_row_lock_is_held_while_the_receiver_answers() -> None:
    seen: dict[str, object] = {}
    sender = connection  # this thread's connection: the one status_callback_send uses

    def while_posting(request: Received) -> None:
        seen["sender_in_transaction"] = sender.in_atomic_block
        try:
            # Another connection takes the row at once (PostgreSQL refuses NOWAIT on a locked row).
            with transaction.atomic():
                StatusCallback.objects.select_for_update(nowait=True).filter(pk=callback.pk).update(url=callback.url)
            seen["row_free"] = True
        except Exception as exc:
            seen["row_free"] = repr(exc)
        finally:
            connections.close_all()

    with receiver(on_request=while_posting) as hook:
        callback = pending_callback(hook.url)
        assert status_callback_send(callback_pk=callback.pk) is None

    assert seen == {"sender_in_transaction": False, "row_free": True}
    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == ("delivered", 1)


@pytest.mark.django_db
def test_an_attempt_cut_short_by_the_soft_time_limit_is_recorded_failed(settings) -> None:
    settings.CALLBACK_TIMEOUT_SECONDS = 5
    with receiver(drip_headers=0.2) as hook:
        callback = pending_callback(hook.url)
        with raised_after(0.5, SoftTimeLimitExceeded):
            retry_in = status_callback_send(callback_pk=callback.pk)

    callback.refresh_from_db()
    assert [(a.status_code, a.error) for a in callback.attempt_log.all()] == [
        (None, "The attempt was cut short: SoftTimeLimitExceeded.")
    ]
    assert (callback.state, callback.attempts, callback.in_flight_until) == ("pending", 1, None)
    assert retry_in is not None


@pytest.mark.django_db
def test_a_worker_killed_mid_post_leaves_a_counted_attempt_and_the_callback_is_sent_again(settings) -> None:
    settings.CALLBACK_TIMEOUT_SECONDS = 5
    with receiver(drip_headers=0.2) as hook:
        callback = pending_callback(hook.url)
        with raised_after(0.5, SystemExit), pytest.raises(SystemExit):  # the hard limit: nothing runs after it
            status_callback_send(callback_pk=callback.pk)

    callback.refresh_from_db()
    assert [(a.status_code, a.error) for a in callback.attempt_log.all()] == [(None, UNFINISHED)]
    assert (callback.state, callback.attempts, callback.last_error) == ("pending", 1, UNFINISHED)
    assert status_callback_send(callback_pk=callback.pk) is None  # a duplicate task: the lease holds it
    assert len(hook.requests) == 1

    # Once the lease runs out, the callback is sent again (at least once).
    past = timezone.now() - timedelta(seconds=1)
    StatusCallback.objects.filter(pk=callback.pk).update(in_flight_until=past, next_attempt_at=past)
    with receiver(port=hook.port) as back:
        assert status_callback_send(callback_pk=callback.pk) is None
    callback.refresh_from_db()
    assert (callback.state, callback.attempts, len(back.requests)) == ("delivered", 2, 1)


@pytest.mark.django_db(transaction=True)
def test_a_slow_receiver_holds_only_its_own_accounts_callbacks(settings) -> None:
    settings.CALLBACK_MAX_IN_FLIGHT_PER_ACCOUNT = 1
    results: dict[str, Any] = {}

    def while_first_is_in_flight(request: Received) -> None:
        if "same_account" in results:
            return
        try:
            started = time.monotonic()
            results["same_account"] = status_callback_send(callback_pk=second.pk)
            results["other_account"] = status_callback_send(callback_pk=other.pk)
            results["took"] = time.monotonic() - started
        finally:
            connections.close_all()

    with receiver(on_request=while_first_is_in_flight) as slow, receiver() as fast:
        first = pending_callback(slow.url)
        second = pending_callback(slow.url, account_id=Message.objects.get(status_callbacks=first).account_id)
        other = pending_callback(fast.url)
        status_callback_send(callback_pk=first.pk)

    assert 2 <= results["same_account"] <= 3  # tried again in a few seconds, not sent, not counted
    assert results["other_account"] is None
    assert results["took"] < 1
    assert len(slow.requests) == 1
    assert len(fast.requests) == 1
    second.refresh_from_db()
    assert (second.state, second.attempts, second.attempt_log.count()) == ("pending", 0, 0)
    assert StatusCallback.objects.get(pk=other.pk).state == "delivered"


@pytest.mark.django_db
def test_in_make_run_a_create_never_waits_on_the_receiver_and_beats_sweeper_sends(
    user_client, payload, settings, django_capture_on_commit_callbacks
) -> None:
    assert settings.CELERY_TASK_ALWAYS_EAGER  # no broker: tasks run in-process, as in `make run`
    settings.CALLBACK_SEND_IN_PROCESS = False  # `make run`'s setting
    settings.CALLBACK_TIMEOUT_SECONDS = 2
    user_client.post(SECRET_URL)
    with receiver(drip_headers=0.2) as hook:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            answer = user_client.post(MESSAGES_URL, {**payload, "status_callback": hook.url}, format="json")
        took = time.monotonic() - started
        assert hook.requests == []

    assert answer.status_code == 201
    assert took < 1
    assert StatusCallback.objects.get().attempts == 0
    with receiver(port=hook.port) as back, django_capture_on_commit_callbacks(execute=True):
        assert status_callbacks_requeue_due() == 1  # beat's sweeper, beside `make run`
    assert [request.path for request in back.requests] == ["/hooks/status"]
    assert StatusCallback.objects.get().state == "delivered"
