"""Handing accepted messages to the workers in batches, and sending a batch concurrently.

A create used to publish one delivery task from inside the request, waiting for the broker. Now the request only
records the message (the row, `queued`, is the durable record) and, once committed, adds its id to this process's
pending list; a thread publishes what gathered every few milliseconds as one `deliver_messages_task`. A process that
dies before publishing, or a broker that is down, leaves the messages queued, and the beat sweeper
(`requeue_stale_messages_task`) enqueues them again. In-process (eager) Celery keeps delivering each at once.

A worker sends a batch's messages concurrently, so one worker process keeps a batch's worth of sends in flight
against a gateway that takes a few hundred milliseconds to answer, on one database connection. A batch also takes
the other messages already due for their first attempt (`SELECT ... FOR UPDATE SKIP LOCKED`, oldest first, up to
MESSAGE_DELIVERY_BATCH_SIZE in all): under a steady trickle of creates each batch names only a few ids, and the
worker's processes would each spend a gateway round trip on those few; instead, the batch that starts while others
are in flight carries everything that gathered meanwhile, and the later batches of those ids find them sent (or
held by a batch in flight) and skip them. SQLite, which cannot skip locked rows, and eager runs send only their
own ids.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings

from apps.core.background.queueing import enqueue
from apps.core.observability import tracing

from ..backends import BaseSmsBackend, SmsDeliveryError
from ..models import Message
from ..tasks import deliver_message_task, deliver_messages_task

logger = logging.getLogger(__name__)

FLUSH_AFTER_SECONDS = 0.02  # how long a first pending id waits for others to join its batch


class _PendingDeliveries:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.pending: list[int] = []
        # The trace of the request whose message opened the batch: the batch's task continues it.
        self.trace_context: Any = None
        self.owner_pid: int | None = None  # the process whose thread publishes (a fork starts its own)

    def add(self, message_pk: int) -> None:
        with self.lock:
            if self.owner_pid != os.getpid():
                self.owner_pid = os.getpid()
                self.pending = []
                threading.Thread(target=self._publish_forever, name="message-deliveries", daemon=True).start()
            if not self.pending:
                self.trace_context = tracing.current_context()
            self.pending.append(message_pk)
        self.wake.set()

    def _publish_forever(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(FLUSH_AFTER_SECONDS)
            self.wake.clear()
            self.publish()

    def publish(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, []
            trace_context, self.trace_context = self.trace_context, None
        size = settings.MESSAGE_DELIVERY_BATCH_SIZE
        with tracing.attached(trace_context):
            for start in range(0, len(pending), size):
                enqueue(deliver_messages_task, pending[start : start + size])


_pending = _PendingDeliveries()
atexit.register(_pending.publish)


def request_delivery(message_pk: int) -> None:
    """Have a committed message delivered: batched with others of this process, or at once when Celery is eager."""
    if deliver_message_task.app.conf.task_always_eager:
        enqueue(deliver_message_task, message_pk)
    else:
        _pending.add(message_pk)


_executor: ThreadPoolExecutor | None = None


def send_concurrently(backend: BaseSmsBackend, messages: Sequence[Message]) -> list[str | SmsDeliveryError]:
    """`backend.send` for every message at once; each outcome is the provider's id or the refusal."""
    global _executor  # one pool per process, made on first use (after the worker forked)
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
