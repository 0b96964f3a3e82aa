"""Background work of messages: delivery, status callbacks and inbound texts. Each task loads its rows through a
service (delivery/services.py, callbacks/services.py, inbound/services.py), imported inside the task (the service
enqueues the task)."""

import logging
from datetime import timedelta
from typing import Any

from billiard.einfo import ExceptionInfo
from celery import Task, shared_task
from django.conf import settings

from apps.core.background.backoff import exponential_backoff
from apps.core.background.outages import OUTAGE_ERRORS, is_outage, outage_countdown

from .backends import SmsDeliveryError

logger = logging.getLogger(__name__)

MAX_RETRY_COUNTDOWN_SECONDS = 15 * 60


def retry_countdown(retries: int) -> float:
    """Seconds before a refused send is tried again, backing off from MESSAGE_RETRY_BACKOFF_SECONDS."""
    base = float(settings.MESSAGE_RETRY_BACKOFF_SECONDS)
    return exponential_backoff(failures=retries, base=base, cap=MAX_RETRY_COUNTDOWN_SECONDS)


class DeliverMessageTask(Task):
    def on_failure(
        self, exc: Exception, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any], einfo: ExceptionInfo
    ) -> None:
        """The last attempt failed (or the gateway refused the message for good): record the final failure.

        A database or broker outage is never the message's failure: the message stays queued (the sweeper sends
        it once its retry could not even be enqueued)."""
        if is_outage(exc):
            return
        from .delivery.services import message_fail

        message_pk = args[0] if args else kwargs["message_pk"]
        message_fail(message_pk=message_pk, error=str(exc) or exc.__class__.__name__)


@shared_task(bind=True, base=DeliverMessageTask, acks_late=True, ignore_result=True, max_retries=None)
def deliver_message_task(self: Task, message_pk: int, outages: int = 0, waits: int = 0) -> None:
    """Send one message; on a refused send retry with backoff, and once MESSAGE_MAX_RETRIES are spent (or the
    gateway refuses it for good) `on_failure` marks it failed.

    A database or broker error retries within seconds (`outage_countdown`), without limit and without spending
    the gateway's retries: `outages` counts those retries apart from the gateway's. A sender's pace holding the
    message back is no attempt either: `waits` counts those, and the retry comes when its token is due."""
    from .delivery.services import SenderPaced, delivery_failure_is_final, message_deliver

    gateway_retries = self.request.retries - outages - waits
    countdown = retry_countdown(gateway_retries)
    try:
        message_deliver(message_pk=message_pk, retry_in=countdown)
    except SenderPaced as exc:
        if self.request.is_eager:
            return  # in-process: beat's sweep sends it once due
        raise self.retry(
            countdown=exc.wait,
            args=(message_pk,),
            kwargs={"outages": outages, "waits": waits + 1},
            max_retries=None,
        ) from exc
    except SmsDeliveryError as exc:
        if delivery_failure_is_final(exc, retries_done=gateway_retries):
            raise  # on_failure records the failure
        raise self.retry(exc=exc, countdown=countdown) from exc
    except OUTAGE_ERRORS as exc:
        if not is_outage(exc) or self.request.is_eager:
            raise  # eager: in-process, inside the caller's request; the sweeper retries it, not a loop here
        logger.warning("Delivery of message pk=%s met an outage, retrying: %s", message_pk, exc)
        raise self.retry(
            exc=exc,
            countdown=outage_countdown(outages),
            args=(message_pk,),
            kwargs={"outages": outages + 1, "waits": waits},
        ) from exc


@shared_task(ignore_result=True)
def requeue_stale_messages_task() -> int:
    """Beat sweeper: re-enqueue queued messages whose delivery task was lost (e.g. the broker was down)."""
    from .delivery.services import message_requeue_stale

    return message_requeue_stale(overdue_by=timedelta(seconds=settings.MESSAGE_REQUEUE_AFTER_SECONDS))


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_messages_task(self: Task, message_pks: list[int] | None = None) -> None:
    """Send the messages due for their first attempt, concurrently: a wake-up (no ids: a create's, a full batch's or
    beat's sweep) claims them oldest first, up to MESSAGE_DELIVERY_BATCH_SIZE (see dispatch.py); named ids
    go first. A refused send goes on alone as a `deliver_message_task` retry with backoff, a refusal for good marks
    its message failed at once. Should the batch itself fail (the database, a crash), its named messages go on
    alone and the rest stay queued for the next wake-up; with a dead worker the task is delivered again (late ack)
    and claims what is still queued: rows already sent are skipped, the rest resent under the same idempotency key."""
    from .delivery.services import delivery_failure_is_final, message_fail, messages_deliver

    message_pks = message_pks or []
    countdown = retry_countdown(0)
    try:
        # Eager (in-process) runs with ids send only their own messages, inside the caller's request.
        failed = messages_deliver(
            message_pks=message_pks, retry_in=countdown, claim_due=not (self.request.is_eager and message_pks)
        )
    except Exception:
        logger.warning(
            "Batch delivery failed; its %d named messages go on alone, the rest wait for the next wake-up",
            len(message_pks),
            exc_info=True,
        )
        for message_pk in message_pks:
            deliver_message_task.apply_async(args=(message_pk,))
        return
    for message_pk, error in failed:
        if delivery_failure_is_final(error, retries_done=0):
            message_fail(message_pk=message_pk, error=str(error) or error.__class__.__name__)
        else:
            # The batch was this message's first attempt: the task goes on from its first retry.
            # celery-types leaves out `retries`, the option Task.retry itself sends.
            deliver_message_task.apply_async(args=(message_pk,), countdown=countdown, retries=1)  # type: ignore[call-arg]


@shared_task(ignore_result=True)
def expire_messages_task() -> int:
    """Beat: end the messages past their validity as `expired`."""
    from .lifecycle.services import messages_expire_overdue

    return messages_expire_overdue()


@shared_task(ignore_result=True)
def redact_message_bodies_task() -> int:
    """Beat: redact the bodies past MESSAGE_BODY_RETENTION_DAYS (messages, inbound messages and their events), and
    final ones whose create asked it."""
    from .retention.services import message_bodies_redact

    return message_bodies_redact()


@shared_task(ignore_result=True)
def prune_idempotency_keys_task() -> int:
    """Beat: delete the idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS."""
    from .acceptance.services import idempotency_keys_prune

    return idempotency_keys_prune()


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def send_status_callback_task(self: Task, callback_pk: int) -> None:
    """POST one status callback; when it fails, retry with backoff until delivered or given up (the sender
    decides both and records every attempt)."""
    from .callbacks.services import status_callback_send

    retry_in = status_callback_send(callback_pk=callback_pk)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(ignore_result=True)
def sweep_status_callbacks_task() -> int:
    """Beat sweeper: enqueue pending callbacks whose task was lost (e.g. the broker was down)."""
    from .callbacks.services import status_callbacks_requeue_due

    return status_callbacks_requeue_due()


@shared_task(ignore_result=True)
def end_incomplete_inbound_task() -> int:
    """Beat: show the inbound texts still missing parts after INBOUND_PARTS_TIMEOUT_SECONDS as `incomplete`."""
    from .inbound.services import inbound_messages_end_incomplete

    return inbound_messages_end_incomplete()
