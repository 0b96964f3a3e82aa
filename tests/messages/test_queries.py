"""Each list request costs a constant number of queries, whatever the page size; deep pages stay correct."""

from datetime import UTC, datetime, timedelta

import pytest

from .factories import MessageFactory
from .helpers import MESSAGES_URL, SEARCH_URL, account_messages_url

pytestmark = pytest.mark.django_db

# The user behind the token, the account's count version (apps.core.cache.versioned), the count, the page.
QUERIES_PER_LIST = 4
# The user behind the token, the recipient's opt-outs (one indexed lookup), then in the create's transaction the
# message, its account's count version, the audit row and the outbox event; SAVEPOINT and RELEASE because the test
# runs inside a transaction (BEGIN and COMMIT in production). With MESSAGES_ALLOW_ANY_SENDER off, one more: the
# sender's ownership.
QUERIES_PER_CREATE = 8


@pytest.fixture
def many(user):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        MessageFactory(
            account_id=user.account_id, sender_number="+15550000001", created_at=start + timedelta(seconds=i)
        )
        for i in range(60)
    ]


@pytest.mark.parametrize("page_size", [5, 50])
@pytest.mark.parametrize(
    "url",
    [MESSAGES_URL, f"{SEARCH_URL}?sender_number=%2B15550000001&status=queued", "ACCOUNT"],
)
def test_a_list_costs_the_same_queries_at_any_page_size(
    user_client, user, many, django_assert_max_num_queries, url, page_size
) -> None:
    url = account_messages_url(user.account_id) if url == "ACCOUNT" else url
    separator = "&" if "?" in url else "?"

    with django_assert_max_num_queries(QUERIES_PER_LIST):
        response = user_client.get(f"{url}{separator}page_size={page_size}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size


def test_pages_are_disjoint_and_cover_everything_newest_first(user_client, many) -> None:
    seen = []
    for number in range(1, 8):
        seen += [
            m["message_id"] for m in user_client.get(MESSAGES_URL, {"page": number, "page_size": 9}).json()["results"]
        ]

    assert seen == [m.message_id for m in reversed(many)]


def test_page_size_is_capped_at_100(user_client, user) -> None:
    MessageFactory.create_batch(101, account_id=user.account_id)

    body = user_client.get(MESSAGES_URL, {"page_size": 500}).json()

    assert (body["count"], len(body["results"])) == (101, 100)


def test_a_create_costs_a_fixed_number_of_queries_with_one_for_the_opt_outs(
    user_client, django_assert_num_queries, payload
) -> None:
    with django_assert_num_queries(QUERIES_PER_CREATE) as captured:
        response = user_client.post(MESSAGES_URL, payload, format="json")

    assert response.status_code == 201
    assert sum("messaging_optout" in query["sql"] for query in captured.captured_queries) == 1


@pytest.mark.postgres
def test_the_create_s_opt_out_lookup_is_an_index_scan(user) -> None:
    from django.db import connection

    from apps.messages.models import OptOut
    from apps.messages.selectors import opt_outs_blocking

    OptOut.objects.create(account_id=user.account_id, recipient_number="+442079460958", source="api")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned whole, as it should be
    lookup = opt_outs_blocking(
        account_id=user.account_id, sender_number="+15551230001", recipient_number="+442079460958"
    )

    plan = lookup.explain()

    assert "optout_account_recipient_idx" in plan, plan
