"""The outbox's services. The relay publishes committed outbox events (apps.core.outbox.events) to where
`EVENTS_BACKEND` says, in id order, and marks them published once the publisher accepted them."""

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu import Connection, Exchange

from apps.core.models import OutboxEvent

logger = logging.getLogger(__name__)

Priority = OutboxEvent.Priority
AMQP_PRIORITY = {Priority.LOW: 1, Priority.MEDIUM: 4, Priority.HIGH: 7, Priority.CRITICAL: 9}
RELAY_BATCH_SIZE = 200
RELAY_MAX_BATCHES = 50


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


def relay_pending_events(*, batch_size: int = RELAY_BATCH_SIZE, max_batches: int = RELAY_MAX_BATCHES) -> int:
    """Publish pending events in id order (so per aggregate too); returns how many were published.

    Batch after batch until none is pending (at most `max_batches`, so one run ends; the next trigger or the
    sweeper goes on). One relay runs at a time (an advisory lock on PostgreSQL; SQLite has a single writer anyway),
    so events of one aggregate are never published out of order by two relays racing. Where they go is
    `EVENTS_BACKEND`: the broker's topic exchange (`amqp`) or an SNS topic (`sns`); either way an event is marked
    published only once its publisher accepted it.
    """
    published = 0
    for _ in range(max_batches):
        relayed, drained = _relay_batch(batch_size)
        published += relayed
        if drained:
            break
    return published


def _relay_batch(batch_size: int) -> tuple[int, bool]:
    """One batch in one transaction: (events published, whether the relay should stop for now)."""
    published: list[int] = []
    with transaction.atomic():
        if connection.vendor == "postgresql" and not _try_relay_lock():
            return 0, True
        pending = list(OutboxEvent.objects.filter(published_at__isnull=True).order_by("id")[:batch_size])
        if not pending:
            return 0, True
        failed = False
        try:
            with event_publisher() as publish:
                for event in pending:
                    publish(event)
                    published.append(event.pk)
        except Exception as exc:  # publisher down: the rest stay pending, each counts a failed attempt  # noqa: BLE001 - whatever the publisher raises leaves the rest pending
            failed = True
            remaining = [event.pk for event in pending[len(published) :]]
            OutboxEvent.objects.filter(pk__in=remaining).update(last_error=str(exc)[:500], attempts=F("attempts") + 1)
            logger.warning("Outbox relay stopped after %d events: %s", len(published), exc)
        # One UPDATE for the batch: a row each made the relay slower than the producers under load.
        OutboxEvent.objects.filter(pk__in=published).update(published_at=timezone.now())
    return len(published), failed or len(pending) < batch_size


Publish = Callable[[OutboxEvent], None]


def event_publisher() -> AbstractContextManager[Publish]:
    """The publisher that `EVENTS_BACKEND` names: a context that yields `publish(event)`, raising on failure."""
    try:
        return PUBLISHERS[settings.EVENTS_BACKEND]()
    except KeyError:
        raise ImproperlyConfigured(
            f"EVENTS_BACKEND must be one of {sorted(PUBLISHERS)}, not {settings.EVENTS_BACKEND!r}"
        ) from None


@contextmanager
def amqp_publisher() -> Iterator[Publish]:
    """To the broker's durable topic exchange, routed by event type, with the AMQP priority of the event's."""
    exchange = events_exchange()
    with broker_connection() as conn:
        producer = conn.Producer(serializer="json")

        def publish(event: OutboxEvent) -> None:
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

        yield publish


@contextmanager
def sns_publisher() -> Iterator[Publish]:
    """To the SNS topic `AWS_SNS_TOPIC_ARN`: the envelope as the message, the priority and type as message
    attributes (what subscription filter policies match on). On a FIFO topic each aggregate is one message group,
    so its events stay in order, and the event id deduplicates a retried publish."""
    topic_arn = settings.AWS_SNS_TOPIC_ARN
    if not topic_arn:
        raise ImproperlyConfigured("EVENTS_BACKEND=sns needs AWS_SNS_TOPIC_ARN")
    client = sns_client()
    fifo = topic_arn.endswith(".fifo")

    def publish(event: OutboxEvent) -> None:
        message: dict[str, Any] = {
            "TopicArn": topic_arn,
            "Message": json.dumps(event_envelope(event), cls=DjangoJSONEncoder),
            "MessageAttributes": {
                "priority": {"DataType": "String", "StringValue": event.priority},
                "event_type": {"DataType": "String", "StringValue": event.event_type},
            },
        }
        if fifo:
            message["MessageGroupId"] = f"{event.aggregate_type}:{event.aggregate_id}"
            message["MessageDeduplicationId"] = event.event_id
        client.publish(**message)

    yield publish


def sns_client() -> Any:
    """A boto3 SNS client that fails fast (one attempt, short timeouts): the relay's sweeper is the retry."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sns",
        endpoint_url=settings.AWS_SNS_ENDPOINT_URL,
        region_name=settings.AWS_REGION_NAME,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        aws_session_token=settings.AWS_SESSION_TOKEN,
        config=Config(
            connect_timeout=settings.AWS_CONNECT_TIMEOUT,
            read_timeout=settings.AWS_READ_TIMEOUT,
            retries={"mode": "standard", "total_max_attempts": 1},
        ),
    )


PUBLISHERS: dict[str, Callable[[], AbstractContextManager[Publish]]] = {"amqp": amqp_publisher, "sns": sns_publisher}


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


def outbox_prune(*, older_than: timedelta) -> int:
    """Delete the events published more than `older_than` ago. Returns how many."""
    deleted, _ = OutboxEvent.objects.filter(published_at__lt=timezone.now() - older_than).delete()
    return deleted
