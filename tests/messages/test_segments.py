"""A body's encoding and SMS segments: counted at acceptance, stored, answered, limited, searchable and counted
when sent."""

import pytest

from apps.messages import metrics
from apps.messages.encoding import segmentation
from apps.messages.models import Message

from .factories import MessageFactory
from .helpers import MESSAGES_URL, SEARCH_URL, message_json


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("x" * 160, "GSM-7", 1),
        ("x" * 161, "GSM-7", 2),  # concatenated: 153 per part
        ("x" * 306, "GSM-7", 2),
        ("x" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # the extension table's characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("x" * 152 + "€" + "x" * 152, "GSM-7", 3),  # 306 septets, but the escape and its character stay together
        ("Ç@£$¥èéùìò\nØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà", "GSM-7", 1),
        ("é" * 160, "GSM-7", 1),
        ("ç" * 70, "UCS-2", 1),  # lowercase ç is not in GSM 03.38 (its Ç is)
        ("ç" * 71, "UCS-2", 2),  # 67 per part
        ("ç" * 134, "UCS-2", 2),
        ("ç" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # outside the BMP: two UTF-16 code units each
        ("😀" * 36, "UCS-2", 2),
        ("x" * 66 + "😀" + "x" * 66, "UCS-2", 3),  # 134 units, the surrogate pair kept in one part
        ("`", "UCS-2", 1),
    ],
)
def test_encoding_and_segments_follow_gsm_03_38(body, encoding, segments) -> None:
    counted = segmentation(body)

    assert (counted.encoding, counted.segments) == (encoding, segments)


@pytest.mark.django_db
def test_create_answers_and_stores_the_encoding_and_segments(user_client, payload) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, "body": "Привет! " * 10}, format="json")

    assert response.status_code == 201
    assert (response.json()["encoding"], response.json()["segments"]) == ("UCS-2", 2)
    message = Message.objects.get()
    assert response.json() == message_json(message)


@pytest.mark.django_db
def test_a_body_past_the_segment_limit_is_400_naming_the_limit(user_client, payload, settings) -> None:
    settings.MESSAGE_MAX_SEGMENTS = 3

    response = user_client.post(MESSAGES_URL, {**payload, "body": "x" * (153 * 3 + 1)}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The body takes 4 SMS segments (GSM-7); the limit is 3 (MESSAGE_MAX_SEGMENTS).",
        "code": "too_many_segments",
    }
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_body_at_the_segment_limit_is_accepted(user_client, payload, settings) -> None:
    settings.MESSAGE_MAX_SEGMENTS = 3

    response = user_client.post(MESSAGES_URL, {**payload, "body": "x" * (153 * 3)}, format="json")

    assert (response.status_code, response.json()["segments"]) == (201, 3)


@pytest.mark.django_db
def test_search_filters_by_segments(user_client, user) -> None:
    one, two, three = (MessageFactory(account_id=user.account_id, segments=n) for n in (1, 2, 3))

    def found(query: str) -> list[str]:
        response = user_client.get(f"{SEARCH_URL}?{query}")
        assert response.status_code == 200, response.json()
        return sorted(row["message_id"] for row in response.json()["results"])

    assert found("segments=2") == [two.message_id]
    assert found("segments_min=2") == sorted([two.message_id, three.message_id])
    assert found("segments_max=2") == sorted([one.message_id, two.message_id])
    assert found("segments_min=2&segments_max=2") == [two.message_id]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["two", "1.5", "0"])
def test_a_malformed_segments_filter_is_400_naming_it(user_client, value) -> None:
    response = user_client.get(f"{SEARCH_URL}?segments_min={value}")

    assert response.status_code == 400
    assert list(response.json()) == ["segments_min"]


@pytest.mark.django_db
def test_sent_segments_are_counted(user_client, payload, django_capture_on_commit_callbacks) -> None:
    before = metrics.messages_segments_sent_total._value.get()

    with django_capture_on_commit_callbacks(execute=True):
        user_client.post(MESSAGES_URL, {**payload, "body": "x" * 200}, format="json")
        user_client.post(MESSAGES_URL, {**payload, "body": "ç" * 10}, format="json")

    assert sorted(Message.objects.values_list("status", "segments")) == [("sent", 1), ("sent", 2)]
    assert metrics.messages_segments_sent_total._value.get() - before == 3
