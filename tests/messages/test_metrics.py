"""The messages' figures where a scraper finds them: the delivered counter on the worker's own port, the queue's
head on every /metrics."""

import time
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.messages import metrics
from apps.messages.models import Message
from apps.messages.tasks import deliver_messages_task
from tests.helpers.processes import free_port, wait_for_http

from .factories import MessageFactory


def samples(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return samples(response.read().decode())


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_a_worker_exports_on_its_own_port_the_messages_its_processes_delivered(start_celery_worker, tmp_path) -> None:
    port = free_port()
    worker = start_celery_worker(WORKER_METRICS_PORT=str(port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    wait_for_http(f"http://127.0.0.1:{port}/metrics", timeout=60, process=worker)
    messages = MessageFactory.create_batch(7)
    # Two batches: both of the worker's processes may take a share; the port adds their files up.
    deliver_messages_task.delay([m.pk for m in messages[:3]])
    deliver_messages_task.delay([m.pk for m in messages[3:]])
    deadline = time.monotonic() + 60
    exported = scrape(port)
    # Counted once each commit's other after-commit work (events, callbacks) is done: a moment after the rows.
    while exported["messages_delivered_total"] < 7 and time.monotonic() < deadline:
        assert worker.poll() is None, "the worker exited"
        time.sleep(0.2)
        exported = scrape(port)

    assert Message.objects.filter(status=Message.Status.SENT).count() == 7
    assert exported["messages_delivered_total"] == 7
    assert exported["messages_failed_total"] == 0
    assert [path.name.startswith("celery-metrics-") for path in tmp_path.iterdir()] == [True]


@pytest.mark.django_db
def test_every_metrics_answer_shows_how_old_and_how_late_the_queue_head_is(api_client, monkeypatch) -> None:
    monkeypatch.setattr(metrics, "HEAD_CACHE_SECONDS", 0)
    now = timezone.now()
    MessageFactory(created_at=now - timedelta(seconds=120), next_attempt_at=now - timedelta(seconds=100))
    MessageFactory(created_at=now - timedelta(hours=2), next_attempt_at=now + timedelta(minutes=5))  # a retry, later
    MessageFactory(created_at=now - timedelta(hours=3), status=Message.Status.SENT)

    exported = samples(api_client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode())

    assert 120 <= exported["messages_oldest_queued_age_seconds"] < 130
    assert 100 <= exported["messages_delivery_lag_seconds"] < 110

    Message.objects.filter(status=Message.Status.QUEUED).update(status=Message.Status.SENT)
    exported = samples(api_client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode())
    assert (exported["messages_oldest_queued_age_seconds"], exported["messages_delivery_lag_seconds"]) == (0, 0)
