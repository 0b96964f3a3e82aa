"""POST /api/v1/messages/: the answer, who may send for which account, and input validation."""

import uuid
from datetime import timedelta

import pytest

from apps.core.models import AuditEvent, OutboxEvent
from apps.messages.models import BODY_MAX_LENGTH, Message
from tests.users.factories import UserFactory

from .helpers import MESSAGES_URL, detail_url, iso, message_json

pytestmark = pytest.mark.django_db

E164_ERROR = (
    "Enter a phone number in E.164 form: '+' then 8 to 15 digits (spaces, dashes, dots and brackets are ignored)."
)
# A sender may also be an alphanumeric sender ID, and its error says so.
SENDER_ERROR = (
    "Enter an E.164 phone number ('+' then 8 to 15 digits) or an alphanumeric sender ID (1 to 11 letters, digits "
    "and spaces, at least one letter)."
)


def test_create_answers_201_with_the_queued_message(user_client, user, payload) -> None:
    response = user_client.post(MESSAGES_URL, payload, format="json")

    assert response.status_code == 201
    message = Message.objects.get()
    assert response.json() == {
        "message_id": message.message_id,
        "direction": "outbound",
        "account_id": str(user.account_id),
        "sender_number": "+15551230001",
        "receiver_number": "+442079460958",
        "body": "Hello there",
        "status": "queued",
        "attempts": 0,
        "created_at": message_json(message)["created_at"],
        "sent_at": None,
        "status_callback": None,
        "error_code": None,
        "encoding": "GSM-7",
        "segments": 1,
        "send_at": None,
        "validity_period": 36000,
        "expires_at": iso(message.created_at + timedelta(hours=10)),
        "redact_body_after_send": False,
        "redacted_at": None,
        "backend": None,
        "in_reply_to": None,
    }
    assert response["Location"] == detail_url(message.message_id)
    assert len(message.message_id) == 26


def test_create_is_audited_and_publishes_an_event(user_client, user, payload) -> None:
    message_id = user_client.post(MESSAGES_URL, payload, format="json").json()["message_id"]

    audit = AuditEvent.objects.get(action="message.created")
    assert (audit.actor_id, audit.object_type, audit.object_id) == (user.pk, "messaging.message", message_id)
    event = OutboxEvent.objects.get(event_type="message.created")
    assert event.priority == "medium"
    assert (event.aggregate_type, event.aggregate_id) == ("message", message_id)
    assert event.payload["message_id"] == message_id
    assert event.payload["account_id"] == str(user.account_id)


def test_fields_the_caller_may_not_set_are_ignored(user_client, user, payload) -> None:
    sneaky = {**payload, "message_id": "0" * 26, "status": "sent", "attempts": 9, "sent_at": "2020-01-01T00:00:00Z"}

    response = user_client.post(MESSAGES_URL, sneaky, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["message_id"] != "0" * 26
    assert (body["status"], body["attempts"], body["sent_at"]) == ("queued", 0, None)


def test_naming_ones_own_account_is_allowed(user_client, user, payload) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, "account_id": str(user.account_id)}, format="json")

    assert response.status_code == 201
    assert response.json()["account_id"] == str(user.account_id)


def test_a_user_naming_another_account_is_403_and_writes_nothing(user_client, other_user, payload) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, "account_id": str(other_user.account_id)}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only an admin may send messages for another account.",
        "code": "permission_denied",
    }
    assert not Message.objects.exists()


def test_an_admin_may_send_for_another_account(admin_client, other_user, payload) -> None:
    response = admin_client.post(MESSAGES_URL, {**payload, "account_id": str(other_user.account_id)}, format="json")

    assert response.status_code == 201
    assert response.json()["account_id"] == str(other_user.account_id)
    assert Message.objects.get().account_id == other_user.account_id


def test_an_admin_naming_an_unknown_account_is_400(admin_client, payload) -> None:
    response = admin_client.post(MESSAGES_URL, {**payload, "account_id": str(uuid.uuid4())}, format="json")

    assert response.status_code == 400
    assert response.json() == {"account_id": ["No account has this id."]}
    assert not Message.objects.exists()


def test_a_malformed_account_id_is_400(admin_client, payload) -> None:
    response = admin_client.post(MESSAGES_URL, {**payload, "account_id": "42"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"account_id": ["Must be a valid UUID."]}


def test_an_anonymous_caller_is_401(api_client, payload) -> None:
    response = api_client.post(MESSAGES_URL, payload, format="json")

    assert response.status_code == 401
    assert "WWW-Authenticate" in response
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("+1 555 123 4567", "+15551234567"),
        ("+1-555-123-4567", "+15551234567"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("+44.20.7946.0958", "+442079460958"),
        ("+49 [30] 1234 5678", "+493012345678"),
        ("+12345678", "+12345678"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_numbers_are_normalised_to_e164(user_client, payload, given, stored) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, "sender_number": given, "receiver_number": given})

    assert response.status_code == 201, response.json()
    assert (response.json()["sender_number"], response.json()["receiver_number"]) == (stored, stored)
    message = Message.objects.get()
    assert (message.sender_number, message.receiver_number) == (stored, stored)


@pytest.mark.parametrize(
    "number",
    [
        "15551234567",  # no +
        "+1555ABC4567",  # letters
        "+1234567",  # 7 digits
        "+1234567890123456",  # 16 digits
        "++15551234567",
        "+1 555 123 4567 ext 9",
        "+" + "\uff11" * 11,  # full-width digits are not ASCII digits
    ],
)
@pytest.mark.parametrize("field", ["sender_number", "receiver_number"])
def test_a_number_that_does_not_normalise_is_400_and_writes_nothing(user_client, payload, field, number) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, field: number}, format="json")

    assert response.status_code == 400
    assert response.json() == {field: [SENDER_ERROR if field == "sender_number" else E164_ERROR]}
    assert not Message.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "This field may not be blank."),
        ("x" * (BODY_MAX_LENGTH + 1), "Ensure this field has no more than 1600 characters."),
        (None, "This field may not be null."),
    ],
)
def test_a_body_out_of_bounds_is_400_and_writes_nothing(user_client, payload, body, error) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, "body": body}, format="json")

    assert response.status_code == 400
    assert response.json() == {"body": [error]}
    assert not Message.objects.exists()


def test_a_body_of_1600_characters_is_accepted_as_sent(user_client, payload, settings) -> None:
    settings.MESSAGE_MAX_SEGMENTS = 11  # 1600 GSM-7 characters take 11 segments of 153
    body = " " + "x" * (BODY_MAX_LENGTH - 2) + " "

    response = user_client.post(MESSAGES_URL, {**payload, "body": body}, format="json")

    assert response.status_code == 201
    assert response.json()["body"] == body


def test_missing_fields_are_400_naming_each(user_client) -> None:
    response = user_client.post(MESSAGES_URL, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "sender_number": ["This field is required."],
        "receiver_number": ["This field is required."],
        "body": ["This field is required."],
    }


def test_a_body_that_is_not_json_is_400(user_client) -> None:
    response = user_client.post(MESSAGES_URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()
    assert not Message.objects.exists()


def test_each_message_gets_its_own_time_ordered_id(user_client, payload) -> None:
    first = user_client.post(MESSAGES_URL, payload, format="json").json()["message_id"]
    second = user_client.post(MESSAGES_URL, payload, format="json").json()["message_id"]

    assert first < second
    assert Message.objects.count() == 2


def test_a_deactivated_user_cannot_send(auth_client, payload) -> None:
    user = UserFactory()
    client = auth_client(user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = client.post(MESSAGES_URL, payload, format="json")

    assert response.status_code == 401
    assert not Message.objects.exists()


def test_an_unverified_account_may_not_send_nor_set_callbacks(auth_client, payload) -> None:
    client = auth_client(UserFactory(is_verified=False))
    refused = {
        "detail": "Verify your email address first: follow the link in the verification email.",
        "code": "email_not_verified",
    }

    created = client.post(MESSAGES_URL, payload, format="json")
    url_set = client.patch("/api/v1/accounts/me/status-callback/", {"default_url": "https://8.8.8.8/h"}, format="json")
    secret_made = client.post("/api/v1/accounts/me/status-callback/secret/")

    assert [created.status_code, url_set.status_code, secret_made.status_code] == [403, 403, 403]
    assert created.json() == url_set.json() == secret_made.json() == refused
    assert not Message.objects.exists()
    # Clearing what was set (before the email had to be verified) stays allowed.
    assert client.patch("/api/v1/accounts/me/status-callback/", {"default_url": ""}, format="json").status_code == 200
