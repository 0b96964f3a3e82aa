"""Bodies are not kept forever: past MESSAGE_BODY_RETENTION_DAYS (unset: kept), or once final for a message whose
create asked `redact_body_after_send`, the body becomes null and `redacted_at` says when. Only final messages:
a body still to send is never touched. A short transaction per batch, so the sweep holds no lock for long and
deliveries go on beside it.

Inbound messages too, past the retention by `received_at` once no longer `receiving`: the body becomes null,
`redacted_at` is set and their parts' bodies are emptied. Their `message.inbound` events carry the body in the
payload: it becomes null once the event is past the retention (by its `created_at`, when the text completed) and
delivered or given up; a pending event keeps it, so the receiver still gets the text.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import InboundMessage, InboundPart, Message, StatusCallback

REDACT_BATCH_SIZE = 1000
# One sweep redacts at most this many batches of each kind; the next beat tick goes on.
REDACT_MAX_BATCHES = 50
EVENT_FINAL_STATES = (StatusCallback.State.DELIVERED, StatusCallback.State.GAVE_UP)


def message_bodies_redact(*, batch_size: int = REDACT_BATCH_SIZE, max_batches: int = REDACT_MAX_BATCHES) -> int:
    """Beat sweep: redact the bodies due for it (see the module). Returns how many rows it redacted."""
    redacted = _redact_all(_redact_batch, _asked_after_send(), batch_size, max_batches)
    if settings.MESSAGE_BODY_RETENTION_DAYS is not None:
        cutoff = timezone.now() - timedelta(days=settings.MESSAGE_BODY_RETENTION_DAYS)
        redacted += _redact_all(_redact_batch, _past_retention(cutoff), batch_size, max_batches)
        redacted += _redact_all(_redact_inbound_batch, _inbound_past_retention(cutoff), batch_size, max_batches)
        redacted += _redact_all(
            _redact_inbound_event_batch, _inbound_events_past_retention(cutoff), batch_size, max_batches
        )
    return redacted


def _asked_after_send() -> QuerySet[Message]:
    # msg_redact_after_send_idx holds these rows alone.
    return Message.objects.filter(redact_body_after_send=True, body__isnull=False)


def _past_retention(cutoff: datetime) -> QuerySet[Message]:
    # msg_body_kept_idx, oldest first: redacted rows have left it.
    return Message.objects.filter(body__isnull=False, created_at__lt=cutoff).order_by("created_at")


def _redact_all(
    redact_batch: Callable[[QuerySet[Any], int], int], candidates: QuerySet[Any], batch_size: int, max_batches: int
) -> int:
    redacted = 0
    for _ in range(max_batches):
        count = redact_batch(candidates, batch_size)
        redacted += count
        if count < batch_size:
            break
    return redacted


@transaction.atomic(durable=True)
def _redact_batch(candidates: QuerySet[Message], batch_size: int) -> int:
    # Locked rows are being sent or changed: a later sweep takes them, once final.
    pks = list(
        candidates.filter(status__in=Message.FINAL_STATUSES)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:batch_size]
    )
    if not pks:
        return 0
    return Message.objects.filter(pk__in=pks, status__in=Message.FINAL_STATUSES).update(
        body=None, redacted_at=timezone.now()
    )


def _inbound_past_retention(cutoff: datetime) -> QuerySet[InboundMessage]:
    # inbound_body_kept_idx, oldest first: redacted rows have left it.
    return (
        InboundMessage.objects.filter(body__isnull=False, received_at__lt=cutoff)
        .exclude(status=InboundMessage.Status.RECEIVING)
        .order_by("received_at")
    )


def _inbound_events_past_retention(cutoff: datetime) -> QuerySet[StatusCallback]:
    # cb_inbound_body_kept_idx, oldest first: redacted rows have left it.
    return (
        StatusCallback.objects.filter(inbound__isnull=False, created_at__lt=cutoff, state__in=EVENT_FINAL_STATES)
        .exclude(payload__body=None)
        .order_by("created_at")
    )


@transaction.atomic(durable=True)
def _redact_inbound_batch(candidates: QuerySet[InboundMessage], batch_size: int) -> int:
    # A locked text is taking a late part: a later sweep takes it.
    pks = list(candidates.select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch_size])
    if not pks:
        return 0
    InboundPart.objects.filter(inbound_id__in=pks).update(body="")
    return InboundMessage.objects.filter(pk__in=pks).update(body=None, redacted_at=timezone.now())


@transaction.atomic(durable=True)
def _redact_inbound_event_batch(candidates: QuerySet[StatusCallback], batch_size: int) -> int:
    # A locked event is having its outcome recorded or being resent: a later sweep takes it.
    events = list(candidates.select_for_update(skip_locked=True).only("pk", "payload")[:batch_size])
    for event in events:
        event.payload["body"] = None
    return StatusCallback.objects.bulk_update(events, ["payload"])
