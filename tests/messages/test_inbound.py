"""Inbound messages from the gateway: signed, stored once on the account owning `to`, reassembled from parts, and
delivered to the account's receiver as signed `message.inbound` events, once each and in order."""

import time
from datetime import timedelta

import pytest
from celery.beat import ScheduleEntry, Scheduler
from django.utils import timezone

from apps.messages.inbound import services as inbound_services
from apps.messages.inbound.services import inbound_messages_end_incomplete
from apps.messages.models import InboundMessage, InboundPart, StatusCallback
from config.celery import app as celery_app
from tests.helpers.receiver import receiver

from .helpers import iso, received_events
from .inbound_helpers import (
    CUSTOMER,
    GATEWAY_SECRET,
    INBOUND_MESSAGES_URL,
    INBOUND_URL,
    OUR_NUMBER,
    STATUS_CALLBACK_URL,
    inbound_body,
    own_number,
    post_inbound,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gateway_and_local_receivers(settings) -> None:
    settings.SMS_GATEWAY_RECEIPT_SECRET = GATEWAY_SECRET
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def ours(user):
    return own_number(user.account_id)


def part(gateway_id: str, number: int, body: str, parts: int = 3, reference: str = "ref-7") -> dict:
    return inbound_body(gateway_id, body, reference=reference, part=number, parts=parts)


def test_an_inbound_message_is_stored_on_the_account_owning_to(api_client, user_client, user, ours) -> None:
    answer = post_inbound(api_client, inbound_body("gw-1", "Hi there"))

    stored = InboundMessage.objects.get()
    assert (answer.status_code, answer.json()) == (
        201,
        {"message_id": stored.message_id, "status": "complete", "stored": True},
    )
    assert (stored.account_id, stored.from_number, stored.to_number, stored.body, stored.backend) == (
        user.account_id,
        CUSTOMER,
        OUR_NUMBER,
        "Hi there",
        "http",
    )
    read = user_client.get(f"{INBOUND_MESSAGES_URL}{stored.message_id}/").json()
    assert read == {
        "message_id": stored.message_id,
        "direction": "inbound",
        "account_id": str(user.account_id),
        "from_number": CUSTOMER,
        "to_number": OUR_NUMBER,
        "body": "Hi there",
        "status": "complete",
        "parts": 1,
        "parts_received": 1,
        "backend": "http",
        "received_at": iso(stored.received_at),
        "completed_at": iso(stored.completed_at),
        "redacted_at": None,
    }


def test_an_inbound_message_posted_twice_is_stored_once(api_client, ours) -> None:
    first = post_inbound(api_client, inbound_body("gw-1"))
    again = post_inbound(api_client, inbound_body("gw-1"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "stored": False}
    assert (InboundMessage.objects.count(), InboundPart.objects.count()) == (1, 1)


def test_three_parts_out_of_order_and_one_twice_give_one_reassembled_message(
    api_client, user_client, ours, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    applied: list[str] = []
    monkeypatch.setattr(inbound_services, "apply_inbound_keywords", lambda *, inbound: applied.append(inbound.body))

    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            post_inbound(api_client, part("gw-p3", 3, "ing.")),
            post_inbound(api_client, part("gw-p1", 1, "Good ")),
            post_inbound(api_client, part("gw-p3", 3, "ing.")),
            post_inbound(api_client, part("gw-p2", 2, "morn")),
        ]

    assert [(a.status_code, a.json()["status"], a.json()["stored"]) for a in answers] == [
        (201, "receiving", True),
        (201, "receiving", True),
        (200, "receiving", False),
        (201, "complete", True),
    ]
    assert len({a.json()["message_id"] for a in answers}) == 1
    stored = InboundMessage.objects.get()
    assert (stored.body, stored.parts, stored.parts_received, stored.status) == ("Good morning.", 3, 3, "complete")
    assert InboundPart.objects.count() == 3
    assert [m["body"] for m in user_client.get(INBOUND_MESSAGES_URL).json()["results"]] == ["Good morning."]
    assert applied == ["Good morning."]  # the opt-out keywords see the whole text, once


def test_a_part_resent_under_another_gateway_id_stores_nothing(api_client, ours) -> None:
    post_inbound(api_client, part("gw-a", 1, "Good ", parts=2))

    again = post_inbound(api_client, part("gw-b", 1, "Good ", parts=2))

    assert (again.status_code, again.json()["stored"]) == (200, False)
    assert InboundPart.objects.count() == 1


def test_parts_of_two_references_make_two_messages(api_client, ours) -> None:
    post_inbound(api_client, part("gw-1", 1, "A", parts=2, reference="1"))
    post_inbound(api_client, part("gw-2", 1, "B", parts=2, reference="2"))
    post_inbound(api_client, part("gw-3", 2, "a", parts=2, reference="1"))
    post_inbound(api_client, part("gw-4", 2, "b", parts=2, reference="2"))

    assert sorted(InboundMessage.objects.values_list("body", "status")) == [("Aa", "complete"), ("Bb", "complete")]


def test_an_incomplete_set_is_hidden_then_shown_incomplete_after_the_timeout_and_a_late_part_completes_it(
    api_client, user_client, ours, settings, django_capture_on_commit_callbacks
) -> None:
    settings.INBOUND_PARTS_TIMEOUT_SECONDS = 60
    post_inbound(api_client, part("gw-p1", 1, "Good "))
    post_inbound(api_client, part("gw-p3", 3, "ing."))
    assert user_client.get(INBOUND_MESSAGES_URL).json()["count"] == 0  # still receiving
    assert inbound_messages_end_incomplete() == 0  # within the timeout

    InboundMessage.objects.update(received_at=timezone.now() - timedelta(seconds=61))
    schedule = settings.CELERY_BEAT_SCHEDULE["end-incomplete-inbound"]
    Scheduler(app=celery_app, lazy=True).apply_async(
        ScheduleEntry(name="end-incomplete-inbound", app=celery_app, **schedule), advance=False
    )

    shown = user_client.get(INBOUND_MESSAGES_URL).json()["results"]
    assert [(m["status"], m["body"], m["parts_received"], m["parts"]) for m in shown] == [
        ("incomplete", "Good ing.", 2, 3)
    ]
    with receiver() as hook:
        secret = user_client.patch(STATUS_CALLBACK_URL, {"default_url": hook.url}, format="json").json()["secret"]
        with django_capture_on_commit_callbacks(execute=True):
            late = post_inbound(api_client, part("gw-p2", 2, "morn"))
    assert (late.status_code, late.json()["status"]) == (201, "complete")
    assert InboundMessage.objects.get().body == "Good morning."
    assert [event["body"] for event in received_events(hook, secret)] == ["Good morning."]


def test_a_message_for_a_number_nobody_owns_is_404_and_stores_nothing(api_client, ours) -> None:
    answer = post_inbound(api_client, {**inbound_body("gw-1"), "to": "+15550000000"})

    assert answer.status_code == 404
    assert answer.json()["code"] == "number_not_owned"
    assert (InboundMessage.objects.count(), InboundPart.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("secret", "age"),
    [("not-the-secret", 0), (GATEWAY_SECRET, 10 * 60), (GATEWAY_SECRET, -10 * 60)],
    ids=["wrong-secret", "too-old", "in-the-future"],
)
def test_a_bad_signature_is_401_and_stores_nothing(api_client, ours, secret, age) -> None:
    answer = post_inbound(api_client, inbound_body("gw-1"), secret=secret, now=time.time() - age)

    assert answer.status_code == 401
    assert answer.json()["code"] == "authentication_failed"
    assert answer["WWW-Authenticate"] == 'Signature realm="inbound"'
    assert InboundMessage.objects.count() == 0


def test_an_unsigned_message_is_401_and_stores_nothing(api_client, ours) -> None:
    answer = api_client.post(INBOUND_URL, inbound_body("gw-1"), format="json")

    assert (answer.status_code, answer.json()["code"]) == (401, "authentication_failed")
    assert InboundMessage.objects.count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"from": "not a number"},
        {"to": None},
        {"body": 5},
        {"body": "x" * 1601},
        {"body": "nul \u0000 inside"},
        {"gateway_message_id": "gw\u0000"},
        {"reference": "r\u0000", "part": 1, "parts": 2},
        {"gateway_message_id": ""},
        {"gateway_message_id": True},
        {"reference": "r"},
        {"reference": "r", "part": 4, "parts": 3},
        {"reference": "r", "part": 0, "parts": 3},
        {"reference": "r", "part": 1, "parts": 256},
        {"reference": "", "part": 1, "parts": 2},
        {"reference": "r", "part": "1", "parts": 2},
    ],
)
def test_a_body_of_the_wrong_shape_is_400_with_a_code_and_stores_nothing(api_client, ours, change) -> None:
    answer = post_inbound(api_client, {**inbound_body("gw-1"), **change})

    assert (answer.status_code, answer.json()["code"]) == (400, "parse_error")
    assert InboundMessage.objects.count() == 0


def test_a_body_that_is_not_a_json_object_is_400(api_client, ours) -> None:
    answer = post_inbound(api_client, ["not", "an", "object"])  # type: ignore[arg-type]

    assert (answer.status_code, answer.json()["code"]) == (400, "parse_error")


def test_an_unknown_backend_is_404(api_client, ours) -> None:
    answer = api_client.post("/api/v1/messages/inbound/nosuch/", inbound_body("gw-1"), format="json")

    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


def test_the_receiver_sees_every_inbound_event_once_in_order_signed(
    api_client, user_client, user, ours, django_capture_on_commit_callbacks
) -> None:
    with receiver(plan=[500]) as hook:
        secret = user_client.patch(STATUS_CALLBACK_URL, {"default_url": hook.url}, format="json").json()["secret"]
        with django_capture_on_commit_callbacks(execute=True):
            post_inbound(api_client, inbound_body("gw-1", "first"))
            post_inbound(api_client, part("gw-2b", 2, "cond", parts=2))
            post_inbound(api_client, inbound_body("gw-1", "first"))  # a resend: no second event
            post_inbound(api_client, part("gw-2a", 1, "se", parts=2))
            post_inbound(api_client, inbound_body("gw-3", "third"))

    events = received_events(hook, secret)
    delivered = events[1:]  # the first POST was answered 500, then retried
    assert events[0]["event_id"] == delivered[0]["event_id"]
    assert [(e["event"], e["body"], e["from"], e["to"], e["direction"]) for e in delivered] == [
        ("message.inbound", "first", CUSTOMER, OUR_NUMBER, "inbound"),
        ("message.inbound", "second", CUSTOMER, OUR_NUMBER, "inbound"),
        ("message.inbound", "third", CUSTOMER, OUR_NUMBER, "inbound"),
    ]
    assert len({e["event_id"] for e in delivered}) == 3
    assert set(delivered[0]) == {
        "event_id",
        "event",
        "message_id",
        "direction",
        "from",
        "to",
        "body",
        "parts",
        "received_at",
        "time",
    }
    assert list(StatusCallback.objects.values_list("state", flat=True)) == ["delivered"] * 3


def test_an_inbound_event_waits_for_the_accounts_earlier_one(api_client, user_client, ours) -> None:
    from apps.messages.callbacks.services import status_callback_send

    with receiver() as hook:
        user_client.patch(STATUS_CALLBACK_URL, {"default_url": hook.url}, format="json")
        post_inbound(api_client, inbound_body("gw-1", "first"))  # on-commit sends not run: both stay pending
        post_inbound(api_client, inbound_body("gw-2", "second"))
        first, second = StatusCallback.objects.order_by("pk")

        assert status_callback_send(callback_pk=second.pk) is None  # not its turn
        assert hook.requests == []
        assert status_callback_send(callback_pk=first.pk) is None
        assert status_callback_send(callback_pk=second.pk) is None

    assert [request.body.count(b'"first"') + 2 * request.body.count(b'"second"') for request in hook.requests] == [
        1,
        2,
    ]


def test_a_numbers_inbound_url_takes_its_messages_instead_of_the_default(
    api_client, user_client, user, django_capture_on_commit_callbacks
) -> None:
    with receiver() as default, receiver() as own:
        own_number(user.account_id, inbound_url=own.url)
        secret = user_client.patch(STATUS_CALLBACK_URL, {"default_url": default.url}, format="json").json()["secret"]
        with django_capture_on_commit_callbacks(execute=True):
            post_inbound(api_client, inbound_body("gw-1", "to the number's URL"))

    assert [e["body"] for e in received_events(own, secret)] == ["to the number's URL"]
    assert default.requests == []


def test_without_a_url_no_event_is_written(api_client, ours, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_inbound(api_client, inbound_body("gw-1"))

    assert StatusCallback.objects.count() == 0


def test_an_inbound_event_counts_against_its_accounts_callbacks_in_flight(
    api_client, user_client, ours, settings
) -> None:
    from apps.messages.callbacks.services import status_callback_send

    settings.CALLBACK_MAX_IN_FLIGHT_PER_ACCOUNT = 1
    with receiver() as hook:
        user_client.patch(STATUS_CALLBACK_URL, {"default_url": hook.url}, format="json")
        own_number(ours.account_id, "+15550009002")
        post_inbound(api_client, inbound_body("gw-1", "first"))
        post_inbound(api_client, {**inbound_body("gw-2", "second"), "to": "+15550009002"})
        first, second = StatusCallback.objects.order_by("pk")
        StatusCallback.objects.filter(pk=first.pk).update(state="delivered")  # not ahead of it in order
        # The first one's POST is in flight (its lease runs), so the account has no slot left.
        StatusCallback.objects.filter(pk=first.pk).update(in_flight_until=timezone.now() + timedelta(seconds=30))

        retry_in = status_callback_send(callback_pk=second.pk)

    assert retry_in is not None
    assert 2 <= retry_in <= 3  # the account's one slot is taken: tried again shortly
    assert hook.requests == []


def test_the_sweeper_sends_an_inbound_event_whose_task_was_lost(
    api_client, user_client, ours, django_capture_on_commit_callbacks
) -> None:
    from apps.messages.callbacks.services import status_callbacks_requeue_due

    with receiver() as hook:
        secret = user_client.patch(STATUS_CALLBACK_URL, {"default_url": hook.url}, format="json").json()["secret"]
        post_inbound(api_client, inbound_body("gw-1", "lost"))  # its on-commit task never runs: lost
        with django_capture_on_commit_callbacks(execute=True):
            assert status_callbacks_requeue_due() == 1

    assert [e["body"] for e in received_events(hook, secret)] == ["lost"]
    assert StatusCallback.objects.get().state == "delivered"
