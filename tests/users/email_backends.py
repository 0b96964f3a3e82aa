"""An email backend for the retry path: the first sends fail like an SMTP server that is down."""

from typing import Any, ClassVar

from django.core.mail.backends.locmem import EmailBackend


class FlakyEmailBackend(EmailBackend):
    failures_left: ClassVar[int] = 0
    attempts: ClassVar[int] = 0

    def send_messages(self, messages: Any) -> int:
        type(self).attempts += 1
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            raise ConnectionRefusedError("SMTP server is down")
        return super().send_messages(messages)
