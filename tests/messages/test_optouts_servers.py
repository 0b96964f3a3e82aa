"""Opt-outs on real servers: parallel STOPs on PostgreSQL make one opt-out, and keywords' effects seen through a real
Celery worker on RabbitMQ sending to a fake `http` gateway on 127.0.0.1 that records every body it is given."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.messages.acceptance.services import message_create
from apps.messages.models import Message, OptOut, SenderNumber
from apps.messages.optouts.services import KeywordOutcome, apply_keyword
from bench.gateway import Gateway, GatewayHandler
from tests.users.factories import UserFactory

from .helpers import MESSAGES_URL

OURS = "+15551230001"
THEIRS = "+442079460958"
PARALLEL = 8
DELIVERY_TIMEOUT_SECONDS = 60


def _in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(n)` on `count` threads at once (each with its own database connection), their results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[n] = work(n)
        except Exception as exc:  # reported by the assertion on the results
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_stops_for_the_same_pair_make_one_opt_out_and_one_confirmation() -> None:
    user = UserFactory()
    SenderNumber.objects.create(account_id=user.account_id, value=OURS, kind="phone")

    outcomes = _in_parallel(
        PARALLEL,
        lambda n: apply_keyword(
            account_id=user.account_id, our_number=OURS, their_number=THEIRS, body="STOP" if n % 2 else " stop "
        ),
    )

    assert all(isinstance(outcome, KeywordOutcome) for outcome in outcomes), outcomes
    assert sum(outcome.opt_out is not None for outcome in outcomes) == 1
    assert list(OptOut.objects.values_list("sender_number", "recipient_number")) == [(OURS, THEIRS)]
    assert Message.objects.filter(auto_reply="stop_confirmation").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_account_wide_adds_through_the_api_make_one_row(auth_client) -> None:
    user = UserFactory()
    body = {"recipient_number": THEIRS, "sender_number": None}

    statuses = _in_parallel(
        PARALLEL, lambda n: auth_client(user).post("/api/v1/accounts/me/opt-outs/", body, format="json").status_code
    )

    assert sorted(statuses) == [200] * (PARALLEL - 1) + [201]
    assert list(OptOut.objects.values_list("sender_number", "recipient_number", "source")) == [(None, THEIRS, "api")]


class RecordingHandler(GatewayHandler):
    server: "RecordingGateway"

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Idempotency-Key", "")
        with self.server.lock:
            self.server.posts += 1
            self.server.keys.add(key)
            self.server.bodies.append(json.loads(raw))
        self._answer({"id": f"fake-{key}"})


class RecordingGateway(Gateway):
    """The bench's fake gateway, keeping each JSON body it was posted (`{"from", "to", "body", "reference"}`)."""

    def __init__(self) -> None:
        super().__init__(0, 0.0)
        self.RequestHandlerClass = RecordingHandler
        self.bodies: list[dict[str, Any]] = []


@pytest.fixture
def gateway() -> Iterator[RecordingGateway]:
    gateway = RecordingGateway()
    thread = threading.Thread(target=gateway.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        gateway.shutdown()
        gateway.server_close()


@pytest.fixture
def worker(start_celery_worker, gateway):
    return start_celery_worker(
        DJANGO_SETTINGS_MODULE="tests.messages.gateway_settings",
        SMS_GATEWAY_URL=f"http://127.0.0.1:{gateway.server_address[1]}/messages",
    )


def _wait_until_final(worker, pks: list[int]) -> list[Message]:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker exited"
        rows = list(Message.objects.filter(pk__in=pks))
        if all(row.status in ("sent", "failed") for row in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"not final within {DELIVERY_TIMEOUT_SECONDS} s: {[(m.pk, m.status) for m in rows]}")


def _sent_bodies(gateway: RecordingGateway) -> list[tuple[str, str, str]]:
    return [(body["from"], body["to"], body["body"]) for body in gateway.bodies]


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_help_is_answered_with_the_help_text_delivered_by_the_worker(worker, gateway, auth_client) -> None:
    user = UserFactory()
    SenderNumber.objects.create(account_id=user.account_id, value=OURS, kind="phone")
    auth_client(user).patch("/api/v1/accounts/me/messaging/", {"help_text": "Acme help: 555-0100."}, format="json")

    outcome = apply_keyword(account_id=user.account_id, our_number=OURS, their_number=THEIRS, body="help")
    assert outcome.reply is not None

    (reply,) = _wait_until_final(worker, [outcome.reply.pk])
    assert (reply.status, reply.auto_reply, reply.provider_message_id) == ("sent", "help", f"fake-{reply.message_id}")
    assert _sent_bodies(gateway) == [(OURS, THEIRS, "Acme help: 555-0100.")]


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_stop_refuses_a_create_and_start_lets_the_next_one_through_the_worker(worker, gateway, auth_client) -> None:
    user = UserFactory()
    SenderNumber.objects.create(account_id=user.account_id, value=OURS, kind="phone")
    client = auth_client(user)
    body = {"sender_number": OURS, "receiver_number": THEIRS, "body": "Your order shipped"}

    stop = apply_keyword(account_id=user.account_id, our_number=OURS, their_number=THEIRS, body="STOP")
    refused = client.post(MESSAGES_URL, body, format="json")
    apply_keyword(account_id=user.account_id, our_number=OURS, their_number=THEIRS, body="start")
    accepted = client.post(MESSAGES_URL, body, format="json")
    assert stop.reply is not None

    assert (refused.status_code, refused.json()["code"]) == (403, "recipient_opted_out")
    assert accepted.status_code == 201
    sent = Message.objects.get(message_id=accepted.json()["message_id"])
    rows = _wait_until_final(worker, [stop.reply.pk, sent.pk])
    assert sorted(row.status for row in rows) == ["sent", "sent"]
    assert sorted(_sent_bodies(gateway)) == sorted(
        [
            (OURS, THEIRS, "You are unsubscribed. Reply START to resubscribe."),
            (OURS, THEIRS, "Your order shipped"),
        ]
    )


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_a_scheduled_message_whose_recipient_opts_out_ends_failed_on_the_worker_unsent(worker, gateway) -> None:
    from apps.messages.tasks import deliver_messages_task

    user = UserFactory()
    scheduled = message_create(
        actor=user,
        account_id=user.account_id,
        sender_number=OURS,
        receiver_number=THEIRS,
        body="Scheduled news",
        send_at=timezone.now() + timedelta(minutes=5),
    ).message
    stop = apply_keyword(account_id=user.account_id, our_number=OURS, their_number=THEIRS, body="STOPALL")
    assert stop.reply is not None
    past = timezone.now() - timedelta(seconds=1)
    Message.objects.filter(pk=scheduled.pk).update(send_at=past, next_attempt_at=past)

    deliver_messages_task.delay()  # the wake-up beat's sweep sends every 5 s

    rows = {row.pk: row for row in _wait_until_final(worker, [scheduled.pk, stop.reply.pk])}
    failed = rows[scheduled.pk]
    assert (failed.status, failed.error_code, failed.attempts, failed.backend) == (
        "failed",
        "recipient_opted_out",
        0,
        "",
    )
    assert rows[stop.reply.pk].status == "sent"
    assert _sent_bodies(gateway) == [(OURS, THEIRS, "You are unsubscribed. Reply START to resubscribe.")]
