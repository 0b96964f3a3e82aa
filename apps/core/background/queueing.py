"""Enqueue Celery tasks after the surrounding transaction commits, never failing the caller when the broker is down.

A task enqueued before the commit could run before its rows are visible, or for rows that are rolled back. A
broker outage must not turn an accepted write into a 500: the write is committed, the failure is logged, and the
beat sweepers (outbox relay, stale-message requeue) pick the work up once the broker is back.
"""

import logging
from datetime import datetime
from typing import Any

from celery import Task
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any, **options: Any) -> bool:
    """Send `task` now. Returns False (and logs) when the broker refuses."""
    try:
        task.apply_async(args=args, **options)
    except Exception:  # kombu raises a family of transport errors; none may reach the client
        logger.warning("Could not enqueue %s; a sweeper will retry", task.name, exc_info=True)
        return False
    return True


def enqueue_on_commit(task: Task, *args: Any, **options: Any) -> None:
    """Send `task` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: enqueue(task, *args, **options))


def requeue_overdue(
    queryset: QuerySet[Any], *, overdue_before: datetime, task: Task, batch_size: int, what: str
) -> int:
    """Enqueue `task` (with the row's pk) for up to `batch_size` rows of `queryset` whose `next_attempt_at` is before
    `overdue_before`, most overdue first, once the caller's transaction commits; returns how many (logged as `what`).

    A sweeper's half: rows another sweeper holds are skipped, and each row's `next_attempt_at` becomes now, so it is
    not overdue again until another full period passes and a slow queue is not flooded with duplicates."""
    now = timezone.now()
    due = list(
        queryset.select_for_update(skip_locked=True)
        .filter(next_attempt_at__lt=overdue_before)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not due:
        return 0
    queryset.model._default_manager.filter(pk__in=due).update(next_attempt_at=now)
    for pk in due:
        enqueue_on_commit(task, pk)
    logger.info("Re-enqueued %d %s", len(due), what)
    return len(due)
