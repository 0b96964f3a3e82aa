"""The transactional outbox: domain events are rows written in the transaction of the change they describe, and
a relay (apps.core.outbox.services, run by a task) publishes them once committed.

Process-local state: when this process last sent a relay trigger (`_last_trigger_at`), so it sends at most one a
window; every process triggers for itself and the beat sweeper publishes what a window skipped, so a fleet loses
no event to it.
"""

import time
from typing import Any

from django.core.cache import cache
from django.db import transaction

from apps.core.background.queueing import enqueue
from apps.core.models import OutboxEvent
from apps.core.tasks import relay_outbox_task

Priority = OutboxEvent.Priority


def outbox_event(
    event_type: str,
    payload: dict[str, Any],
    *,
    priority: Priority = Priority.MEDIUM,
    aggregate_type: str = "",
    aggregate_id: str = "",
) -> OutboxEvent:
    """An event not yet written: `publish_events` writes many at once."""
    return OutboxEvent(
        event_type=event_type,
        payload=payload,
        priority=priority,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
    )


def publish_event(
    event_type: str,
    payload: dict[str, Any],
    *,
    priority: Priority = Priority.MEDIUM,
    aggregate_type: str = "",
    aggregate_id: str = "",
) -> OutboxEvent:
    """Write an event in the caller's transaction; it is relayed after the commit, and never if rolled back."""
    (event,) = publish_events(
        [outbox_event(event_type, payload, priority=priority, aggregate_type=aggregate_type, aggregate_id=aggregate_id)]
    )
    return event


def publish_events(events: list[OutboxEvent]) -> list[OutboxEvent]:
    """`publish_event` for several events (from `outbox_event`), in one INSERT."""
    if not events:
        return events
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        OutboxEvent.objects.bulk_create(events)
    transaction.on_commit(trigger_relay)
    return events


RELAY_TRIGGER_KEY = "outbox:relay-triggered"
RELAY_TRIGGER_WINDOW_SECONDS = 1
# When this process last sent a trigger: within the window it sends none, without asking the cache either.
_last_trigger_at = -float("inf")


def trigger_relay() -> None:
    """Ask for a relay run soon. One run drains every pending event, so under load at most one trigger per
    window is sent (a task per event would double the workers' load); what a window skips, the next trigger or
    the beat sweeper (every few seconds) publishes. In-process (eager) mode always relays at once."""
    global _last_trigger_at  # noqa: PLW0603 - process-local state, see the opening comment
    if not relay_outbox_task.app.conf.task_always_eager:
        now = time.monotonic()
        if now - _last_trigger_at < RELAY_TRIGGER_WINDOW_SECONDS:
            return
        _last_trigger_at = now
        # add() is False only when another process sent a trigger in this window; a Redis outage (None) triggers.
        if cache.add(RELAY_TRIGGER_KEY, 1, timeout=RELAY_TRIGGER_WINDOW_SECONDS) is False:
            return
    enqueue(relay_outbox_task)
