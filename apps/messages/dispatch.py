"""Waking the workers for accepted messages, and sending a batch concurrently.

The queued row is the queue (house style, "Rows are the queue"). A create writes its message `queued` in its
transaction and, once committed, `request_delivery` publishes a wake-up from the request: `deliver_messages_task`
without ids. The worker process that takes it claims the messages due for their first attempt (`SELECT ... FOR
UPDATE SKIP LOCKED`, oldest first, up to MESSAGE_DELIVERY_BATCH_SIZE) and sends them. Nothing waits in the web
process's memory: a process killed right after its 201 leaves a committed row, which the next wake-up from any
process claims, or beat's sweep (`deliver-due-messages`, a wake-up every few seconds) at the latest.

Wake-ups are deduplicated through the cache: the process that publishes one sets `WAKE_PENDING_KEY`, and the worker
deletes it when it starts the task, before it claims. A create that finds the key set publishes nothing: the worker
that deletes the key claims after this commit, so its claim sees this row. Under a steady flow of creates one
wake-up waits in the queue at a time instead of one task per message. The key expires after WAKE_PENDING_SECONDS,
so a wake-up that never arrives (the broker down, the publishing process killed between the key and the publish)
holds the next ones back that long at most, and a broker that is down costs one failed publish per window, not
one per request. Without a shared cache (no REDIS_URL) each process keeps its own key and the window is what bounds
the wait; with Redis unreachable every create publishes.

A batch that comes back full publishes the next wake-up before its sends, so a backlog spreads over the worker's
processes a batch at a time. In-process (eager) Celery keeps delivering each message at once.

Process-local state: the thread pool a worker process sends a batch with (`_executor`), made on first use after the
fork; it holds no message, only threads.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache

from apps.core.background.queueing import enqueue

from .backends import BaseSmsBackend, SmsDeliveryError
from .models import Message
from .tasks import deliver_message_task, deliver_messages_task

WAKE_PENDING_KEY = "messages:delivery-wake-pending"
WAKE_PENDING_SECONDS = 1


def request_delivery(message_pk: int) -> None:
    """Have a committed message delivered: wake the workers (once for many creates), or send it at once when Celery
    is eager."""
    if deliver_message_task.app.conf.task_always_eager:
        enqueue(deliver_message_task, message_pk)
    else:
        wake_workers()


def wake_workers() -> None:
    """Publish a wake-up unless one is already pending. add() is False only while another one is; a cache outage
    (None) publishes."""
    if cache.add(WAKE_PENDING_KEY, 1, timeout=WAKE_PENDING_SECONDS) is False:
        return
    enqueue(deliver_messages_task)


def wake_received() -> None:
    """The worker took a wake-up and claims next: from now on a create publishes again."""
    cache.delete(WAKE_PENDING_KEY)


_executor: ThreadPoolExecutor | None = None


def send_concurrently(backend: BaseSmsBackend, messages: Sequence[Message]) -> list[str | SmsDeliveryError]:
    """`backend.send` for every message at once; each outcome is the provider's id or the refusal."""
    global _executor  # one pool per process, made on first use (after the worker forked)  # noqa: PLW0603 - process-local state, see the opening comment
    if _executor is None:
        _executor = ThreadPoolExecutor(settings.MESSAGE_DELIVERY_BATCH_SIZE, thread_name_prefix="sms-send")

    def send(message: Message) -> str | SmsDeliveryError:
        try:
            return backend.send(message)
        except SmsDeliveryError as exc:
            return exc

    if len(messages) == 1:
        return [send(messages[0])]
    return list(_executor.map(send, messages))
