"""Enqueue Celery tasks after the surrounding transaction commits, never failing the caller when the broker is down.

A task enqueued before the commit could run before its rows are visible, or for rows that are rolled back. A
broker outage must not turn an accepted write into a 500: the write is committed, the failure is logged, and the
beat sweepers (outbox relay, stale-message requeue) pick the work up once the broker is back.
"""

import logging
from typing import Any

from celery import Task
from django.db import transaction

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
