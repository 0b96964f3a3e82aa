"""The Celery app. With no CELERY_BROKER_URL the tasks run in-process (`task_always_eager`)."""

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_postrun.connect
def close_old_connections(task: Any = None, **_: Any) -> None:
    """After each task what Django does after each request: drop a connection that is broken or past CONN_MAX_AGE
    and keep the rest (CELERY_DB_REUSE_MAX keeps Celery's fixup from closing every connection at every task)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in-process, inside the caller's request or transaction: its connection is not ours to close
    from django.db import close_old_connections as django_close_old_connections

    django_close_old_connections()
