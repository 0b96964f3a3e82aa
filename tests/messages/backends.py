"""SMS backends that only the tests use, named by dotted path in `settings.SMS_BACKEND`."""

import time

from apps.messages.backends.base import SmsRejectedError
from apps.messages.backends.locmem import LocmemBackend
from apps.messages.models import Message


class SlowLocmemBackend(LocmemBackend):
    """Takes a while to send, so a second delivery of the same message overlaps the first."""

    delay_seconds = 0.5

    def send(self, message: Message) -> str:
        time.sleep(self.delay_seconds)
        return super().send(message)


class RejectingBackend(LocmemBackend):
    def send(self, message: Message) -> str:
        raise SmsRejectedError("The gateway answered 400 Bad Request")
