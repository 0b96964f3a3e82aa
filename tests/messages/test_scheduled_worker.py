"""Scheduled sends on real servers: two Celery workers and a beat on RabbitMQ and PostgreSQL, sending to the bench's
fake gateway on 127.0.0.1, which counts the sends by idempotency key (the message_id)."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messages.acceptance.services import message_create
from apps.messages.models import Message
from bench.gateway import Gateway
from tests.conftest import database_url
from tests.helpers.processes import BASE_DIR, project_env, stop
from tests.users.factories import UserFactory

from .factories import MessageFactory
from .helpers import detail_url

SCHEDULED = 30
CANCELED = 10
DUE_IN_SECONDS = 4
# beat's wake-up comes every 5 s; a claim takes what is due at once.
SENT_WITHIN_SECONDS = 7


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = Gateway(0, 0.05)
    thread = threading.Thread(target=gateway.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        gateway.shutdown()
        gateway.server_close()


@pytest.fixture
def beat(start_celery_worker, tmp_path) -> Iterator[subprocess.Popen]:
    """A real beat (deliver-due-messages every 5 s, expire-messages every 15 s)."""
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING",
         "--schedule", str(tmp_path / "beat-schedule")],
        cwd=BASE_DIR, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        stop(process)


def _warm_up(workers: list[subprocess.Popen], gateway: Gateway) -> None:
    """Every worker up and connected (one message each sent), and the gateway's counts back to zero."""
    from apps.messages.tasks import deliver_message_task

    warm = MessageFactory.create_batch(len(workers) * 2)
    for message in warm:
        deliver_message_task.delay(message.pk)
    deadline = time.monotonic() + 60
    while Message.objects.filter(pk__in=[m.pk for m in warm], status="sent").count() < len(warm):
        assert time.monotonic() < deadline, "the workers did not come up"
        assert all(worker.poll() is None for worker in workers), "a worker exited"
        time.sleep(0.2)
    gateway.posts, gateway.keys = 0, set()


def _schedule(user, count: int, send_at) -> list[Message]:
    return [
        message_create(
            actor=user,
            account_id=user.account_id,
            sender_number="+15551230001",
            receiver_number=f"+4420794609{n:02d}",
            body=f"scheduled {n}",
            send_at=send_at,  # the API asks 60 s ahead at least; the rule of the claim is the same
        ).message
        for n in range(count)
    ]


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_two_workers_send_each_scheduled_message_once_within_seconds_and_never_a_canceled_one(
    start_celery_worker, beat, gateway, auth_client, capsys
) -> None:
    url = f"http://127.0.0.1:{gateway.server_address[1]}/messages"
    workers = [
        start_celery_worker(
            name=f"w{n}@%h",
            DJANGO_SETTINGS_MODULE="tests.messages.gateway_settings",
            SMS_GATEWAY_URL=url,
            WORKER_METRICS_PORT="0",  # two workers on one host: neither takes the metrics port
        )
        for n in (1, 2)
    ]
    _warm_up(workers, gateway)
    user = UserFactory()
    client = auth_client(user)
    send_at = timezone.now() + timedelta(seconds=DUE_IN_SECONDS)
    messages = _schedule(user, SCHEDULED, send_at)
    canceled = messages[:CANCELED]

    answers = [client.post(f"{detail_url(m.message_id)}cancel/") for m in canceled]

    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "canceled")] * CANCELED
    to_send = [m.pk for m in messages[CANCELED:]]
    deadline = time.monotonic() + DUE_IN_SECONDS + 60
    while time.monotonic() < deadline:
        assert all(worker.poll() is None for worker in workers), "a worker exited"
        if Message.objects.filter(pk__in=to_send, status=Message.Status.SENT).count() == len(to_send):
            break
        time.sleep(0.2)
    time.sleep(2)  # a second send, were there one, would come now
    rows = Message.objects.filter(pk__in=[m.pk for m in messages])
    assert sorted(rows.values_list("status", "attempts")) == sorted(
        [("canceled", 0)] * CANCELED + [("sent", 1)] * (SCHEDULED - CANCELED)
    )
    assert (gateway.posts, gateway.keys) == (len(to_send), {m.message_id for m in messages[CANCELED:]})
    sent_times = [m.sent_at for m in rows if m.sent_at is not None]
    lag = max((sent_at - send_at).total_seconds() for sent_at in sent_times)
    with capsys.disabled():
        print(
            f"\n{len(to_send)} scheduled messages sent by 2 workers at most {lag:.1f} s after send_at; "
            f"{CANCELED} canceled"
        )
    assert lag <= SENT_WITHIN_SECONDS
    assert min(sent_times) >= send_at
    assert beat.poll() is None, "beat exited"


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_a_scheduled_message_survives_a_restart_of_the_worker(start_celery_worker, beat, gateway) -> None:
    url = f"http://127.0.0.1:{gateway.server_address[1]}/messages"
    settings = {"DJANGO_SETTINGS_MODULE": "tests.messages.gateway_settings", "SMS_GATEWAY_URL": url}
    first = start_celery_worker(**settings)
    _warm_up([first], gateway)
    user = UserFactory()
    send_at = timezone.now() + timedelta(seconds=DUE_IN_SECONDS + 2)
    (message,) = _schedule(user, 1, send_at)

    stop(first)  # no worker at all for a while; then another one comes up
    second = start_celery_worker(**settings)

    deadline = time.monotonic() + DUE_IN_SECONDS + 60
    while time.monotonic() < deadline and not Message.objects.filter(pk=message.pk, status="sent").exists():
        assert second.poll() is None, "the worker exited"
        time.sleep(0.2)
    message.refresh_from_db()
    assert (message.status, message.attempts, gateway.posts) == ("sent", 1, 1)
    assert message.sent_at is not None
    assert message.sent_at >= send_at
