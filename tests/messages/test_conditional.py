"""Conditional message reads: every read answers an ETag, and a current If-None-Match is a 304 with no body."""

import pytest

from apps.messages.models import Message

from .factories import MessageFactory
from .helpers import MESSAGES_URL, SEARCH_URL, account_messages_url, detail_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(user) -> Message:
    return MessageFactory(account_id=user.account_id)


def test_detail_answers_an_etag_and_a_304_for_it(user_client, message) -> None:
    etag = user_client.get(detail_url(message.message_id))["ETag"]

    again = user_client.get(detail_url(message.message_id), HTTP_IF_NONE_MATCH=etag)

    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)


def test_a_status_change_makes_the_tag_stale(user_client, message) -> None:
    etag = user_client.get(detail_url(message.message_id))["ETag"]
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT, attempts=1)

    changed = user_client.get(detail_url(message.message_id), HTTP_IF_NONE_MATCH=etag)

    assert changed.status_code == 200
    assert changed.json()["status"] == "sent"
    assert changed["ETag"] != etag


@pytest.mark.parametrize("url", [MESSAGES_URL, SEARCH_URL, "account"])
def test_every_list_read_is_conditional(user, user_client, message, url) -> None:
    url = account_messages_url(user.account_id) if url == "account" else url
    etag = user_client.get(url)["ETag"]

    assert user_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert user_client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_another_accounts_message_stays_404_whatever_the_tag(other_user, auth_client, message) -> None:
    assert auth_client(other_user).get(detail_url(message.message_id), HTTP_IF_NONE_MATCH="*").status_code == 404
