"""Background sending of status callbacks. The rules live in callbacks.py and callback_sender.py."""

from celery import Task, shared_task


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def send_status_callback_task(self: Task, callback_pk: int) -> None:
    """POST one status callback; when it fails, retry with backoff until delivered or given up (the sender
    decides both and records every attempt)."""
    from .callback_sender import status_callback_send

    retry_in = status_callback_send(callback_pk=callback_pk)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(ignore_result=True)
def sweep_status_callbacks_task() -> int:
    """Beat sweeper: enqueue pending callbacks whose task was lost (e.g. the broker was down)."""
    from .callbacks import status_callbacks_requeue_due

    return status_callbacks_requeue_due()
