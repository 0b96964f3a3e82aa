"""A worker keeps its database connection from one task to the next, and drops it where Django would between two
requests. Celery's Django fixup closes every connection before and after every task unless CELERY_DB_REUSE_MAX is
set: a delivery then spent more time connecting to PostgreSQL than delivering."""

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup  # type: ignore[attr-defined]  # in celery, not in celery-types
from django.db import connection

from config.celery import app, close_old_connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _fresh_connection() -> object:
    connection.close()  # whatever an earlier test left open (or broken)
    connection.ensure_connection()
    return connection.connection


def _task_boundary(fixup: DjangoWorkerFixup) -> None:
    """What a worker process runs between two tasks (a task's request outside a task is not eager)."""
    task = app.tasks["apps.messages.tasks.deliver_message_task"]
    fixup.on_task_postrun(sender=task)
    close_old_connections(task=task)
    fixup.on_task_prerun(sender=task)


def test_the_connection_outlives_a_task() -> None:
    fixup = DjangoWorkerFixup(app)
    opened = _fresh_connection()

    for _ in range(3):
        _task_boundary(fixup)

    assert connection.connection is opened
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is opened


def test_a_connection_past_conn_max_age_is_closed_at_the_task_boundary() -> None:
    fixup = DjangoWorkerFixup(app)
    _fresh_connection()
    connection.close_at = time.monotonic() - 1

    _task_boundary(fixup)

    assert connection.connection is None


def test_an_eager_task_leaves_the_callers_connection_alone() -> None:
    opened = _fresh_connection()
    connection.close_at = time.monotonic() - 1

    task = app.tasks["apps.messages.tasks.deliver_message_task"]
    task.push_request(is_eager=True)
    try:
        close_old_connections(task=task)
    finally:
        task.pop_request()

    assert connection.connection is opened
