"""Failover across gateways: a send refused for a retryable reason goes to the next gateway in the same attempt; a
gateway that keeps failing is skipped for a cool-down (shared breaker), then probed; the message names its
gateway, and its retries and receipts go there."""

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from apps.messages.backends import breaker
from apps.messages.delivery.services import messages_deliver
from apps.messages.models import Message
from apps.messages.tasks import deliver_message_task, deliver_messages_task
from bench.gateway import Gateway

from .factories import MessageFactory
from .helpers import wait_until_sent

HTTP_BACKEND = "apps.messages.backends.http.HttpGatewayBackend"


class DownGateway:
    """A gateway that is down: accepts each connection on 127.0.0.1 and closes it at once, counting them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(1)
        self.sock.close()


@pytest.fixture
def down_gateway() -> Iterator[DownGateway]:
    gateway = DownGateway()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def up_gateway(start_gateway) -> Gateway:
    return start_gateway()


def _backends(down: DownGateway, up: Gateway) -> list[dict[str, str]]:
    return [
        {"name": "down", "backend": HTTP_BACKEND, "url": f"http://127.0.0.1:{down.port}/messages"},
        {"name": "up", "backend": HTTP_BACKEND, "url": f"http://127.0.0.1:{up.server_address[1]}/messages"},
    ]


@pytest.fixture(autouse=True)
def _closed_breakers(settings) -> None:
    from django.core.cache import cache

    for name in ("down", "up"):
        cache.delete_many([breaker._key(name, part) for part in ("open-until", "probe", "failures")])


@pytest.mark.django_db
def test_every_message_goes_through_the_other_gateway_and_the_down_one_is_skipped_after_the_threshold(
    settings, down_gateway, up_gateway
) -> None:
    settings.SMS_BACKENDS = _backends(down_gateway, up_gateway)
    settings.SMS_BACKEND_FAILURE_THRESHOLD = 3
    settings.SMS_BACKEND_COOLDOWN_SECONDS = 60
    messages = MessageFactory.create_batch(10)

    for message in messages:  # one at a time: the breaker sees each failure before the next send
        deliver_messages_task.apply(args=([message.pk],))

    rows = Message.objects.filter(pk__in=[m.pk for m in messages])
    assert sorted(rows.values_list("status", "attempts", "backend")) == [("sent", 1, "up")] * 10
    assert (down_gateway.connections, up_gateway.posts, len(up_gateway.keys)) == (3, 10, 10)


@pytest.mark.django_db
def test_after_the_cool_down_one_probe_goes_to_the_down_gateway(settings, down_gateway, up_gateway) -> None:
    settings.SMS_BACKENDS = _backends(down_gateway, up_gateway)
    settings.SMS_BACKEND_FAILURE_THRESHOLD = 1
    settings.SMS_BACKEND_COOLDOWN_SECONDS = 1
    first, second, third = MessageFactory.create_batch(3)
    deliver_messages_task.apply(args=([first.pk],))
    assert down_gateway.connections == 1  # tripped

    time.sleep(1.1)
    deliver_messages_task.apply(args=([second.pk],))  # the probe: fails, open again
    deliver_messages_task.apply(args=([third.pk],))  # skipped

    assert down_gateway.connections == 2
    assert set(Message.objects.values_list("backend", flat=True)) == {"up"}


@pytest.mark.django_db
def test_a_probe_that_goes_through_closes_the_breaker(settings, up_gateway) -> None:
    settings.SMS_BACKENDS = _backends(DownGateway(), up_gateway)
    settings.SMS_BACKEND_COOLDOWN_SECONDS = 0
    breaker._open("up")

    assert breaker.is_available("up")  # half-open: this caller is the probe
    assert not breaker.is_available("up")  # and only this one
    breaker.record_success("up")
    assert (breaker.is_open("up"), breaker.is_available("up")) == (False, True)


@pytest.mark.django_db
def test_with_every_gateway_down_the_attempt_fails_and_retries(settings, down_gateway) -> None:
    settings.SMS_BACKENDS = [
        {"name": "down", "backend": HTTP_BACKEND, "url": f"http://127.0.0.1:{down_gateway.port}/messages"},
        {"name": "up", "backend": HTTP_BACKEND, "url": f"http://127.0.0.1:{down_gateway.port}/other"},
    ]
    message = MessageFactory()

    failed = messages_deliver(message_pks=[message.pk])  # the attempt; its retries are the task's

    assert [(pk, error.code) for pk, error in failed] == [(message.pk, "gateway_unreachable")]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code, message.backend) == (
        "queued",
        1,
        "gateway_unreachable",
        "",
    )


@pytest.mark.django_db
def test_a_retry_goes_only_to_the_gateway_that_may_have_taken_the_message(settings, down_gateway, up_gateway):
    settings.SMS_BACKENDS = _backends(down_gateway, up_gateway)
    message = MessageFactory(attempts=1, backend="down")  # it timed out there: it may have taken it

    with pytest.raises(Exception, match="did not answer"):
        deliver_message_task.apply(args=(message.pk,), throw=True)

    message.refresh_from_db()
    assert (message.status, message.backend, up_gateway.posts, down_gateway.connections) == ("queued", "down", 0, 1)


@pytest.mark.django_db
def test_a_receipt_is_taken_under_the_configured_gateways_name(settings, api_client, up_gateway, down_gateway):
    from apps.messages import signatures

    settings.SMS_BACKENDS = _backends(down_gateway, up_gateway)
    settings.SMS_GATEWAY_RECEIPT_SECRET = "s3cret"
    message = MessageFactory(status="sent", attempts=1, backend="up")
    body = json.dumps({"reference": message.message_id, "status": "delivered"}).encode()
    timestamp = int(time.time())
    headers = {
        "HTTP_X_SIGNATURE_TIMESTAMP": str(timestamp),
        "HTTP_X_SIGNATURE": signatures.sign(secret="s3cret", body=body, timestamp=timestamp),
    }

    response = api_client.post("/api/v1/messages/receipts/up/", body, content_type="application/json", **headers)
    unknown = api_client.post("/api/v1/messages/receipts/nowhere/", body, content_type="application/json", **headers)

    assert response.status_code == 200, response.json()
    assert response.json() == {"message_id": message.message_id, "status": "delivered", "changed": True}
    assert unknown.status_code == 404


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_two_real_workers_fail_over_and_share_the_breaker(start_http_worker, down_gateway, up_gateway, capsys):
    threshold = 3
    env = {
        "SMS_BACKENDS": json.dumps(_backends(down_gateway, up_gateway)),
        "SMS_BACKEND_FAILURE_THRESHOLD": str(threshold),
        "SMS_BACKEND_COOLDOWN_SECONDS": "300",
        "MESSAGE_DELIVERY_BATCH_SIZE": "1",  # sends one after another, so the breaker sees each failure
    }
    workers = [start_http_worker(name=f"failover{n}@%h", **env) for n in (1, 2)]
    messages = MessageFactory.create_batch(20)

    deliver_messages_task.delay()
    pks = [m.pk for m in messages]
    wait_until_sent(workers, pks)

    rows = Message.objects.filter(pk__in=pks)
    with capsys.disabled():
        print(f"\n20 messages over 2 workers, one gateway down: {down_gateway.connections} connections to it")
    assert sorted(rows.values_list("status", "attempts", "backend")) == [("sent", 1, "up")] * 20
    assert (up_gateway.posts, len(up_gateway.keys)) == (20, 20)
    # The threshold, plus at most one send per worker process already past the check when it tripped.
    assert threshold <= down_gateway.connections <= threshold + 4
