"""Writes each message to the log instead of sending it: the default for local work."""

import logging

from apps.messages.models import Message

from .base import BaseSmsBackend

logger = logging.getLogger(__name__)


class ConsoleBackend(BaseSmsBackend):
    def send(self, message: Message) -> str:
        logger.info(
            "SMS %s from %s to %s: %s",
            message.message_id,
            message.sender_number,
            message.receiver_number,
            message.body,
            extra={"message_id": message.message_id},
        )
        return f"console-{message.message_id}"
