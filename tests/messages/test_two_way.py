"""Two-way messaging end to end through the gateway's inbound POST: the keywords a customer texts change what the
account may send them, the answers are outbound messages of the account, and a reply to an inbound message goes
back to its sender. Runs on the embedded defaults and, with the real servers configured, on PostgreSQL."""

import pytest

from apps.messages.models import InboundMessage, Message, OptOut

from .helpers import MESSAGES_URL
from .inbound_helpers import CUSTOMER, GATEWAY_SECRET, OUR_NUMBER, inbound_body, own_number, post_inbound

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gateway(settings) -> None:
    settings.SMS_GATEWAY_RECEIPT_SECRET = GATEWAY_SECRET
    settings.MESSAGE_HELP_TEXT = "Acme alerts. Reply STOP to stop."


@pytest.fixture
def ours(user):
    return own_number(user.account_id)


def _create(client):
    body = {"sender_number": OUR_NUMBER, "receiver_number": CUSTOMER, "body": "Your code is 1234"}
    return client.post(MESSAGES_URL, body, format="json")


def test_stop_texted_refuses_the_next_create_and_start_lets_it_through(api_client, user_client, ours) -> None:
    assert post_inbound(api_client, inbound_body("gw-stop", " Stop ")).status_code == 201

    refused = _create(user_client)

    assert (refused.status_code, refused.json()["code"]) == (403, "recipient_opted_out")
    assert OptOut.objects.filter(sender_number=OUR_NUMBER, recipient_number=CUSTOMER, source="keyword").exists()

    assert post_inbound(api_client, inbound_body("gw-start", "START")).status_code == 201

    accepted = _create(user_client)

    assert accepted.status_code == 201
    assert not OptOut.objects.exists()


def test_help_texted_is_answered_once_from_the_number_texted_even_when_the_gateway_resends(api_client, ours) -> None:
    first = post_inbound(api_client, inbound_body("gw-help", "help"))
    resend = post_inbound(api_client, inbound_body("gw-help", "help"))

    assert (first.status_code, resend.status_code, resend.json()["stored"]) == (201, 200, False)
    answer = Message.objects.get(auto_reply="help")
    assert (answer.sender_number, answer.receiver_number, answer.body) == (
        OUR_NUMBER,
        CUSTOMER,
        "Acme alerts. Reply STOP to stop.",
    )


def test_a_stop_sent_in_parts_counts_once_the_text_is_whole(api_client, user_client, ours) -> None:
    post_inbound(api_client, inbound_body("gw-p2", "OP", reference="r1", part=2, parts=2))
    assert _create(user_client).status_code == 201  # "OP" alone is no keyword

    post_inbound(api_client, inbound_body("gw-p1", "ST", reference="r1", part=1, parts=2))

    assert InboundMessage.objects.get().body == "STOP"
    assert _create(user_client).json()["code"] == "recipient_opted_out"


def test_a_reply_to_a_customer_who_texted_stop_is_refused(api_client, user_client, ours) -> None:
    post_inbound(api_client, inbound_body("gw-stop", "STOP"))
    stop = InboundMessage.objects.get()

    refused = user_client.post(
        MESSAGES_URL, {"in_reply_to": stop.message_id, "body": "Sorry to see you go"}, format="json"
    )

    assert (refused.status_code, refused.json()["code"]) == (403, "recipient_opted_out")
    assert list(Message.objects.values_list("auto_reply", flat=True)) == ["stop_confirmation"]


def test_a_reply_goes_back_to_the_customer_from_the_number_they_wrote_to(api_client, user_client, ours) -> None:
    post_inbound(api_client, inbound_body("gw-q", "Is my order shipped?"))
    question = InboundMessage.objects.get()

    answer = user_client.post(MESSAGES_URL, {"in_reply_to": question.message_id, "body": "Yes, today."}, format="json")

    assert answer.status_code == 201
    assert (answer.json()["sender_number"], answer.json()["receiver_number"], answer.json()["in_reply_to"]) == (
        OUR_NUMBER,
        CUSTOMER,
        question.message_id,
    )
