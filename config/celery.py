"""The Celery app. With no CELERY_BROKER_URL the tasks run in-process (`task_always_eager`)."""

import os
from pathlib import Path
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


@signals.import_modules.connect
def use_worker_metrics_folder(**_: Any) -> None:
    """A worker (or beat) about to load Django and the tasks, before any metric is made: its children's counters go
    to a multiprocess folder of its own, which its metrics port adds up (apps/core/observability/worker_metrics.py).
    Connected before the app is made, so before Celery's Django fixup sets Django up on the same signal."""
    from django.conf import settings

    if not settings.WORKER_METRICS_PORT:
        return
    from apps.core.observability import worker_metrics

    folder = worker_metrics.prepare_folder(base=settings.PROMETHEUS_MULTIPROC_DIR)
    # prometheus_client takes its mode and folder from the environment, and the children inherit it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


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


@signals.worker_ready.connect
def serve_worker_metrics(**_: Any) -> None:
    """Once the children are up (so none inherits the listening socket): the worker's own /metrics."""
    from django.conf import settings

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if settings.WORKER_METRICS_PORT and folder:
        from apps.core.observability import worker_metrics

        worker_metrics.serve(
            port=settings.WORKER_METRICS_PORT, address=settings.WORKER_METRICS_ADDRESS, folder=Path(folder)
        )


@signals.worker_process_shutdown.connect
def forget_child_metrics(pid: int | None = None, **_: Any) -> None:
    """A child that ends leaves its counters in the folder (they still count) and drops its live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@signals.worker_shutdown.connect
@signals.beat_init.connect
def stop_worker_metrics(**_: Any) -> None:
    """The worker's port and folder end with it; beat (which loads the tasks too) serves none."""
    from apps.core.observability import worker_metrics

    worker_metrics.stop()
