"""Inbound messages: what customers send to the numbers accounts own, posted by the gateway.

A POST is stored once, on the account that owns its `to` number: a resend (same backend and `gateway_message_id`)
stores nothing new, and the unique constraint on that pair makes it so under concurrent resends too. A text sent
in parts is reassembled: parts may arrive in any order, and twice; the text is `complete` once every part is in.
A complete text then becomes a signed `message.inbound` event (callbacks/services.py) and goes to the opt-out
keywords (optouts/services.py), both in the transaction that stores it. A text whose parts stop coming is ended
`incomplete` by beat after INBOUND_PARTS_TIMEOUT_SECONDS; a late part still completes it.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from apps.core.exceptions import ApplicationError

from ..backends import InboundSms
from ..callbacks.services import record_inbound_event
from ..models import InboundMessage, InboundPart
from ..optouts.services import apply_inbound_keywords
from ..selectors import account_owning_number

logger = logging.getLogger(__name__)

# Two parts of one new text arriving at once both try to open its set; the loser finds it on its next try.
OPEN_SET_TRIES = 3


class NumberNotOwned(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "number_not_owned"
    default_detail = "No account owns the number this message was sent to; nothing was stored."


@dataclass(frozen=True)
class InboundReceipt:
    inbound: InboundMessage
    stored: bool  # False: a resend of what was stored before


def inbound_receive(*, backend: str, sms: InboundSms) -> InboundReceipt:
    """Store `sms` (a whole text or one part) from the gateway `backend` on the account that owns its `to_number`,
    once; raise NumberNotOwned (nothing stored) when no account owns it."""
    account_id = account_owning_number(sms.to_number)
    if account_id is None:
        raise NumberNotOwned()
    for attempt in range(1, OPEN_SET_TRIES + 1):
        try:
            return _receive(account_id=account_id, backend=backend, sms=sms)
        except IntegrityError:
            # Rolled back whole: a concurrent resend stored this part first, or a concurrent part opened the set.
            earlier = _stored_part(backend=backend, sms=sms)
            if earlier is not None:
                return InboundReceipt(inbound=earlier.inbound, stored=False)
            if attempt == OPEN_SET_TRIES:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def _stored_part(*, backend: str, sms: InboundSms) -> InboundPart | None:
    return (
        InboundPart.objects.select_related("inbound")
        .filter(backend=backend, gateway_message_id=sms.gateway_message_id)
        .first()
    )


@transaction.atomic(durable=True)
def _receive(*, account_id: UUID, backend: str, sms: InboundSms) -> InboundReceipt:
    earlier = _stored_part(backend=backend, sms=sms)
    if earlier is not None:
        return InboundReceipt(inbound=earlier.inbound, stored=False)
    inbound = _text_of(account_id=account_id, backend=backend, sms=sms)
    in_parts = inbound.parts > 1  # a whole text is new here: it has no parts yet to look at
    if in_parts and inbound.part_rows.filter(number=sms.part).exists():
        return InboundReceipt(inbound=inbound, stored=False)  # this part again, under another gateway id
    now = timezone.now()
    InboundPart.objects.create(
        inbound=inbound,
        backend=backend,
        gateway_message_id=sms.gateway_message_id,
        number=sms.part,
        body=sms.body,
        received_at=now,
    )
    bodies = list(inbound.part_rows.order_by("number").values_list("body", flat=True)) if in_parts else [sms.body]
    inbound.parts_received = len(bodies)
    inbound.body = "".join(bodies)
    update_fields = ["parts_received", "body"]
    if inbound.parts_received == inbound.parts:
        inbound.status = InboundMessage.Status.COMPLETE
        inbound.completed_at = now
        update_fields += ["status", "completed_at"]
    inbound.save(update_fields=update_fields)
    if inbound.status == InboundMessage.Status.COMPLETE:
        _on_complete(inbound)
    return InboundReceipt(inbound=inbound, stored=True)


def _text_of(*, account_id: UUID, backend: str, sms: InboundSms) -> InboundMessage:
    """The text `sms` belongs to, locked: for a part, the open set of its reference (else the newest `incomplete`
    one still missing this part and not redacted: a late part), opened when there is none; for a whole text, a new
    one.

    Raises IntegrityError when a concurrent part opened the same set first (the caller tries again)."""
    same_set = InboundMessage.objects.select_for_update().filter(
        backend=backend,
        from_number=sms.from_number,
        to_number=sms.to_number,
        reference=sms.reference,
        parts=sms.parts,
    )
    if sms.parts > 1:
        open_set = same_set.filter(status=InboundMessage.Status.RECEIVING).first()
        if open_set is not None:
            return open_set
        late = (
            # A redacted text keeps no parts to join a late one to: that one starts a text of its own.
            same_set.filter(status=InboundMessage.Status.INCOMPLETE, redacted_at__isnull=True)
            .exclude(part_rows__number=sms.part)
            .order_by("-received_at", "-id")
            .first()
        )
        if late is not None:
            return late
    return InboundMessage.objects.create(
        account_id=account_id,
        backend=backend,
        from_number=sms.from_number,
        to_number=sms.to_number,
        reference=sms.reference,
        parts=sms.parts,
        # A whole text never holds its set open: it is complete within this transaction.
        status=InboundMessage.Status.RECEIVING if sms.parts > 1 else InboundMessage.Status.COMPLETE,
    )


def _on_complete(inbound: InboundMessage) -> None:
    record_inbound_event(inbound)
    apply_inbound_keywords(inbound=inbound)
    logger.info("Inbound message %s complete (%d parts)", inbound.message_id, inbound.parts)


@transaction.atomic(durable=True)
def inbound_messages_end_incomplete() -> int:
    """End as `incomplete` the texts still missing parts INBOUND_PARTS_TIMEOUT_SECONDS after their first part came
    (the reads show them from then on, with the parts received). Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.INBOUND_PARTS_TIMEOUT_SECONDS)
    return InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVING, received_at__lt=cutoff).update(
        status=InboundMessage.Status.INCOMPLETE
    )
