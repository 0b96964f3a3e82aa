"""Status callbacks: every status change of a message, and every complete inbound message, is POSTed, signed, to
the URL its account chose.

A status change (or the completion of an inbound message) writes a `StatusCallback` row in its own transaction (the
outbox pattern): nothing is lost when the broker or the receiver is down, and a rolled-back change sends nothing.
`status_callback_send` delivers the rows, at least once, in order per message and, for inbound messages, per
account (the HTTP exchange is in `transport.py`); the beat sweeper picks up rows whose task was lost.

Past 300 lines on purpose: the account's settings decide where every callback goes and whether it can be signed,
and the claim, the send and the record of an attempt guard each other; split, each half would import the other.
"""

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.core.background.backoff import exponential_backoff
from apps.core.background.queueing import enqueue_on_commit, requeue_overdue
from apps.core.exceptions import ApplicationError
from apps.core.observability import audit

from ..backends.errors import shown_error_code
from ..models import (
    ERROR_TEXT_MAX_LENGTH,
    CallbackSettings,
    InboundMessage,
    Message,
    SenderNumber,
    StatusCallback,
    StatusCallbackAttempt,
)
from ..tasks import send_status_callback_task
from ..verified import require_verified_email
from .transport import Outcome, post_callback

logger = logging.getLogger(__name__)

SWEEP_BATCH_SIZE = 500
MAX_BACKOFF_SECONDS = 60 * 60
DEFAULT_URL_CACHE_SECONDS = 10 * 60
# A pending callback this late is one whose task was lost (or is stuck behind a busy queue): enqueue it again.
SWEEP_GRACE = timedelta(seconds=60)


class CallbackSecretMissing(ApplicationError):
    code = "callback_secret_missing"
    default_detail = (
        "Create the account's callback signing secret first: POST /api/v1/accounts/me/status-callback/secret/."
    )


def _default_url_key(account_id: UUID) -> str:
    return f"callbacks:default-url:{account_id}"


def account_default_urls(*, account_ids: set[UUID]) -> dict[UUID, str]:
    """Each account's default callback URL ("" for none), in one cache read (and one query for those it misses):
    every status change of every message asks, and deliveries are the hot path. A settings change replaces the
    cached value once it commits."""
    keys = {_default_url_key(account_id): account_id for account_id in account_ids}
    urls = {keys[key]: str(url) for key, url in cache.get_many(list(keys)).items()}
    missing = account_ids - urls.keys()
    if missing:
        stored = dict(CallbackSettings.objects.filter(account_id__in=missing).values_list("account_id", "default_url"))
        for account_id in missing:
            urls[account_id] = stored.get(account_id) or ""
            # `add`: a value a settings change stored meanwhile is newer than this read and stays.
            cache.add(_default_url_key(account_id), urls[account_id], timeout=DEFAULT_URL_CACHE_SECONDS)
    return urls


def require_callback_secret(*, account_id: UUID) -> None:
    """Raise CallbackSecretMissing unless the account can sign callbacks (a message naming a URL needs it)."""
    if not CallbackSettings.objects.filter(account_id=account_id).exclude(secret="").exists():
        raise CallbackSecretMissing()


@dataclass(frozen=True)
class SettingsChange:
    settings: CallbackSettings
    new_secret: str | None  # shown to the caller once, in the answer of the change that made it


@transaction.atomic(durable=True)
def callback_settings_update(*, account_id: UUID, default_url: str, by: Any) -> SettingsChange:
    """Set (or clear, with "") the account's default callback URL; the first setting makes its secret. Setting
    one needs a verified email (EmailNotVerified); clearing it does not."""
    if default_url:
        require_verified_email(user=by)
    current, _ = CallbackSettings.objects.select_for_update().get_or_create(account_id=account_id)
    new_secret = _new_secret(current) if default_url and not current.secret else None
    audit.record(
        actor=by,
        action="callbacks.default_url_changed",
        target=current,
        object_id=str(account_id),
        changes={"default_url": [current.default_url, default_url]},
    )
    current.default_url = default_url
    current.save()
    transaction.on_commit(
        lambda: cache.set(_default_url_key(account_id), default_url, timeout=DEFAULT_URL_CACHE_SECONDS)
    )
    return SettingsChange(settings=current, new_secret=new_secret)


@transaction.atomic(durable=True)
def callback_secret_rotate(*, account_id: UUID, by: Any) -> SettingsChange:
    """Replace the account's signing secret (callbacks not yet sent are signed with the new one); needs a verified
    email (EmailNotVerified)."""
    require_verified_email(user=by)
    current, _ = CallbackSettings.objects.select_for_update().get_or_create(account_id=account_id)
    new_secret = _new_secret(current)
    current.save()
    audit.record(actor=by, action="callbacks.secret_rotated", target=current, object_id=str(account_id))
    return SettingsChange(settings=current, new_secret=new_secret)


@transaction.atomic
def callback_settings_clear_on_claim(*, account_id: UUID, by: Any) -> None:
    """Clear the account's default URL and secret (audited), in the caller's transaction: its email's proven owner
    claimed it, and the pre-registrant chose both. Messages naming their own URL send nothing more either: with no
    secret their callbacks are given up unsent."""
    current = CallbackSettings.objects.select_for_update().filter(account_id=account_id).first()
    if current is None or not (current.default_url or current.secret):
        return
    audit.record(
        actor=by,
        action="callbacks.cleared_on_claim",
        target=current,
        object_id=str(account_id),
        changes={"default_url": [current.default_url, ""], "secret_cleared": bool(current.secret)},
    )
    current.default_url = ""
    current.secret = ""
    current.secret_created_at = None
    current.save()
    transaction.on_commit(lambda: cache.set(_default_url_key(account_id), "", timeout=DEFAULT_URL_CACHE_SECONDS))


def _new_secret(current: CallbackSettings) -> str:
    current.secret = f"whsec_{secrets.token_urlsafe(32)}"
    current.secret_created_at = timezone.now()
    return current.secret


def record_status_change(message: Message) -> StatusCallback | None:
    """Write the callback of `message`'s new status in the caller's transaction; sent once it commits.

    The URL is the message's `status_callback`, else the account's default at the time of the change."""
    (callback,) = record_status_changes([message])
    return callback


def record_status_changes(messages: list[Message]) -> list[StatusCallback | None]:
    """`record_status_change` for each of `messages` (a batch's deliveries): one cache read for the accounts'
    default URLs, one INSERT."""
    defaults = account_default_urls(account_ids={m.account_id for m in messages if not m.status_callback})
    callbacks: list[StatusCallback | None] = []
    for message in messages:
        url = message.status_callback or defaults[message.account_id]
        callbacks.append(_status_callback(message, url) if url else None)
    written = [callback for callback in callbacks if callback is not None]
    if len(written) == 1:
        written[0].save(force_insert=True)
    elif written:
        StatusCallback.objects.bulk_create(written)
    for callback in written:
        _enqueue_send(callback.pk)
    return callbacks


def _enqueue_send(callback_pk: int) -> None:
    """Send the callback once committed, from a worker. With in-process Celery (no broker, `make run`) the task
    would POST inside the request that changed the status and hold it for the receiver's answer: beat's sweeper
    sends it instead (with no broker, beat runs each task in its own process), unless CALLBACK_SEND_IN_PROCESS."""
    if settings.CELERY_TASK_ALWAYS_EAGER and not settings.CALLBACK_SEND_IN_PROCESS:
        return
    enqueue_on_commit(send_status_callback_task, callback_pk)


INBOUND_EVENT = "message.inbound"


def record_inbound_event(inbound: InboundMessage) -> StatusCallback | None:
    """Write the `message.inbound` event of a complete inbound message in the caller's transaction; sent once it
    commits, after every earlier inbound event of its account. The URL is its number's `inbound_url`, else the
    account's default at the time; with neither, nothing is written (None)."""
    url = (
        SenderNumber.objects.filter(value=inbound.to_number, account_id=inbound.account_id)
        .values_list("inbound_url", flat=True)
        .first()
        or account_default_urls(account_ids={inbound.account_id})[inbound.account_id]
    )
    if not url:
        return None
    callback = StatusCallback(inbound=inbound, url=url, payload={})
    callback.payload = {
        "event_id": callback.event_id,
        "event": INBOUND_EVENT,
        "message_id": inbound.message_id,
        "direction": "inbound",
        "from": inbound.from_number,
        "to": inbound.to_number,
        "body": inbound.body,
        "parts": inbound.parts,
        "received_at": _utc(inbound.received_at),
        "time": _utc(timezone.now()),
    }
    callback.save(force_insert=True)
    _enqueue_send(callback.pk)
    return callback


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _status_callback(message: Message, url: str) -> StatusCallback:
    callback = StatusCallback(message=message, url=url, payload={})
    callback.payload = {
        "event_id": callback.event_id,
        "message_id": message.message_id,
        "status": message.status,
        "attempts": message.attempts,
        "error": shown_error_code(status=message.status, error_code=message.error_code),
        "time": _utc(timezone.now()),
    }
    return callback


@transaction.atomic(durable=True)
def status_callback_resend(*, callbacks: QuerySet[StatusCallback], by: Any) -> int:
    """Send these callbacks again with a fresh retry schedule (a staff action, audited). Returns how many."""
    now = timezone.now()
    # Without the admin's joins: PostgreSQL cannot lock the nullable side of an outer join (message, inbound).
    chosen = list(callbacks.select_related(None).select_for_update().order_by("pk"))
    for callback in chosen:
        callback.state = StatusCallback.State.PENDING
        callback.attempts = 0
        callback.next_attempt_at = now
        callback.finished_at = None
        callback.save(update_fields=["state", "attempts", "next_attempt_at", "finished_at"])
        audit.record(actor=by, action="callbacks.resent", target=callback, object_id=callback.event_id)
        _enqueue_send(callback.pk)
    return len(chosen)


@transaction.atomic(durable=True)
def status_callbacks_requeue_due(*, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Enqueue pending callbacks that are overdue by SWEEP_GRACE (their task was lost). Returns how many.

    With in-process Celery no task waits in a queue, so every due callback is this sweeper's to send, at once.
    A duplicate task is harmless: the sender claims only a pending one whose turn it is."""
    grace = timedelta(0) if settings.CELERY_TASK_ALWAYS_EAGER else SWEEP_GRACE
    return requeue_overdue(
        StatusCallback.objects.filter(state=StatusCallback.State.PENDING),
        overdue_before=timezone.now() - grace,
        task=send_status_callback_task,
        batch_size=batch_size,
        what="overdue status callbacks",
    )


def status_callback_send(*, callback_pk: int) -> float | None:
    """Make one attempt at a pending callback whose turn it is; returns the seconds until its retry, or None
    when there is nothing more to do (delivered, given up, not pending, or waiting behind an earlier one).

    No row lock or transaction is held while the receiver answers: the callback is claimed in one short
    transaction (the attempt counted and logged as unfinished, a lease set for the POST's deadline), POSTed outside
    any transaction, and the outcome recorded in a second one. A duplicate task finds the lease and does nothing; a
    worker that dies mid-POST leaves the attempt counted and failed, and once the lease passes the sweeper sends the
    callback again. Once it is done, the message's next pending callback is enqueued."""
    claim = _claim(callback_pk)
    if not isinstance(claim, _Claim):
        return claim
    callback = claim.callback
    try:
        outcome = post_callback(url=callback.url, payload=callback.payload, secret=claim.secret)
    except Exception as exc:  # Celery's SoftTimeLimitExceeded among them: the attempt ends, as a failed one
        logger.warning("Status callback %s attempt cut short", callback.event_id, exc_info=True)
        outcome = Outcome(None, f"The attempt was cut short: {exc.__class__.__name__}.", False, 0)
    return _record(claim, outcome)


# What an attempt's log and the callback say until its outcome is recorded: what stays of a worker killed mid-POST.
UNFINISHED = "The attempt did not finish (the worker stopped before recording it)."
# A lease outlasts the POST's deadline by this, for the transactions around it.
LEASE_MARGIN_SECONDS = 10.0
# An account at its limit of callbacks in flight: the callback is tried again after this (plus up to a second).
BUSY_RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class _Claim:
    callback: StatusCallback
    attempt_pk: int
    secret: str


@transaction.atomic(durable=True)
def _claim(callback_pk: int) -> "_Claim | float | None":
    """The callback, claimed for one attempt; or the seconds until it is tried again (its account has
    CALLBACK_MAX_IN_FLIGHT_PER_ACCOUNT in flight); or None when there is nothing to do now."""
    now = timezone.now()
    callback = StatusCallback.objects.select_for_update().filter(pk=callback_pk).first()
    if callback is None or not _its_turn(callback, now):
        return None
    if callback.attempts >= settings.CALLBACK_MAX_ATTEMPTS:  # the last attempt's worker died before recording it
        _finish(callback, StatusCallback.State.GAVE_UP, now)
        callback.save(update_fields=["state", "finished_at", "in_flight_until"])
        _enqueue_next(callback)
        return None
    account_id = _account_of(callback)
    # Locked so that two claims of one account count its callbacks in flight one after the other.
    account = CallbackSettings.objects.select_for_update().filter(account_id=account_id).first()
    in_flight = StatusCallback.objects.filter(
        Q(message__account_id=account_id) | Q(inbound__account_id=account_id), in_flight_until__gt=now
    ).count()
    if in_flight >= settings.CALLBACK_MAX_IN_FLIGHT_PER_ACCOUNT:
        retry_in = BUSY_RETRY_SECONDS + random.uniform(0, 1)  # noqa: S311 (spreads retries; not a secret)
        callback.next_attempt_at = now + timedelta(seconds=retry_in)
        callback.save(update_fields=["next_attempt_at"])
        return retry_in
    lease_until = now + timedelta(seconds=settings.CALLBACK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
    callback.attempts += 1
    callback.in_flight_until = callback.next_attempt_at = lease_until
    callback.last_status_code = None
    callback.last_error = UNFINISHED
    callback.save(update_fields=["attempts", "in_flight_until", "next_attempt_at", "last_status_code", "last_error"])
    attempt = StatusCallbackAttempt.objects.create(callback=callback, attempted_at=now, error=UNFINISHED)
    return _Claim(callback=callback, attempt_pk=attempt.pk, secret=account.secret if account is not None else "")


def _account_of(callback: StatusCallback) -> UUID:
    if callback.message_id is not None:
        return Message.objects.values_list("account_id", flat=True).get(pk=callback.message_id)
    return InboundMessage.objects.values_list("account_id", flat=True).get(callbacks=callback)


def _pending_in_its_order(callback: StatusCallback) -> QuerySet[StatusCallback]:
    """The pending callbacks sent one after another with `callback`: its message's, or, for an inbound event, its
    account's inbound events."""
    pending = StatusCallback.objects.filter(state=StatusCallback.State.PENDING)
    if callback.message_id is not None:
        return pending.filter(message_id=callback.message_id)
    return pending.filter(inbound__account_id=_account_of(callback))


def _its_turn(callback: StatusCallback, now: datetime) -> bool:
    if callback.state != StatusCallback.State.PENDING:
        return False
    # A retry already scheduled for later (this task is a duplicate), or an attempt in flight, keeps its time.
    if callback.next_attempt_at > now + timedelta(seconds=1):
        return False
    return not _pending_in_its_order(callback).filter(pk__lt=callback.pk).exists()


@transaction.atomic(durable=True)
def _record(claim: _Claim, outcome: Outcome) -> float | None:
    StatusCallbackAttempt.objects.filter(pk=claim.attempt_pk).update(
        status_code=outcome.status_code,
        error=outcome.error[:ERROR_TEXT_MAX_LENGTH],
        duration_ms=outcome.duration_ms,
    )
    now = timezone.now()
    callback = StatusCallback.objects.select_for_update().get(pk=claim.callback.pk)
    if callback.state != StatusCallback.State.PENDING or callback.attempts != claim.callback.attempts:
        return None  # the lease ran out and another attempt took the callback over: that one records its outcome
    callback.last_status_code = outcome.status_code
    callback.last_error = outcome.error[:ERROR_TEXT_MAX_LENGTH]
    retry_in = None
    if not outcome.error:
        _finish(callback, StatusCallback.State.DELIVERED, now)
    elif outcome.permanent or callback.attempts >= settings.CALLBACK_MAX_ATTEMPTS:
        _finish(callback, StatusCallback.State.GAVE_UP, now)
        logger.warning(
            "Gave up status callback %s after %d attempts: %s", callback.event_id, callback.attempts, outcome.error
        )
    else:
        retry_in = exponential_backoff(
            failures=callback.attempts - 1, base=float(settings.CALLBACK_RETRY_BACKOFF_SECONDS), cap=MAX_BACKOFF_SECONDS
        )
        callback.in_flight_until = None
        callback.next_attempt_at = now + timedelta(seconds=retry_in)
    callback.save(
        update_fields=[
            "last_status_code",
            "last_error",
            "state",
            "finished_at",
            "next_attempt_at",
            "in_flight_until",
        ]
    )
    if retry_in is None:
        _enqueue_next(callback)
    return retry_in


def _finish(callback: StatusCallback, state: str, now: datetime) -> None:
    callback.state = state
    callback.finished_at = now
    callback.in_flight_until = None


def _enqueue_next(callback: StatusCallback) -> None:
    following = _pending_in_its_order(callback).order_by("pk").values_list("pk", flat=True).first()
    if following is not None:
        enqueue_on_commit(send_status_callback_task, following)
