"""Scheduled sends on real servers: two Celery workers and a beat on RabbitMQ and PostgreSQL, sending to the bench's
fake gateway on 127.0.0.1, which counts the sends by idempotency key (the message_id)."""

import os
import subprocess
import sys
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
from .helpers import detail_url, wait_until_sent, warm_up_workers

SCHEDULED = 30
CANCELED = 10
DUE_IN_SECONDS = 4
# beat's wake-up comes every 5 s; a claim takes what is due at once.
SENT_WITHIN_SECONDS = 7


@pytest.fixture
def gateway(start_gateway) -> Gateway:
    return start_gateway(0.05)


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
    """Every worker up and connected (two messages each sent), and the gateway's counts back to zero."""
    warm_up_workers(workers, MessageFactory.create_batch(len(workers) * 2))
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
    start_http_worker, beat, gateway, auth_client, capsys
) -> None:
    workers = [start_http_worker(gateway, name=f"w{n}@%h") for n in (1, 2)]
    _warm_up(workers, gateway)
    user = UserFactory()
    client = auth_client(user)
    send_at = timezone.now() + timedelta(seconds=DUE_IN_SECONDS)
    messages = _schedule(user, SCHEDULED, send_at)
    canceled = messages[:CANCELED]

    answers = [client.post(f"{detail_url(m.message_id)}cancel/") for m in canceled]

    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "canceled")] * CANCELED
    to_send = [m.pk for m in messages[CANCELED:]]
    wait_until_sent(workers, to_send, timeout=DUE_IN_SECONDS + 60)
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
def test_a_scheduled_message_survives_a_restart_of_the_worker(start_http_worker, beat, gateway) -> None:
    first = start_http_worker(gateway)
    _warm_up([first], gateway)
    user = UserFactory()
    send_at = timezone.now() + timedelta(seconds=DUE_IN_SECONDS + 2)
    (message,) = _schedule(user, 1, send_at)

    stop(first)  # no worker at all for a while; then another one comes up
    second = start_http_worker(gateway)

    wait_until_sent([second], [message.pk], timeout=DUE_IN_SECONDS + 60)
    message.refresh_from_db()
    assert (message.status, message.attempts, gateway.posts) == ("sent", 1, 1)
    assert message.sent_at is not None
    assert message.sent_at >= send_at
