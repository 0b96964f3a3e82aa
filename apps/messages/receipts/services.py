"""Delivery receipts: the gateway reports that a sent message reached the handset (`delivered`) or did not
(`undelivered`). Each backend that receives them authenticates and reads its own shape (`parse_receipt`); a receipt
counts only from the gateway that took the message (`Message.backend`)."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError, Conflict

from .. import events
from ..backends import DeliveryReceipt
from ..backends.errors import RECEIVER_UNREACHABLE
from ..backends.failover import DEFAULT_BACKEND_NAME, is_default_alias
from ..callbacks.services import record_status_change
from ..models import ERROR_TEXT_MAX_LENGTH, Message

logger = logging.getLogger(__name__)


class UnknownMessage(ApplicationError):
    status_code = 404
    code = "unknown_message"
    default_detail = "No message sent through this gateway has this reference."


class MessageNotSent(Conflict):
    code = "message_not_sent"
    default_detail = "The message has not been sent yet; send the receipt again later."


class MessageEnded(Conflict):
    code = "message_ended"
    default_detail = (
        "The message ended (canceled, expired or failed) without a send the gateway confirmed; no receipt changes "
        "it, so do not send this one again."
    )


@dataclass(frozen=True)
class ReceiptResult:
    message: Message
    changed: bool


def _sent_through(message: Message, backend: str) -> bool:
    """Whether the gateway posting receipts under `backend` is the one that took `message`: its recorded gateway (or,
    for `default`, an older name of it such as `http`), or any gateway while none is recorded (not attempted yet, or
    sent before gateways were recorded)."""
    if not message.backend or message.backend == backend:
        return True
    return is_default_alias(backend) and message.backend == DEFAULT_BACKEND_NAME


@transaction.atomic(durable=True)
def message_record_receipt(*, receipt: DeliveryReceipt, backend: str) -> ReceiptResult:
    """Move a `sent` message to `delivered` or `undelivered`, once, on the receipt of the gateway that took it
    (`backend`, the name it posts under).

    A repeated receipt (or a later one that contradicts the first) changes nothing: the first report wins. An
    unknown message, or one another gateway took, is an UnknownMessage (404: this gateway never had it, and asking
    again will not change that). A message not sent yet is a MessageNotSent (409, the gateway retries it); one that
    ended unsent (canceled, expired, failed) a MessageEnded (409: a receipt never changes a final status).
    """
    try:
        message = Message.objects.select_for_update().get(message_id=receipt.message_id)
    except Message.DoesNotExist:
        raise UnknownMessage() from None
    if not _sent_through(message, backend):
        logger.warning(
            "Receipt for message %s refused: posted by gateway %r, sent through %r",
            message.message_id,
            backend,
            message.backend,
        )
        raise UnknownMessage()
    if message.status in (Message.Status.DELIVERED, Message.Status.UNDELIVERED):
        return ReceiptResult(message=message, changed=False)
    if message.status in Message.PENDING_STATUSES:
        raise MessageNotSent()
    if message.status != Message.Status.SENT:
        logger.warning(
            "Receipt (%s) for message %s refused: it ended %s",
            "delivered" if receipt.delivered else "undelivered",
            message.message_id,
            message.status,
        )
        raise MessageEnded()
    message.status = Message.Status.DELIVERED if receipt.delivered else Message.Status.UNDELIVERED
    update_fields = ["status"]
    if not receipt.delivered:
        message.last_error = receipt.error[:ERROR_TEXT_MAX_LENGTH]
        message.error_code = RECEIVER_UNREACHABLE
        update_fields += ["last_error", "error_code"]
    message.save(update_fields=update_fields)
    events.message_receipt(message, error=receipt.error, reported_at=timezone.now().isoformat())
    record_status_change(message)
    logger.info("Message %s %s (gateway receipt)", message.message_id, message.status)
    return ReceiptResult(message=message, changed=True)
