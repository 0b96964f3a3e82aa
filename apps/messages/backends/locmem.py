"""Keeps sent messages in memory, in `outbox` (like `django.core.mail.outbox`), for tests.

The outbox lives in the process that ran the delivery task: a real Celery worker has its own.
"""

import itertools
from dataclasses import dataclass

from apps.messages.models import Message

from .base import BaseSmsBackend


@dataclass(frozen=True)
class SentSms:
    message_id: str
    sender_number: str
    receiver_number: str
    body: str
    provider_message_id: str


outbox: list[SentSms] = []
_ids = itertools.count(1)


class LocmemBackend(BaseSmsBackend):
    def send(self, message: Message) -> str:
        provider_message_id = f"locmem-{next(_ids)}"
        outbox.append(
            SentSms(
                message_id=message.message_id,
                sender_number=message.sender_number,
                receiver_number=message.receiver_number,
                body=message.body or "",  # null only once redacted, never sent then
                provider_message_id=provider_message_id,
            )
        )
        return provider_message_id
