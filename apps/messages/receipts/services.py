"""Delivery receipts: the gateway reports that a sent message reached the handset (`delivered`) or did not
(`undelivered`). Each backend that receives them authenticates and reads its own shape (`parse_receipt`)."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError, Conflict

from .. import events
from ..backends import DeliveryReceipt
from ..backends.errors import RECEIVER_UNREACHABLE
from ..callbacks.services import record_status_change
from ..models import ERROR_TEXT_MAX_LENGTH, Message

logger = logging.getLogger(__name__)


class UnknownMessage(ApplicationError):
    status_code = 404
    code = "unknown_message"
    default_detail = "No message has this reference."


class MessageNotSent(Conflict):
    code = "message_not_sent"
    default_detail = "The message has not been sent yet; send the receipt again later."


@dataclass(frozen=True)
class ReceiptResult:
    message: Message
    changed: bool


@transaction.atomic(durable=True)
def message_record_receipt(*, receipt: DeliveryReceipt) -> ReceiptResult:
    """Move a `sent` message to `delivered` or `undelivered`, once.

    A repeated receipt (or a later one that contradicts the first) changes nothing: the first report wins. A
    receipt for a message that is not sent yet is a MessageNotSent (409, the gateway retries it); for an
    unknown message, UnknownMessage (404).
    """
    try:
        message = Message.objects.select_for_update().get(message_id=receipt.message_id)
    except Message.DoesNotExist:
        raise UnknownMessage() from None
    if message.status in (Message.Status.DELIVERED, Message.Status.UNDELIVERED):
        return ReceiptResult(message=message, changed=False)
    if message.status != Message.Status.SENT:
        raise MessageNotSent()
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
