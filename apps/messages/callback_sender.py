"""Sending one status callback: signed, to a checked address, in order per message, with backoff until given up."""

import json
import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import safe_http, signatures
from apps.core.queueing import enqueue_on_commit

from .callback_tasks import send_status_callback_task
from .models import CallbackSettings, Message, StatusCallback, StatusCallbackAttempt

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60 * 60
ERROR_MAX_LENGTH = 1000
USER_AGENT = "status-callbacks/1"


def retry_countdown(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: doubling from CALLBACK_RETRY_BACKOFF_SECONDS, at most an hour, plus
    up to one base period of jitter."""
    base = float(settings.CALLBACK_RETRY_BACKOFF_SECONDS)
    jitter = random.uniform(0, base)  # noqa: S311 (spreads retries; not a secret)
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS) + jitter


def status_callback_send(*, callback_pk: int) -> float | None:
    """Make one attempt at a pending callback whose turn it is; returns the seconds until its retry, or None
    when there is nothing more to do (delivered, given up, not pending, or waiting behind an earlier one).

    The row stays locked while the POST runs (bounded by CALLBACK_TIMEOUT_SECONDS), so a duplicate task waits
    and then finds it done. Once it is done, the message's next pending callback is enqueued."""
    with transaction.atomic(durable=True):
        callback = StatusCallback.objects.select_for_update().filter(pk=callback_pk).first()
        if callback is None or not _its_turn(callback):
            return None
        answer_code, error, permanent = _attempt(callback)
        retry_in = _record(callback, answer_code=answer_code, error=error, permanent=permanent)
        if retry_in is None:
            _enqueue_next(callback)
    return retry_in


def _its_turn(callback: StatusCallback) -> bool:
    if callback.state != StatusCallback.State.PENDING:
        return False
    # A retry already scheduled for later (this task is a duplicate) keeps its time.
    if callback.next_attempt_at > timezone.now() + timedelta(seconds=1):
        return False
    earlier = StatusCallback.objects.filter(
        message_id=callback.message_id, state=StatusCallback.State.PENDING, pk__lt=callback.pk
    )
    return not earlier.exists()


def _attempt(callback: StatusCallback) -> tuple[int | None, str, bool]:
    """POST the callback once: (answer status code or None, error or "", whether retrying cannot help)."""
    account_id = Message.objects.values_list("account_id", flat=True).get(pk=callback.message_id)
    secret = CallbackSettings.objects.filter(account_id=account_id).values_list("secret", flat=True).first()
    if not secret:
        return None, "The account has no callback signing secret.", True
    body = json.dumps(callback.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signatures.signed_headers(secret=secret, body=body),
    }
    started = time.monotonic()
    try:
        answer = safe_http.post(
            callback.url,
            body,
            headers=headers,
            timeout=settings.CALLBACK_TIMEOUT_SECONDS,
            allowed_hosts=settings.CALLBACK_ALLOWED_HOSTS,
        )
    except safe_http.UnsafeDestination as exc:
        return _logged(callback, started, None, f"Refused: {exc}"), f"Refused: {exc}", True
    except safe_http.SendFailed as exc:
        return _logged(callback, started, None, str(exc)), str(exc), False
    error = "" if 200 <= answer.status < 300 else f"The receiver answered {answer.status}."
    return _logged(callback, started, answer.status, error), error, False


def _logged(callback: StatusCallback, started: float, status_code: int | None, error: str) -> int | None:
    StatusCallbackAttempt.objects.create(
        callback=callback,
        status_code=status_code,
        error=error[:ERROR_MAX_LENGTH],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    return status_code


def _record(callback: StatusCallback, *, answer_code: int | None, error: str, permanent: bool) -> float | None:
    now = timezone.now()
    callback.attempts += 1
    callback.last_status_code = answer_code
    callback.last_error = error[:ERROR_MAX_LENGTH]
    retry_in = None
    if not error:
        callback.state = StatusCallback.State.DELIVERED
        callback.finished_at = now
    elif permanent or callback.attempts >= settings.CALLBACK_MAX_ATTEMPTS:
        callback.state = StatusCallback.State.GAVE_UP
        callback.finished_at = now
        logger.warning("Gave up status callback %s after %d attempts: %s", callback.event_id, callback.attempts, error)
    else:
        retry_in = retry_countdown(callback.attempts)
        callback.next_attempt_at = now + timedelta(seconds=retry_in)
    callback.save(
        update_fields=["attempts", "last_status_code", "last_error", "state", "finished_at", "next_attempt_at"]
    )
    return retry_in


def _enqueue_next(callback: StatusCallback) -> None:
    following = (
        StatusCallback.objects.filter(message_id=callback.message_id, state=StatusCallback.State.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        enqueue_on_commit(send_status_callback_task, following)
