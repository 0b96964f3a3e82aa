"""Refuses every message: exercises the retry path and the final `failed` status."""

from apps.messages.models import Message

from .base import BaseSmsBackend, SmsDeliveryError


class FailingBackend(BaseSmsBackend):
    error_message = "The failing backend refuses every message."

    def send(self, message: Message) -> str:
        raise SmsDeliveryError(self.error_message)
