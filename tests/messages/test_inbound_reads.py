"""Reading inbound messages (list, detail, search: the caller's own, newest first) and answering one
(`in_reply_to` on a create)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messages.models import InboundMessage, Message
from tests.users.factories import UserFactory

from .helpers import MESSAGES_URL
from .inbound_helpers import CUSTOMER, INBOUND_MESSAGES_URL, INBOUND_SEARCH_URL, OUR_NUMBER, own_number

pytestmark = pytest.mark.django_db


def inbound(account_id, body: str = "Hi", *, from_number: str = CUSTOMER, ago: int = 0, **extra) -> InboundMessage:
    return InboundMessage.objects.create(
        account_id=account_id,
        backend="http",
        from_number=from_number,
        to_number=OUR_NUMBER,
        body=body,
        parts_received=1,
        status=extra.pop("status", InboundMessage.Status.COMPLETE),
        received_at=timezone.now() - timedelta(minutes=ago),
        **extra,
    )


def test_the_list_is_the_callers_shown_messages_newest_first(user_client, user, other_user) -> None:
    older = inbound(user.account_id, "older", ago=2)
    newer = inbound(user.account_id, "newer", ago=1)
    inbound(user.account_id, "still receiving", status=InboundMessage.Status.RECEIVING, parts=2)
    inbound(other_user.account_id, "theirs")

    body = user_client.get(INBOUND_MESSAGES_URL).json()

    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [(m["message_id"], m["direction"]) for m in body["results"]] == [
        (newer.message_id, "inbound"),
        (older.message_id, "inbound"),
    ]


def test_the_list_is_paginated_like_the_outbound_one(user_client, user) -> None:
    for n in range(3):
        inbound(user.account_id, f"n{n}", ago=n)

    body = user_client.get(INBOUND_MESSAGES_URL, {"page_size": 2}).json()

    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"].endswith("page=2&page_size=2")


def test_another_accounts_message_is_404(user_client, other_user) -> None:
    theirs = inbound(other_user.account_id)

    answer = user_client.get(f"{INBOUND_MESSAGES_URL}{theirs.message_id}/")

    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


def test_an_admin_reads_every_accounts(admin_client, user, other_user) -> None:
    inbound(user.account_id)
    inbound(other_user.account_id)

    assert admin_client.get(INBOUND_MESSAGES_URL).json()["count"] == 2


def test_search_by_sender_number_and_time(user_client, user) -> None:
    match = inbound(user.account_id, "match", from_number="+447700900999", ago=1)
    inbound(user.account_id, "other sender", ago=1)
    inbound(user.account_id, "too old", from_number="+447700900999", ago=90)

    answer = user_client.get(
        INBOUND_SEARCH_URL,
        {
            "from_number": "+44 7700 900999, +15550000000",
            "to_number": OUR_NUMBER,
            "received_after": (timezone.now() - timedelta(hours=1)).isoformat(),
            "status": "complete",
        },
    )

    assert answer.status_code == 200
    assert [m["message_id"] for m in answer.json()["results"]] == [match.message_id]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from_number": "12"}, "from_number"), ({"received_before": "yesterday"}, "received_before")],
)
def test_search_with_a_malformed_parameter_is_400_naming_it(user_client, params, field) -> None:
    answer = user_client.get(INBOUND_SEARCH_URL, params)

    assert answer.status_code == 400
    assert field in answer.json()


def test_a_reply_takes_its_numbers_from_the_inbound_message(user_client, user) -> None:
    own_number(user.account_id)
    received = inbound(user.account_id, "What time do you open?")

    answer = user_client.post(MESSAGES_URL, {"in_reply_to": received.message_id, "body": "At nine."}, format="json")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["sender_number"], body["receiver_number"], body["in_reply_to"]) == (
        OUR_NUMBER,
        CUSTOMER,
        received.message_id,
    )
    assert Message.objects.get().in_reply_to == received.message_id
    assert user_client.get(f"{MESSAGES_URL}{body['message_id']}/").json()["in_reply_to"] == received.message_id


def test_a_reply_may_repeat_the_same_numbers(user_client, user) -> None:
    own_number(user.account_id)
    received = inbound(user.account_id)

    answer = user_client.post(
        MESSAGES_URL,
        {"in_reply_to": received.message_id, "sender_number": OUR_NUMBER, "receiver_number": CUSTOMER, "body": "Ok"},
        format="json",
    )

    assert answer.status_code == 201


@pytest.mark.parametrize(
    "numbers",
    [{"sender_number": "+15550009002"}, {"receiver_number": "+447700900124"}],
    ids=["other-sender", "other-receiver"],
)
def test_a_reply_naming_other_numbers_is_400(user_client, user, numbers) -> None:
    own_number(user.account_id)
    own_number(user.account_id, "+15550009002")
    received = inbound(user.account_id)

    answer = user_client.post(
        MESSAGES_URL, {"in_reply_to": received.message_id, "body": "Ok", **numbers}, format="json"
    )

    assert (answer.status_code, answer.json()["code"]) == (400, "reply_mismatch")
    assert Message.objects.count() == 0


def test_a_reply_to_another_accounts_or_an_unknown_message_is_404(user_client, user, other_user) -> None:
    own_number(user.account_id)
    theirs = inbound(other_user.account_id)

    answers = [
        user_client.post(MESSAGES_URL, {"in_reply_to": theirs.message_id, "body": "Ok"}, format="json"),
        user_client.post(MESSAGES_URL, {"in_reply_to": "0" * 26, "body": "Ok"}, format="json"),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(404, "inbound_message_not_found")] * 2
    assert Message.objects.count() == 0


def test_in_reply_to_that_is_no_message_id_is_400(user_client) -> None:
    answer = user_client.post(MESSAGES_URL, {"in_reply_to": "nope", "body": "Ok"}, format="json")

    assert answer.status_code == 400
    assert set(answer.json()) == {"in_reply_to"}


def test_without_in_reply_to_both_numbers_are_required(user_client) -> None:
    answer = user_client.post(MESSAGES_URL, {"body": "Ok"}, format="json")

    assert answer.json() == {
        "sender_number": ["This field is required."],
        "receiver_number": ["This field is required."],
    }


def test_an_admin_replies_for_the_account_it_names(admin_client) -> None:
    customer = UserFactory()
    own_number(customer.account_id)
    received = inbound(customer.account_id)

    answer = admin_client.post(
        MESSAGES_URL,
        {"in_reply_to": received.message_id, "body": "Ok", "account_id": str(customer.account_id)},
        format="json",
    )

    assert (answer.status_code, answer.json()["account_id"]) == (201, str(customer.account_id))


@pytest.mark.django_db(transaction=True)  # PostgreSQL's VACUUM after the seed's COPY cannot run in a transaction
def test_the_seed_makes_a_conversation_once() -> None:
    from django.core.management import call_command

    sizes = {"users": 2, "messages": 10, "heavy_accounts": 0, "products": 0, "categories": 0}
    call_command("seed_demo", **sizes)
    call_command("seed_demo", **sizes, reuse=True)

    received = list(InboundMessage.objects.order_by("received_at").values_list("body", "status", "parts"))
    assert received == [("Hi, is my order ready?", "complete", 1), ("Great, thanks!", "complete", 2)]
    question = InboundMessage.objects.get(parts=1)
    reply = Message.objects.get(in_reply_to=question.message_id)
    assert (reply.sender_number, reply.receiver_number) == (question.to_number, question.from_number)
    assert Message.objects.count() == 10


def test_an_idempotency_key_reused_for_another_reply_is_409(user_client, user) -> None:
    own_number(user.account_id)
    first, second = inbound(user.account_id, "one"), inbound(user.account_id, "two")
    headers = {"HTTP_IDEMPOTENCY_KEY": "reply-1"}

    answers = [
        user_client.post(MESSAGES_URL, {"in_reply_to": first.message_id, "body": "Ok"}, format="json", **headers),
        user_client.post(MESSAGES_URL, {"in_reply_to": first.message_id, "body": "Ok"}, format="json", **headers),
        user_client.post(MESSAGES_URL, {"in_reply_to": second.message_id, "body": "Ok"}, format="json", **headers),
    ]

    assert [a.status_code for a in answers] == [201, 201, 409]
    assert Message.objects.count() == 1
