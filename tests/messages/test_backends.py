"""The SMS backends: the loader, and the HTTP gateway backend against a real local HTTP server."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from apps.messages.backends import SmsDeliveryError, SmsRejectedError, get_sms_backend, http
from apps.messages.backends.console import ConsoleBackend
from apps.messages.backends.failing import FailingBackend
from apps.messages.backends.http import HttpGatewayBackend
from apps.messages.backends.locmem import LocmemBackend

from .factories import MessageFactory


class Gateway:
    """A local SMS gateway whose next answer each test sets."""

    def __init__(self) -> None:
        self.status = 200
        self.answer: bytes = b'{"id": "gw-1"}'
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.requests.append({"headers": dict(self.headers), "body": json.loads(self.rfile.read(length))})
            time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()


def test_the_loader_builds_the_configured_backend(settings) -> None:
    settings.SMS_BACKEND = "apps.messages.backends.console.ConsoleBackend"
    assert isinstance(get_sms_backend(), ConsoleBackend)
    assert isinstance(get_sms_backend("apps.messages.backends.failing.FailingBackend"), FailingBackend)


def test_the_test_settings_use_the_locmem_backend() -> None:
    assert isinstance(get_sms_backend(), LocmemBackend)


def test_the_console_backend_logs_the_message(caplog) -> None:
    message = MessageFactory.build(message_id="01hzz0000000000000000000aa", body="log me")

    with caplog.at_level("INFO", logger="apps.messages.backends.console"):
        provider_id = ConsoleBackend().send(message)

    assert provider_id == "console-01hzz0000000000000000000aa"
    assert "log me" in caplog.text


def test_the_failing_backend_always_raises() -> None:
    with pytest.raises(SmsDeliveryError, match="refuses every message"):
        FailingBackend().send(MessageFactory.build())


def test_http_backend_posts_json_with_the_token_and_returns_the_gateway_id(gateway) -> None:
    state, url = gateway
    message = MessageFactory.build(message_id="01hzz0000000000000000000bb", body="hi")

    provider_id = HttpGatewayBackend(url=url, token="s3cret", timeout=2).send(message)

    assert provider_id == "gw-1"
    [request] = state.requests
    assert request["body"] == {
        "from": message.sender_number,
        "to": message.receiver_number,
        "body": "hi",
        "reference": "01hzz0000000000000000000bb",
    }
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Idempotency-Key"] == "01hzz0000000000000000000bb"


def test_http_backend_reads_its_settings(gateway, settings) -> None:
    _, url = gateway
    settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TOKEN, settings.SMS_GATEWAY_TIMEOUT = url, "t0k", 1.5
    settings.SMS_BACKEND = "apps.messages.backends.http.HttpGatewayBackend"

    backend = get_sms_backend()

    assert isinstance(backend, HttpGatewayBackend)
    assert (backend.url, backend.token, backend.timeout) == (url, "t0k", 1.5)
    assert backend.send(MessageFactory.build()) == "gw-1"


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_http_backend_gateway_errors_are_retryable(gateway, status) -> None:
    state, url = gateway
    state.status = status

    with pytest.raises(SmsDeliveryError, match=f"answered {status}") as raised:
        HttpGatewayBackend(url=url, timeout=2).send(MessageFactory.build())
    assert not isinstance(raised.value, SmsRejectedError)


@pytest.mark.parametrize("status", [400, 401, 403, 422])
def test_http_backend_client_errors_are_rejections(gateway, status) -> None:
    state, url = gateway
    state.status = status

    with pytest.raises(SmsRejectedError, match=f"answered {status}"):
        HttpGatewayBackend(url=url, timeout=2).send(MessageFactory.build())


def test_http_backend_times_out(gateway) -> None:
    state, url = gateway
    state.delay = 1.0

    started = time.monotonic()
    with pytest.raises(SmsDeliveryError, match="did not answer"):
        HttpGatewayBackend(url=url, timeout=0.2).send(MessageFactory.build())
    assert time.monotonic() - started < 0.9


def test_http_backend_refused_connection_is_retryable() -> None:
    from tests.helpers.processes import closed_port

    with pytest.raises(SmsDeliveryError, match="did not answer"):
        HttpGatewayBackend(url=f"http://127.0.0.1:{closed_port()}/", timeout=1).send(MessageFactory.build())


@pytest.mark.parametrize("answer", [b"<html>ok</html>", b"{}", b'{"id": ""}', b"[1]"])
def test_http_backend_needs_a_json_answer_with_an_id(gateway, answer) -> None:
    state, url = gateway
    state.answer = answer

    with pytest.raises(SmsDeliveryError):
        HttpGatewayBackend(url=url, timeout=2).send(MessageFactory.build())


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "ftp://gateway/"])
def test_http_backend_refuses_a_url_that_is_not_http(url) -> None:
    with pytest.raises(ImproperlyConfigured):
        HttpGatewayBackend(url=url)


@pytest.mark.parametrize("bundle", ["/etc/ssl/gateway-ca.pem", ""])
def test_http_backend_verifies_tls_against_the_configured_ca_bundle(settings, monkeypatch, bundle) -> None:
    """SMS_GATEWAY_CA_BUNDLE (from REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE); empty, certifi's bundle."""
    settings.SMS_GATEWAY_CA_BUNDLE = bundle
    monkeypatch.setattr(http, "_pools", {})  # a pool of its own, made with this setting

    pool = HttpGatewayBackend(url="https://gateway.example/messages").pool

    assert pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert pool.connection_pool_kw["ca_certs"] == (bundle or DEFAULT_CA_BUNDLE_PATH)


@pytest.mark.django_db
def test_http_backend_keeps_a_batch_worth_of_connections_open_across_batches() -> None:
    from apps.messages.dispatch import send_concurrently
    from bench.gateway import Gateway, GatewayHandler

    ports: set[int] = set()

    class CountingHandler(GatewayHandler):
        def setup(self) -> None:
            super().setup()
            ports.add(self.client_address[1])  # one per connection the backend opened

    server = Gateway(0, 0.2)
    server.RequestHandlerClass = CountingHandler
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/messages"
        messages = MessageFactory.build_batch(12)
        for _ in range(2):  # two batches, each with a backend of its own
            outcomes = send_concurrently(HttpGatewayBackend(url=url, timeout=5), messages)
            assert outcomes == [f"fake-{m.message_id}" for m in messages]
    finally:
        server.shutdown()
        server.server_close()

    # requests' default pool kept 10 of a batch's connections, and a session per batch kept none across batches.
    assert len(ports) == 12
