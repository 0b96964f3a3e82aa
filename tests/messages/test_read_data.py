"""The plain-row answers of the hot reads are exactly what MessageSerializer (the schema's shape) answers."""

from datetime import UTC, datetime

import pytest

from apps.messages.serializers import MESSAGE_COLUMNS, MessageSerializer, message_data, message_read_data
from tests.messages.factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"status": "sent", "attempts": 2, "sent_at": datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)},
        {"status": "failed", "attempts": 6, "created_at": datetime(2026, 1, 1, tzinfo=UTC)},
        {"status_callback": "https://hooks.example.com/status"},
        {"status": "undelivered", "error_code": "receiver_unreachable", "last_error": "handset off"},
        {"status": "queued", "attempts": 1, "error_code": "gateway_timeout"},  # shown only once it failed
    ],
)
def test_rows_and_instances_answer_what_the_serializer_answers(fields) -> None:
    message = MessageFactory(**fields)
    message.refresh_from_db()
    expected = MessageSerializer(message).data

    row = type(message).objects.filter(pk=message.pk).values(*MESSAGE_COLUMNS).get()
    assert message_read_data([row]) == [expected]
    assert message_data(message) == expected
