"""The transactional outbox: events are written with the change, relayed after commit, never lost or invented."""

import time
import uuid

import pytest
from django.db import transaction
from kombu import Exchange, Queue
from kombu.message import Message

from apps.core.models import OutboxEvent
from apps.core.outbox.events import Priority, publish_event
from apps.core.outbox.services import AMQP_PRIORITY, broker_connection, events_exchange, relay_pending_events
from tests.helpers.processes import closed_port


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_publishes_nothing() -> None:
    def change_that_fails() -> None:
        with transaction.atomic():
            publish_event("test.rolled_back", {"n": 1})
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert not OutboxEvent.objects.filter(event_type="test.rolled_back").exists()


@pytest.mark.django_db(transaction=True)
def test_committed_event_is_relayed_after_commit() -> None:
    with transaction.atomic():
        event = publish_event(
            "test.committed",
            {"n": 2},
            priority=Priority.HIGH,
            aggregate_type="thing",
            aggregate_id=7,  # type: ignore[arg-type]  # an int on purpose: publish_event stores str(aggregate_id)
        )
        assert OutboxEvent.objects.get(pk=event.pk).published_at is None

    event.refresh_from_db()
    assert event.published_at is not None
    assert event.aggregate_id == "7"


@pytest.mark.django_db
def test_relay_publishes_in_id_order_and_marks_published() -> None:
    events = [publish_event("test.ordered", {"n": n}) for n in range(5)]

    assert relay_pending_events() == 5
    assert relay_pending_events() == 0
    published = list(OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("published_at", "id"))
    assert [e.payload["n"] for e in published] == [0, 1, 2, 3, 4]


@pytest.mark.django_db
def test_one_relay_run_drains_batch_after_batch_and_then_stops() -> None:
    for n in range(7):
        publish_event("test.batched", {"n": n})

    assert relay_pending_events(batch_size=2, max_batches=3) == 6  # bounded: the next run publishes the rest
    assert OutboxEvent.objects.filter(event_type="test.batched", published_at__isnull=True).count() == 1
    assert relay_pending_events(batch_size=2) == 1
    assert not OutboxEvent.objects.filter(event_type="test.batched", published_at__isnull=True).exists()


@pytest.mark.django_db
def test_broker_down_keeps_events_pending_until_it_is_back(settings) -> None:
    event = publish_event("test.outage", {"n": 3})
    real_url = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{closed_port()}//"
    assert relay_pending_events() == 0
    assert relay_pending_events() == 0
    settings.CELERY_BROKER_URL = real_url
    event.refresh_from_db()
    assert event.published_at is None
    assert event.last_error
    assert event.attempts == 2  # each relay run that could not publish it

    assert relay_pending_events() == 1
    event.refresh_from_db()
    assert event.published_at is not None


@pytest.mark.broker
@pytest.mark.django_db
def test_events_reach_a_bound_queue_with_priority_and_envelope() -> None:
    marker = uuid.uuid4().hex[:12]
    routing_key = f"test.{marker}.#"
    queue = Queue(
        f"test-events-{marker}",
        exchange=events_exchange(),
        routing_key=routing_key,
        auto_delete=True,
        queue_arguments={"x-max-priority": 10},
    )
    with broker_connection() as conn:
        queue(conn.default_channel).declare()
        low = publish_event(
            f"test.{marker}.low", {"n": 1}, priority=Priority.LOW, aggregate_type="thing", aggregate_id="a"
        )
        critical = publish_event(f"test.{marker}.critical", {"n": 2}, priority=Priority.CRITICAL)
        assert relay_pending_events() >= 2

        received: list[Message] = []
        bound = queue(conn.default_channel)
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
            else:
                received.append(message)
        bound.delete()

    by_type = {message.payload["type"]: message for message in received}
    assert set(by_type) == {low.event_type, critical.event_type}
    low_message = by_type[low.event_type]
    assert low_message.payload == {
        "id": low.event_id,
        "type": low.event_type,
        "time": low.created_at.isoformat(),
        "version": 1,
        "priority": "low",
        "aggregate": {"type": "thing", "id": "a"},
        "payload": {"n": 1},
    }
    # kombu-stubs type the properties dict[str, str]; the AMQP priority in them is an int.
    assert low_message.properties["priority"] == AMQP_PRIORITY[Priority.LOW]  # type: ignore[comparison-overlap]
    assert by_type[critical.event_type].properties["priority"] == AMQP_PRIORITY[Priority.CRITICAL]  # type: ignore[comparison-overlap]


def test_exchange_is_a_durable_topic() -> None:
    exchange = events_exchange()
    assert isinstance(exchange, Exchange)
    assert exchange.type == "topic"
    assert exchange.durable


@pytest.mark.django_db
def test_prune_deletes_only_old_published_events() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.tasks import prune_outbox_task

    old = publish_event("test.old", {})
    recent = publish_event("test.recent", {})
    pending = publish_event("test.pending", {})
    OutboxEvent.objects.filter(pk=old.pk).update(published_at=timezone.now() - timedelta(days=8))
    OutboxEvent.objects.filter(pk=recent.pk).update(published_at=timezone.now() - timedelta(days=1))

    assert prune_outbox_task.apply().get() == 1

    assert set(OutboxEvent.objects.values_list("pk", flat=True)) >= {recent.pk, pending.pk}
    assert not OutboxEvent.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_triggers_within_a_window_send_one_relay_task(real_broker, monkeypatch) -> None:
    from django.core.cache import cache

    from apps.core.outbox import events
    from apps.core.outbox.events import RELAY_TRIGGER_KEY, trigger_relay

    app = real_broker
    sent = []
    monkeypatch.setattr(events, "_last_trigger_at", -float("inf"))
    # A spy at the broker boundary: what is under test is how many relay tasks the triggers send.
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: sent.append(args))
    cache.delete(RELAY_TRIGGER_KEY)
    for _ in range(5):
        trigger_relay()
    assert len(sent) == 1
