import subprocess
import threading
from collections.abc import Callable, Iterator

import pytest

from apps.messages.backends import locmem
from bench.gateway import Gateway, GatewayHandler


@pytest.fixture(autouse=True)
def _empty_sms_outbox() -> Iterator[None]:
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def payload() -> dict[str, str]:
    return {"sender_number": "+15551230001", "receiver_number": "+442079460958", "body": "Hello there"}


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., Gateway]]:
    """`start_gateway(delay=0.0, handler=None)`: the bench's fake gateway (bench/gateway.py) on 127.0.0.1, served
    from a thread of the test, answering each send after `delay` seconds and counting the sends by idempotency key
    (`handler`: a GatewayHandler subclass that records more); shut down at the end of the test."""
    started: list[Gateway] = []

    def start(delay: float = 0.0, handler: type[GatewayHandler] | None = None) -> Gateway:
        gateway = Gateway(0, delay)
        if handler is not None:
            gateway.RequestHandlerClass = handler
        threading.Thread(target=gateway.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.shutdown()
        gateway.server_close()


def gateway_url(gateway: Gateway) -> str:
    return f"http://127.0.0.1:{gateway.server_address[1]}/messages"


@pytest.fixture
def start_http_worker(start_celery_worker) -> Callable[..., subprocess.Popen]:
    """`start_http_worker(gateway=None, name=None, **env)`: a real Celery worker (2 processes) sending through the
    `http` backend, to `gateway` (or to the gateways of an SMS_BACKENDS in `env`); without a metrics port, so
    several can run on one host. Use with the `postgres`, `broker` and `worker` markers."""

    def start(gateway: Gateway | None = None, name: str | None = None, **env: str) -> subprocess.Popen:
        if gateway is not None:
            env.setdefault("SMS_GATEWAY_URL", gateway_url(gateway))
        return start_celery_worker(
            name=name, DJANGO_SETTINGS_MODULE="tests.messages.gateway_settings", WORKER_METRICS_PORT="0", **env
        )

    return start
