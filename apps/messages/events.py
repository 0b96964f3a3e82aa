"""The messages app's domain events: one function per event, the one place its payload and priority are written."""

from typing import Any

from apps.core.models import OutboxEvent
from apps.core.outbox.events import Priority, outbox_event, publish_events

from .models import Message


def _event(event_type: str, message: Message, priority: Priority, **fields: Any) -> OutboxEvent:
    payload = {"message_id": message.message_id, "account_id": str(message.account_id), **fields}
    return outbox_event(
        event_type, payload, priority=priority, aggregate_type="message", aggregate_id=message.message_id
    )


def _publish(event_type: str, message: Message, priority: Priority, **fields: Any) -> OutboxEvent:
    (event,) = publish_events([_event(event_type, message, priority, **fields)])
    return event


def message_created(message: Message) -> OutboxEvent:
    return _publish(
        "message.created",
        message,
        Priority.MEDIUM,
        sender_number=message.sender_number,
        receiver_number=message.receiver_number,
        status=message.status,
        created_at=message.created_at.isoformat(),
    )


def messages_sent(messages: list[Message]) -> list[OutboxEvent]:
    """`message.sent` for each of `messages`, in one INSERT (a batch's deliveries)."""
    return publish_events(
        [
            _event(
                "message.sent",
                message,
                Priority.HIGH,
                provider_message_id=message.provider_message_id,
                attempts=message.attempts,
                sent_at=message.sent_at.isoformat() if message.sent_at else None,
            )
            for message in messages
        ]
    )


def message_failed(message: Message) -> OutboxEvent:
    return _publish(
        "message.failed", message, Priority.CRITICAL, attempts=message.attempts, last_error=message.last_error
    )


def message_receipt(message: Message, *, error: str, reported_at: str) -> OutboxEvent:
    """`message.delivered` or `message.undelivered`, from the gateway's receipt."""
    return _publish(
        f"message.{message.status}", message, Priority.HIGH, status=message.status, error=error, reported_at=reported_at
    )


def messages_ended(messages: list[Message]) -> list[OutboxEvent]:
    """`message.canceled` or `message.expired` for each of `messages`, in one INSERT: ended before being sent."""
    return publish_events([_event(f"message.{message.status}", message, Priority.MEDIUM) for message in messages])
