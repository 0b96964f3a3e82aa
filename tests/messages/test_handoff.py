"""The queued row is the queue: a create wakes the workers once for many, a worker claims what is due, and a message
whose web process died right after its commit is sent by the next wake-up or beat's sweep, within seconds."""

import signal
import subprocess
import sys
import time

import pytest

from apps.core.observability import metrics
from apps.messages.backends import locmem
from apps.messages.delivery.services import messages_deliver
from apps.messages.models import Message
from apps.messages.tasks import deliver_messages_task
from tests.conftest import database_url
from tests.helpers.processes import BASE_DIR, project_env, run_python, stop
from tests.users.factories import UserFactory

from .factories import MessageFactory
from .helpers import MESSAGES_URL

SENT_WITHIN_SECONDS = 15


def critical_queue_depth(monkeypatch) -> int:
    from django.conf import settings

    monkeypatch.setattr(metrics, "QUEUE_DEPTH_CACHE_SECONDS", 0)
    return metrics.celery_queue_depths()[f"{settings.CELERY_QUEUE_PREFIX}critical"]


@pytest.mark.broker
@pytest.mark.django_db
def test_creates_publish_one_wake_up_while_one_is_pending_and_the_worker_claims_them_all(
    real_broker, user_client, payload, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    real_broker.control.purge()

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert user_client.post(MESSAGES_URL, payload, format="json").status_code == 201

    assert critical_queue_depth(monkeypatch) == 1  # one wake-up for the three, not a task each
    deliver_messages_task.apply()  # what the worker does with it: claims every message due
    assert sorted(sms.message_id for sms in locmem.outbox) == sorted(
        Message.objects.values_list("message_id", flat=True)
    )
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}

    with django_capture_on_commit_callbacks(execute=True):
        user_client.post(MESSAGES_URL, payload, format="json")
    assert critical_queue_depth(monkeypatch) == 2  # the worker took the first: the next create wakes it again
    real_broker.control.purge()


@pytest.mark.broker
@pytest.mark.django_db
def test_a_full_batch_wakes_one_more_process_not_one_per_message(real_broker, settings, monkeypatch) -> None:
    settings.MESSAGE_DELIVERY_BATCH_SIZE = 5
    MessageFactory.create_batch(8)
    real_broker.control.purge()

    assert messages_deliver(message_pks=[], claim_due=True) == []  # what a worker's wake-up runs

    assert len(locmem.outbox) == 5
    assert critical_queue_depth(monkeypatch) == 1  # the next batch's wake-up
    real_broker.control.purge()


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_wake_up_claims_the_due_first_attempts_and_nothing_else(user) -> None:
    due = MessageFactory.create_batch(3, account_id=user.account_id)
    retrying = MessageFactory(account_id=user.account_id, attempts=1)

    deliver_messages_task.apply()

    assert sorted(sms.message_id for sms in locmem.outbox) == sorted(m.message_id for m in due)
    retrying.refresh_from_db()
    assert (retrying.status, retrying.attempts) == ("queued", 1)


# A process that accepts a message and is killed the moment it commits, before it could publish anything.
CREATE_AND_DIE = """
import django, os, signal
django.setup()
from apps.messages.acceptance import services
from apps.users.models import User
services.request_delivery = lambda pk: os.kill(os.getpid(), signal.SIGKILL)
user = User.objects.get(pk=%d)
services.message_create(actor=user, account_id=user.account_id, sender_number="+15551230001",
                        receiver_number="+442079460958", body="orphaned by a killed process")
"""


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_a_message_whose_process_was_killed_right_after_its_commit_is_sent_within_seconds(
    start_celery_worker, tmp_path, capsys
) -> None:
    worker = start_celery_worker()
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=__import__("os").environ["CELERY_BROKER_URL"],
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING",
         "--schedule", str(tmp_path / "beat-schedule")],
        cwd=BASE_DIR, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        warm = MessageFactory()  # the worker is up once it has sent this one
        deliver_messages_task.delay()
        _wait_for_sent(worker, warm.pk, timeout=60)
        user = UserFactory()

        killed = run_python(CREATE_AND_DIE % user.pk, env=env)
        died_at = time.monotonic()

        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        orphan = Message.objects.get(body="orphaned by a killed process")
        assert (orphan.status, orphan.attempts) in {("queued", 0), ("sent", 1)}
        _wait_for_sent(worker, orphan.pk, timeout=60)
        seconds = time.monotonic() - died_at
        with capsys.disabled():
            print(f"\nmessage of a killed process sent {seconds:.1f} s after the kill (beat sweep every 5 s)")
        assert seconds <= SENT_WITHIN_SECONDS
        assert beat.poll() is None, "beat exited"
    finally:
        stop(beat)


def _wait_for_sent(worker: subprocess.Popen, pk: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker exited"
        if Message.objects.filter(pk=pk, status=Message.Status.SENT).exists():
            return
        time.sleep(0.1)
    raise AssertionError(f"message {pk} not sent within {timeout} s")
