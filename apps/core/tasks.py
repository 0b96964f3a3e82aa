"""The outbox's tasks; each imports its service inside its body (the service enqueues the task)."""

from datetime import timedelta

from celery import shared_task


@shared_task(ignore_result=True)
def relay_outbox_task() -> int:
    """Publish pending outbox events. Triggered after each commit that wrote one, and by beat as the sweeper."""
    from apps.core.outbox.services import relay_pending_events

    return relay_pending_events()


@shared_task(ignore_result=True)
def prune_outbox_task(days: int = 7) -> int:
    """Delete events published more than `days` ago."""
    from apps.core.outbox.services import outbox_prune

    return outbox_prune(older_than=timedelta(days=days))
