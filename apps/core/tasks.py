from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import OutboxEvent
from .relay import relay_pending_events


@shared_task(ignore_result=True)
def relay_outbox_task() -> int:
    """Publish pending outbox events. Triggered after each commit that wrote one, and by beat as the sweeper."""
    return relay_pending_events()


@shared_task(ignore_result=True)
def prune_outbox_task(days: int = 7) -> int:
    """Delete events published more than `days` ago."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = OutboxEvent.objects.filter(published_at__lt=cutoff).delete()
    return deleted
