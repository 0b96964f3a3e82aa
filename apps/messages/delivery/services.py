"""Delivery: send accepted messages through the gateways (paced per sender, failing over), fail, retry, requeue.

Acceptance is apps/messages/acceptance/services.py. The admin and the Celery tasks come through here; the tasks
only add retries and backoff, the rules (when a failure is final, when a message waits) are here.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.core.background.queueing import enqueue, enqueue_on_commit, requeue_overdue
from apps.core.observability import audit

from .. import events, metrics
from ..backends import SmsDeliveryError, SmsRejectedError, get_delivery_backend
from ..backends.errors import DELIVERY_FAILED, QUEUE_TIMEOUT, RECIPIENT_OPTED_OUT, delivery_error_code
from ..callbacks.services import record_status_change, record_status_changes
from ..dispatch import send_concurrently, wake_received
from ..lifecycle.services import message_expire_locked
from ..models import ERROR_TEXT_MAX_LENGTH, Message
from ..selectors import opted_out_messages
from ..senders.pacing import Pace, pace_messages, sender_paces, take_tokens
from ..tasks import deliver_message_task, deliver_messages_task

logger = logging.getLogger(__name__)

REQUEUE_BATCH_SIZE = 500
WAKE_AFTER_DUE_SECONDS = 0.05
WAKE_AHEAD_SECONDS = 10


class SenderPaced(Exception):
    """The message's sender has no token now: it waits `wait` seconds (its next_attempt_at), no attempt counted."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"The sender's pace holds the message {wait:.2f} s")
        self.wait = wait


def delivery_failure_is_final(error: SmsDeliveryError, *, retries_done: int) -> bool:
    """Whether a refused send fails its message for good: the gateway refused it for good, or the retries
    (MESSAGE_MAX_RETRIES after the first attempt) are spent. Otherwise the caller retries it with backoff."""
    return isinstance(error, SmsRejectedError) or retries_done >= settings.MESSAGE_MAX_RETRIES


def message_deliver(*, message_pk: int, retry_in: float = 0.0) -> Message | None:
    """Send a queued message through the SMS backend: at least once, made safe by the gateway's idempotency key.

    The row stays locked while the backend sends, so a second run of the same delivery waits and then finds the
    message no longer queued. A worker that dies mid-send commits nothing: the message stays queued and the task
    (acknowledged late) runs again, so the gateway can be asked twice; both requests carry the message_id as their
    `Idempotency-Key`, and a gateway that deduplicates sends the text once.

    Returns the sent message, or None when there is nothing to send. A refused send is recorded (attempts,
    last_error, next attempt due in `retry_in` seconds) and then re-raised as SmsDeliveryError for the caller to
    retry. A sender without its tokens now (one per segment, senders/pacing.py) raises SenderPaced after moving
    next_attempt_at.
    """
    backend = get_delivery_backend()
    error: SmsDeliveryError | None = None
    paced = False
    with transaction.atomic(durable=True):
        message = _lock_queued(message_pk)
        if message is None:
            return None
        if message.expires_at is not None and message.expires_at <= timezone.now():
            message_expire_locked(message)
            return None
        if not _without_opted_out([message]):
            return None
        wait = _sender_wait(message)
        if wait > 0:
            paced = _defer(message, wait=wait)
        else:
            try:
                provider_message_id = backend.send(message)
            except SmsDeliveryError as exc:
                error = exc
                _record_failed_attempt(message, error=exc, retry_in=retry_in)
            else:
                _mark_all_sent([(message, provider_message_id)])
    if wait > 0:
        if paced:
            raise SenderPaced(wait)
        return None
    if error is not None:
        raise error
    return message


def _without_opted_out(messages: list[Message]) -> list[Message]:
    """Fail (`recipient_opted_out`, never handed to a gateway) the locked messages whose recipient opted out since
    they were accepted; the others, to send."""
    opted_out = opted_out_messages(messages)
    for message in messages:
        if message.pk in opted_out:
            _mark_failed(message, error="The recipient opted out before it was sent", code=RECIPIENT_OPTED_OUT)
    return [message for message in messages if message.pk not in opted_out]


def _sender_wait(message: Message) -> float:
    pace: Pace | None = sender_paces([message.sender_number]).get(message.sender_number)
    return take_tokens(message.sender_number, pace, message.segments) if pace is not None else 0.0


def _defer(message: Message, *, wait: float) -> bool:
    """Hold a paced message back `wait` seconds, no attempt counted; past MESSAGE_MAX_QUEUE_AGE it fails instead
    (`queue_timeout`). Returns whether it still waits."""
    due = timezone.now() + timedelta(seconds=wait)
    if due > message.created_at + timedelta(seconds=settings.MESSAGE_MAX_QUEUE_AGE):
        _mark_failed(
            message,
            error=f"Its sender's pace kept it queued past MESSAGE_MAX_QUEUE_AGE ({settings.MESSAGE_MAX_QUEUE_AGE} s)",
            code=QUEUE_TIMEOUT,
        )
        return False
    message.next_attempt_at = due
    message.save(update_fields=["next_attempt_at"])
    return True


def messages_deliver(
    *, message_pks: list[int], retry_in: float = 0.0, claim_due: bool = False
) -> list[tuple[int, SmsDeliveryError]]:
    """Send the messages among `message_pks` still waiting for their first attempt through the SMS backend
    concurrently, each once; with `claim_due`, other such messages already due as well, oldest first, up to
    MESSAGE_DELIVERY_BATCH_SIZE in all. Without ids this answers a wake-up (dispatch.py): creates publish
    again from here on. A claim that fills the batch wakes another worker process for the next batch, before this
    one's sends.

    As `message_deliver`, every row stays locked while its send is in flight, and rows another delivery holds are
    skipped (that one sends them; on SQLite, whose transactions take the one write lock up front, batches run one
    after the other). Only first attempts: a message already tried has a retry task of its own waiting for its next
    attempt time, and taking it here would send it early and start a second series of retries. Returns the (pk,
    error) of each refused send, recorded as an attempt like `message_deliver` records it, for the caller to retry or
    fail one by one.
    """
    backend = get_delivery_backend()
    failed: list[tuple[int, SmsDeliveryError]] = []
    batch_size = settings.MESSAGE_DELIVERY_BATCH_SIZE
    now = timezone.now()
    # Scheduled rows too, once due; never one past its expiry (the expiry sweep ends those).
    first_attempts = Message.objects.select_for_update(skip_locked=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), status__in=Message.PENDING_STATUSES, attempts=0
    )
    if not message_pks:
        wake_received()
    with transaction.atomic(durable=True):
        messages = (
            list(
                first_attempts.filter(Q(status=Message.Status.QUEUED) | Q(next_attempt_at__lte=now), pk__in=message_pks)
            )
            if message_pks
            else []
        )
        room = batch_size - len(messages)
        if claim_due and room > 0:
            # The order follows msg_queued_due_idx.
            messages += (
                first_attempts.filter(next_attempt_at__lte=now)
                .exclude(pk__in=[message.pk for message in messages])
                .order_by("next_attempt_at", "pk")[:room]
            )
        if len(messages) >= batch_size and not deliver_messages_task.app.conf.task_always_eager:
            # More may be due: one more wake-up, so another process claims the next batch (skipping these rows)
            # while these are sent.
            enqueue(deliver_messages_task)
        for message in messages:
            # Claimed: a scheduled message is an ordinary queued one from here (saved with its outcome), so a
            # refused first attempt goes on through the retries.
            message.status = Message.Status.QUEUED
        messages = _without_opted_out(messages)
        paced = pace_messages(messages)
        messages = paced.ready
        for message, wait in paced.waiting:
            _defer(message, wait=wait)
        sent: list[tuple[Message, str]] = []
        for message, outcome in zip(messages, send_concurrently(backend, messages), strict=True):
            if isinstance(outcome, SmsDeliveryError):
                _record_failed_attempt(message, error=outcome, retry_in=retry_in)
                failed.append((message.pk, outcome))
            else:
                sent.append((message, outcome))
        _mark_all_sent(sent)
    if paced.paced and not deliver_messages_task.app.conf.task_always_eager:
        _wake_when_next_due()
    return failed


def _wake_when_next_due() -> None:
    """After a batch of paced senders: a wake-up just after the next first attempt held for later is due (this
    batch's, or one an earlier batch held behind it: a wake-up that finds nothing to hold schedules no other, so
    each batch schedules the next). Further ahead than WAKE_AHEAD_SECONDS, beat's sweep (every 5 s) wakes them."""
    now = timezone.now()
    next_due = (
        Message.objects.filter(
            status=Message.Status.QUEUED,
            attempts=0,
            next_attempt_at__gt=now,
            next_attempt_at__lte=now + timedelta(seconds=WAKE_AHEAD_SECONDS),
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if next_due is not None:
        enqueue(deliver_messages_task, countdown=(next_due - now).total_seconds() + WAKE_AFTER_DUE_SECONDS)


def _lock_queued(message_pk: int) -> Message | None:
    try:
        return Message.objects.select_for_update().get(pk=message_pk, status=Message.Status.QUEUED)
    except Message.DoesNotExist:
        return None


def _record_failed_attempt(message: Message, *, error: Exception, retry_in: float) -> None:
    message.attempts += 1
    message.last_error = str(error)[:ERROR_TEXT_MAX_LENGTH]
    message.error_code = delivery_error_code(error)
    message.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    message.save(update_fields=["status", "attempts", "last_error", "error_code", "next_attempt_at", "backend"])
    logger.warning("Delivery of message %s failed (attempt %d): %s", message.message_id, message.attempts, error)


def _mark_all_sent(sent: list[tuple[Message, str]]) -> None:
    """Record each (message, provider's id) as sent: the rows in one batch of statements, their events in one
    INSERT and their callbacks in another (three round trips per message, for a batch of 100, took longer than
    the batch's sends)."""
    if not sent:
        return
    now = timezone.now()
    messages = []
    for message, provider_message_id in sent:
        message.status = Message.Status.SENT
        message.sent_at = now
        message.provider_message_id = provider_message_id
        message.attempts += 1
        messages.append(message)
    if len(messages) == 1:
        messages[0].save(update_fields=["status", "sent_at", "provider_message_id", "attempts", "backend"])
    else:
        # One UPDATE per row, sent together (psycopg pipelines executemany): Django took ten times as long to build
        # bulk_update's CASE over 100 rows (cProfile: 356 ms per batch, against 33 ms for these).
        sent_at = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {connection.ops.quote_name(Message._meta.db_table)} SET status = %s, sent_at = %s, "  # noqa: S608 - names from the model
                "provider_message_id = %s, attempts = %s, backend = %s WHERE id = %s",
                [(m.status, sent_at, m.provider_message_id, m.attempts, m.backend, m.pk) for m in messages],
            )
    events.messages_sent(messages)
    record_status_changes(messages)
    transaction.on_commit(lambda: metrics.messages_delivered_total.inc(len(messages)))
    segments = sum(message.segments for message in messages)
    transaction.on_commit(lambda: metrics.messages_segments_sent_total.inc(segments))


@transaction.atomic(durable=True)
def message_fail(*, message_pk: int, error: str) -> Message | None:
    """Mark a still-queued message `failed` for good (retries spent, or refused outright); None if it was not queued."""
    message = _lock_queued(message_pk)
    if message is None:
        return None
    # The last attempt's code, when it recorded one.
    _mark_failed(message, error=error, code=message.error_code or DELIVERY_FAILED)
    return message


def _mark_failed(message: Message, *, error: str, code: str) -> None:
    message.status = Message.Status.FAILED
    message.last_error = error[:ERROR_TEXT_MAX_LENGTH]
    message.error_code = code
    message.save(update_fields=["status", "last_error", "error_code"])
    events.message_failed(message)
    record_status_change(message)
    transaction.on_commit(metrics.messages_failed_total.inc)


@transaction.atomic(durable=True)
def message_retry_failed(*, messages: QuerySet[Message], by: Any) -> int:
    """Put failed messages back to `queued` and enqueue their delivery (a staff action, audited). Returns how many."""
    now = timezone.now()
    # A redacted body has nothing left to send.
    retried = list(messages.select_for_update().filter(status=Message.Status.FAILED, body__isnull=False).order_by("pk"))
    for message in retried:
        message.status = Message.Status.QUEUED
        message.next_attempt_at = now
        message.save(update_fields=["status", "next_attempt_at"])
        audit.record(
            actor=by,
            action="message.retried",
            target=message,
            object_id=message.message_id,
            changes={"status": [Message.Status.FAILED, Message.Status.QUEUED]},
        )
        enqueue_on_commit(deliver_message_task, message.pk)
    return len(retried)


@transaction.atomic(durable=True)
def message_requeue_stale(*, overdue_by: timedelta, batch_size: int = REQUEUE_BATCH_SIZE) -> int:
    """Enqueue delivery again for queued messages whose next attempt is `overdue_by` late (their task was lost,
    typically because the broker was down when they were accepted). Returns how many were enqueued.

    A duplicate task is harmless: delivery locks the row and sends only a message that is still queued.
    """
    return requeue_overdue(
        Message.objects.filter(status=Message.Status.QUEUED),
        overdue_before=timezone.now() - overdue_by,
        task=deliver_message_task,
        batch_size=batch_size,
        what="stale queued messages",
    )
