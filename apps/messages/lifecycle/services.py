"""The ends of a message that never reaches the gateway: canceled by its account, or expired past its validity.

Both change a row that is still `scheduled` or `queued` under its row lock. A delivery holds the lock of each row
it sends until its outcome is committed, and claims with SKIP LOCKED: a cancel waits for a send in flight and then
finds the message sent (409), and a delivery never claims a row a cancel holds, nor one canceled since.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import Conflict
from apps.core.observability import audit

from .. import events, metrics
from ..callbacks.services import record_status_change, record_status_changes
from ..models import Message

EXPIRE_BATCH_SIZE = 1000
# One sweep ends at most this many batches; the next beat tick goes on.
EXPIRE_MAX_BATCHES = 50


class MessageNotCancelable(Conflict):
    code = "message_not_cancelable"
    default_detail = "The message was already handed to the gateway (or ended otherwise) and cannot be canceled."


@transaction.atomic(durable=True)
def message_cancel(*, message_pk: int, by: Any) -> Message:
    """Cancel a message still `scheduled`, or `queued` and never attempted; canceling a canceled one again returns
    it unchanged. Anything else raises MessageNotCancelable (409)."""
    message = Message.objects.select_for_update().get(pk=message_pk)
    if message.status == Message.Status.CANCELED:
        return message
    if message.status not in Message.PENDING_STATUSES or message.attempts > 0:
        raise MessageNotCancelable()
    previous = message.status
    message.status = Message.Status.CANCELED
    message.save(update_fields=["status"])
    audit.record(
        actor=by,
        action="message.canceled",
        target=message,
        object_id=message.message_id,
        changes={"status": [previous, Message.Status.CANCELED]},
    )
    events.messages_ended([message])
    record_status_change(message)
    transaction.on_commit(metrics.messages_canceled_total.inc)
    return message


def message_expire_locked(message: Message) -> None:
    """End a pending message the caller holds locked as `expired` (its status callback with it), in the caller's
    transaction."""
    message.status = Message.Status.EXPIRED
    message.save(update_fields=["status"])
    events.messages_ended([message])
    record_status_change(message)
    transaction.on_commit(metrics.messages_expired_total.inc)


def messages_expire_overdue(*, batch_size: int = EXPIRE_BATCH_SIZE, max_batches: int = EXPIRE_MAX_BATCHES) -> int:
    """Beat sweep: end every pending message past its `expires_at` as `expired`, a short transaction per batch
    (rows a delivery holds are skipped: it checks the expiry itself). Returns how many."""
    expired = 0
    for _ in range(max_batches):
        count = _expire_batch(batch_size)
        expired += count
        if count < batch_size:
            break
    return expired


@transaction.atomic(durable=True)
def _expire_batch(batch_size: int) -> int:
    now = timezone.now()
    # The order follows msg_pending_expiry_idx.
    overdue = list(
        Message.objects.select_for_update(skip_locked=True)
        .filter(status__in=Message.PENDING_STATUSES, expires_at__lte=now)
        .order_by("expires_at")[:batch_size]
    )
    if not overdue:
        return 0
    Message.objects.filter(pk__in=[message.pk for message in overdue]).update(status=Message.Status.EXPIRED)
    for message in overdue:
        message.status = Message.Status.EXPIRED
    events.messages_ended(overdue)
    record_status_changes(overdue)
    count = len(overdue)
    transaction.on_commit(lambda: metrics.messages_expired_total.inc(count))
    return count
