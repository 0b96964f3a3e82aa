"""Delivery receipts from the gateway: signed, idempotent, and refused without changing anything."""

import json
import time

import pytest

from apps.core.models import OutboxEvent
from apps.messages.models import Message
from apps.messages.signatures import signed_headers

from .factories import MessageFactory

pytestmark = pytest.mark.django_db

RECEIPTS_URL = "/api/v1/messages/receipts/http/"
SECRET = "gateway-shared-secret"


@pytest.fixture(autouse=True)
def _receipt_secret(settings) -> None:
    settings.SMS_GATEWAY_RECEIPT_SECRET = SECRET


@pytest.fixture
def sent() -> Message:
    return MessageFactory(status=Message.Status.SENT, attempts=1, provider_message_id="gw-1")


def post_receipt(client, receipt: dict, *, secret: str = SECRET, now: float | None = None, url: str = RECEIPTS_URL):
    body = json.dumps(receipt).encode()
    headers = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in signed_headers(secret=secret, body=body, now=now).items()
    }
    return client.post(url, body, content_type="application/json", **headers)


def receipt_events(message: Message) -> list[str]:
    return list(
        OutboxEvent.objects.filter(aggregate_id=message.message_id, event_type__startswith="message.")
        .exclude(event_type="message.created")
        .values_list("event_type", flat=True)
    )


def test_a_receipt_moves_a_sent_message_to_delivered_once(api_client, sent) -> None:
    first = post_receipt(api_client, {"reference": sent.message_id, "status": "delivered"})
    again = post_receipt(api_client, {"reference": sent.message_id, "status": "delivered"})

    assert (first.status_code, first.json()) == (
        200,
        {"message_id": sent.message_id, "status": "delivered", "changed": True},
    )
    assert (again.status_code, again.json()) == (
        200,
        {"message_id": sent.message_id, "status": "delivered", "changed": False},
    )
    assert Message.objects.get(pk=sent.pk).status == "delivered"
    assert receipt_events(sent) == ["message.delivered"]


def test_undelivered_keeps_the_gateways_reason(api_client, sent) -> None:
    answer = post_receipt(api_client, {"reference": sent.message_id, "status": "undelivered", "error": "handset off"})

    assert answer.json()["status"] == "undelivered"
    stored = Message.objects.get(pk=sent.pk)
    assert (stored.status, stored.last_error) == ("undelivered", "handset off")


def test_the_first_report_wins(api_client, sent) -> None:
    post_receipt(api_client, {"reference": sent.message_id, "status": "delivered"})

    later = post_receipt(api_client, {"reference": sent.message_id, "status": "undelivered"})

    assert later.json() == {"message_id": sent.message_id, "status": "delivered", "changed": False}
    assert Message.objects.get(pk=sent.pk).status == "delivered"


def test_an_unknown_message_is_404_and_changes_nothing(api_client, sent) -> None:
    answer = post_receipt(api_client, {"reference": "0" * 26, "status": "delivered"})

    assert answer.status_code == 404
    assert Message.objects.get(pk=sent.pk).status == "sent"
    assert OutboxEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("secret", "age"),
    [("not-the-secret", 0), (SECRET, 10 * 60), (SECRET, -10 * 60)],
    ids=["wrong-secret", "too-old", "in-the-future"],
)
def test_a_bad_signature_is_401_and_changes_nothing(api_client, sent, secret, age) -> None:
    answer = post_receipt(
        api_client, {"reference": sent.message_id, "status": "delivered"}, secret=secret, now=time.time() - age
    )

    assert answer.status_code == 401
    assert "detail" in answer.json()
    assert Message.objects.get(pk=sent.pk).status == "sent"
    assert OutboxEvent.objects.count() == 0


def test_an_unsigned_receipt_is_401(api_client, sent) -> None:
    answer = api_client.post(RECEIPTS_URL, {"reference": sent.message_id, "status": "delivered"}, format="json")

    assert answer.status_code == 401
    assert Message.objects.get(pk=sent.pk).status == "sent"


def test_without_a_configured_secret_every_receipt_is_refused(api_client, sent, settings) -> None:
    settings.SMS_GATEWAY_RECEIPT_SECRET = ""

    answer = post_receipt(api_client, {"reference": sent.message_id, "status": "delivered"}, secret="")

    assert answer.status_code == 401
    assert Message.objects.get(pk=sent.pk).status == "sent"


@pytest.mark.parametrize("status", ["queued", "scheduled"])
def test_a_receipt_before_the_send_is_409(api_client, status) -> None:
    waiting = MessageFactory(status=status)

    answer = post_receipt(api_client, {"reference": waiting.message_id, "status": "delivered"})

    assert (answer.status_code, answer.json()["code"]) == (409, "message_not_sent")
    assert Message.objects.get(pk=waiting.pk).status == status


@pytest.mark.parametrize("status", ["canceled", "expired", "failed"])
def test_a_receipt_for_a_message_that_ended_unsent_is_409_and_changes_nothing(api_client, status) -> None:
    ended = MessageFactory(status=status)

    answer = post_receipt(api_client, {"reference": ended.message_id, "status": "delivered"})

    assert answer.status_code == 409
    assert answer.json() == {
        "detail": "The message ended (canceled, expired or failed) without a send the gateway confirmed; no receipt "
        "changes it, so do not send this one again.",
        "code": "message_ended",
    }
    assert Message.objects.get(pk=ended.pk).status == status
    assert receipt_events(ended) == []


GATEWAYS = [
    {"name": "first", "backend": "apps.messages.backends.http.HttpGatewayBackend", "url": "http://127.0.0.1:9/a"},
    {"name": "second", "backend": "apps.messages.backends.http.HttpGatewayBackend", "url": "http://127.0.0.1:9/b"},
]


def test_a_receipt_from_the_gateway_that_took_the_message_counts(api_client, settings) -> None:
    settings.SMS_BACKENDS = GATEWAYS
    message = MessageFactory(status=Message.Status.SENT, attempts=1, backend="second")

    answer = post_receipt(
        api_client, {"reference": message.message_id, "status": "delivered"}, url="/api/v1/messages/receipts/second/"
    )

    assert (answer.status_code, answer.json()["changed"]) == (200, True)
    assert Message.objects.get(pk=message.pk).status == "delivered"


@pytest.mark.parametrize("gateway", ["first", "http"])
def test_a_receipt_from_another_gateway_is_404_and_changes_nothing(api_client, settings, gateway) -> None:
    settings.SMS_BACKENDS = GATEWAYS
    message = MessageFactory(status=Message.Status.SENT, attempts=1, backend="second")

    url = f"/api/v1/messages/receipts/{gateway}/"

    answer = post_receipt(api_client, {"reference": message.message_id, "status": "delivered"}, url=url)

    assert (answer.status_code, answer.json()) == (
        404,
        {"detail": "No message sent through this gateway has this reference.", "code": "unknown_message"},
    )
    assert Message.objects.get(pk=message.pk).status == "sent"
    assert receipt_events(message) == []


def test_the_http_path_is_the_default_gateways_older_name(api_client, settings) -> None:
    settings.SMS_BACKEND = "apps.messages.backends.http.HttpGatewayBackend"  # alone, so named `default`
    message = MessageFactory(status=Message.Status.SENT, attempts=1, backend="default")

    by_old_name = post_receipt(api_client, {"reference": message.message_id, "status": "delivered"})
    by_name = post_receipt(
        api_client, {"reference": message.message_id, "status": "delivered"}, url="/api/v1/messages/receipts/default/"
    )

    assert [(a.status_code, a.json()["changed"]) for a in (by_old_name, by_name)] == [(200, True), (200, False)]


@pytest.mark.parametrize(
    "receipt",
    [
        {"reference": "x"},
        {"status": "delivered"},
        {"reference": "x", "status": "read"},
        ["not", "an", "object"],
        {"reference": "x\u0000", "status": "delivered"},
        {"reference": "x", "status": "undelivered", "error": "\u0000"},
    ],
)
def test_a_malformed_receipt_is_400(api_client, receipt) -> None:
    answer = post_receipt(api_client, receipt)

    assert answer.status_code == 400
    assert isinstance(answer.json()["detail"], str)


def test_an_unknown_backend_is_404(api_client, sent) -> None:
    answer = post_receipt(
        api_client, {"reference": sent.message_id, "status": "delivered"}, url="/api/v1/messages/receipts/smpp/"
    )

    assert answer.status_code == 404
    assert Message.objects.get(pk=sent.pk).status == "sent"


def test_delivered_messages_are_found_by_status(user, user_client, api_client) -> None:
    sent = MessageFactory(account_id=user.account_id, status=Message.Status.SENT)
    post_receipt(api_client, {"reference": sent.message_id, "status": "delivered"})

    found = user_client.get("/api/v1/messages/search/", {"status": "delivered"}).json()

    assert [row["message_id"] for row in found["results"]] == [sent.message_id]
