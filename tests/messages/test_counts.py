"""Cached message counts: served from the cache while the account's messages stay the same, never stale after a
create or a seed, and never cached for a `status` filter (deliveries change it)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.messages.delivery import services
from apps.users.seed import demo_users
from tests.messages.factories import MessageFactory
from tests.messages.helpers import MESSAGES_URL, SEARCH_URL, account_messages_url

pytestmark = pytest.mark.django_db


def _count_queries(captured: CaptureQueriesContext) -> int:
    return sum("COUNT(" in query["sql"].upper() for query in captured.captured_queries)


def _read(client, url, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()["count"], _count_queries(captured)


@pytest.mark.parametrize("url", ["list", "search", "account"])
def test_a_second_read_takes_the_count_from_the_cache(user_client, user, url) -> None:
    MessageFactory.create_batch(3, account_id=user.account_id)
    path = {"list": MESSAGES_URL, "search": SEARCH_URL, "account": account_messages_url(user.account_id)}[url]

    assert _read(user_client, path) == (3, 1)
    assert _read(user_client, path) == (3, 0)
    assert _read(user_client, path, page_size=2) == (3, 0)  # the page parameters do not change the count


def test_a_create_through_the_api_is_counted_by_the_next_read(
    user_client, user, payload, django_capture_on_commit_callbacks
) -> None:
    MessageFactory.create_batch(2, account_id=user.account_id)
    assert _read(user_client, MESSAGES_URL) == (2, 1)
    assert _read(user_client, SEARCH_URL, sender_number=payload["sender_number"]) == (0, 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert user_client.post(MESSAGES_URL, payload, format="json").status_code == 201

    assert _read(user_client, MESSAGES_URL) == (3, 1)
    assert _read(user_client, SEARCH_URL, sender_number=payload["sender_number"]) == (1, 1)


@pytest.mark.django_db(transaction=True)  # the seed analyzes the tables it loaded: outside a transaction
def test_seeded_messages_are_counted_by_the_next_read(api_client) -> None:
    # The seed inserts in bulk, past the create service: it makes the seeded accounts' counts stale itself.
    seed = ["seed_demo", "--users", "1", "--categories", "0", "--products", "0", "--heavy-accounts", "0"]
    call_command(*seed, "--messages", "1", stdout=StringIO())
    (owner,) = demo_users(1)
    api_client.force_authenticate(owner)
    assert _read(api_client, MESSAGES_URL) == (1, 1)

    call_command(*seed, "--messages", "5", "--reuse", stdout=StringIO())
    assert _read(api_client, MESSAGES_URL) == (5, 1)


def test_another_accounts_messages_leave_my_count_cached(
    user_client, user, other_user, django_capture_on_commit_callbacks
) -> None:
    MessageFactory(account_id=user.account_id)
    assert _read(user_client, MESSAGES_URL) == (1, 1)

    with django_capture_on_commit_callbacks(execute=True):
        MessageFactory(account_id=other_user.account_id)

    assert _read(user_client, MESSAGES_URL) == (1, 0)


def test_a_status_filter_is_counted_afresh_after_a_delivery(
    user_client, user, django_capture_on_commit_callbacks
) -> None:
    queued = MessageFactory(account_id=user.account_id)
    assert _read(user_client, SEARCH_URL, status="sent") == (0, 1)

    with django_capture_on_commit_callbacks(execute=True):
        services.message_deliver(message_pk=queued.pk)

    assert _read(user_client, SEARCH_URL, status="sent") == (1, 1)


def test_an_admin_reading_every_account_is_counted_afresh(admin_client, user) -> None:
    MessageFactory(account_id=user.account_id)
    assert _read(admin_client, MESSAGES_URL) == (1, 1)
    assert _read(admin_client, MESSAGES_URL) == (1, 1)
