"""Bodies are not kept forever: past MESSAGE_BODY_RETENTION_DAYS (unset: kept), or once final for a message whose
create asked `redact_body_after_send`, the body becomes null and `redacted_at` says when. Only final messages:
a body still to send is never touched. A short transaction per batch, so the sweep holds no lock for long and
deliveries go on beside it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import Message

REDACT_BATCH_SIZE = 1000
# One sweep redacts at most this many batches of each kind; the next beat tick goes on.
REDACT_MAX_BATCHES = 50


def message_bodies_redact(*, batch_size: int = REDACT_BATCH_SIZE, max_batches: int = REDACT_MAX_BATCHES) -> int:
    """Beat sweep: redact the bodies due for it (see the module). Returns how many."""
    redacted = _redact_all(_asked_after_send(), batch_size, max_batches)
    if settings.MESSAGE_BODY_RETENTION_DAYS is not None:
        redacted += _redact_all(_past_retention(), batch_size, max_batches)
    return redacted


def _asked_after_send() -> QuerySet[Message]:
    # msg_redact_after_send_idx holds these rows alone.
    return Message.objects.filter(redact_body_after_send=True, body__isnull=False)


def _past_retention() -> QuerySet[Message]:
    cutoff = timezone.now() - timedelta(days=settings.MESSAGE_BODY_RETENTION_DAYS)
    # msg_body_kept_idx, oldest first: redacted rows have left it.
    return Message.objects.filter(body__isnull=False, created_at__lt=cutoff).order_by("created_at")


def _redact_all(candidates: QuerySet[Message], batch_size: int, max_batches: int) -> int:
    redacted = 0
    for _ in range(max_batches):
        count = _redact_batch(candidates, batch_size)
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
