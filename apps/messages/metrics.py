"""The messages' figures: counters where they are counted (the web counts accepted messages, the workers sent and
failed ones; each exports its own, see apps/core/observability/metrics.py), and the queue's head read from the
database when scraped.

Process-local state: the last head read and when (`_head`), kept HEAD_CACHE_SECONDS, so several scrapers of one
process cost one indexed query per period; every process reads the database itself.
"""

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from apps.core.background.outages import DATABASE_ERRORS
from apps.core.observability import metrics as _core_metrics  # noqa: F401 - makes the multiprocess folder first

from .models import Message

logger = logging.getLogger(__name__)

messages_created_total = Counter("messages_created", "Messages accepted by the API")
messages_delivered_total = Counter("messages_delivered", "Messages the SMS backend accepted")
messages_failed_total = Counter("messages_failed", "Messages that failed once every retry was spent")
messages_segments_sent_total = Counter("messages_segments_sent", "SMS segments of the messages the backend accepted")
messages_canceled_total = Counter("messages_canceled", "Messages canceled before they were sent")
messages_expired_total = Counter("messages_expired", "Messages that expired before they were sent")

HEAD_CACHE_SECONDS = 5.0
_head: tuple[float, tuple[datetime, datetime] | None] = (-float("inf"), None)
_head_lock = threading.Lock()


def queue_head() -> tuple[datetime, datetime] | None:
    """(next_attempt_at, created_at) of the queued message due first (msg_queued_due_idx: one index entry), or
    None when nothing is queued; read at most once per HEAD_CACHE_SECONDS."""
    global _head  # noqa: PLW0603 - process-local state, see the opening comment
    with _head_lock:
        read_at, head = _head
        if time.monotonic() - read_at >= HEAD_CACHE_SECONDS:
            head = (
                Message.objects.filter(status=Message.Status.QUEUED)
                .order_by("next_attempt_at")
                .values_list("next_attempt_at", "created_at")
                .first()
            )
            _head = (time.monotonic(), head)
        return head


class QueuedMessagesCollector(Collector):
    """How far behind delivery is, for an autoscaler: both 0 when nothing is queued."""

    def collect(self) -> Iterator[Metric]:
        try:
            head = queue_head()
        except DATABASE_ERRORS as exc:  # a scrape still answers the rest
            logger.debug("Could not read the message queue's head: %s", exc)
            return
        now = timezone.now()
        due_at, created_at = head if head is not None else (now, now)
        yield GaugeMetricFamily(
            "messages_oldest_queued_age_seconds",
            "Age of the queued message due first (the head of the delivery queue)",
            value=max((now - created_at).total_seconds(), 0.0),
        )
        yield GaugeMetricFamily(
            "messages_delivery_lag_seconds",
            "How long the queued message due first has been due without being sent (0: nothing overdue)",
            value=max((now - due_at).total_seconds(), 0.0),
        )
