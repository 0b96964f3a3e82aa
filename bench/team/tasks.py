from celery import shared_task
from django.utils import timezone

from .models import Message


@shared_task
def deliver_message(message_pk: int) -> None:
    """A message per task. Marked sent without a gateway: the bench's create cases measure the hand-off, not sends."""
    Message.objects.filter(pk=message_pk, status="queued").update(status="sent", attempts=1, sent_at=timezone.now())
