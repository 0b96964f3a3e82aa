"""The transactional outbox: domain events are rows written with the change, then relayed to the broker."""

import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu import Connection, Exchange

from .models import OutboxEvent

logger = logging.getLogger(__name__)

Priority = OutboxEvent.Priority
AMQP_PRIORITY = {Priority.LOW: 1, Priority.MEDIUM: 4, Priority.HIGH: 7, Priority.CRITICAL: 9}
RELAY_BATCH_SIZE = 200


def publish_event(
    event_type: str,
    payload: dict[str, Any],
    *,
    priority: str = Priority.MEDIUM,
    aggregate_type: str = "",
    aggregate_id: str = "",
) -> OutboxEvent:
    """Write an event in the caller's transaction; it is relayed after the commit, and never if rolled back."""
    from .queueing import enqueue_on_commit
    from .tasks import relay_outbox_task

    event = OutboxEvent.objects.create(
        event_type=event_type,
        payload=payload,
        priority=priority,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
    )
    enqueue_on_commit(relay_outbox_task)
    return event


def event_envelope(event: OutboxEvent) -> dict[str, Any]:
    """What consumers receive: enough to deduplicate (id), route (type) and evolve (version)."""
    return {
        "id": event.event_id,
        "type": event.event_type,
        "time": event.created_at.isoformat(),
        "version": event.version,
        "priority": event.priority,
        "aggregate": {"type": event.aggregate_type, "id": event.aggregate_id},
        "payload": event.payload,
    }


def events_exchange() -> Exchange:
    return Exchange(settings.EVENTS_EXCHANGE, type="topic", durable=True)


def relay_pending_events(*, batch_size: int = RELAY_BATCH_SIZE) -> int:
    """Publish pending events in id order (so per aggregate too); returns how many were published.

    One relay runs at a time (an advisory lock on PostgreSQL; SQLite has a single writer anyway), so events of
    one aggregate are never published out of order by two relays racing.
    """
    published = 0
    with transaction.atomic():
        if connection.vendor == "postgresql" and not _try_relay_lock():
            return 0
        pending = list(OutboxEvent.objects.filter(published_at__isnull=True).order_by("id")[:batch_size])
        if not pending:
            return 0
        exchange = events_exchange()
        try:
            with broker_connection() as conn:
                producer = conn.Producer(serializer="json")
                for event in pending:
                    producer.publish(
                        event_envelope(event),
                        exchange=exchange,
                        routing_key=event.event_type,
                        declare=[exchange],
                        priority=AMQP_PRIORITY[Priority(event.priority)],
                        delivery_mode=2,
                        message_id=event.event_id,
                        retry=False,
                    )
                    event.published_at = timezone.now()
                    event.save(update_fields=["published_at"])
                    published += 1
        except Exception as exc:  # broker down: keep the rest pending, count the attempt, let the sweeper retry
            remaining = [event.pk for event in pending[published:]]
            OutboxEvent.objects.filter(pk__in=remaining).update(last_error=str(exc)[:500])
            logger.warning("Outbox relay stopped after %d events: %s", published, exc)
    return published


def broker_connection() -> Connection:
    """A connection to the configured broker that fails fast when it is down (the sweeper retries later)."""
    return Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    )


def _try_relay_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [0x0B0C])
        return bool(cursor.fetchone()[0])
