"""Message requests read the token's user and bump the user's rate-limit counter in one Redis round trip, and an
account page (whose account is in its path) reads its cached count in that round trip too."""

import pytest

from apps.core.cache import batch as cache_batch
from apps.core.http.throttling import UserRateThrottle
from tests.messages.factories import MessageFactory
from tests.messages.helpers import MESSAGES_URL, SEARCH_URL, account_messages_url

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

MESSAGES = MESSAGES_URL


def _round_trips_of_a_warm_read(client, redis_round_trips, path: str = MESSAGES) -> int:
    assert client.get(path).status_code == 200  # warm: the user's entry and the count are cached
    redis_round_trips.clear()
    assert client.get(path).status_code == 200
    return len(redis_round_trips)


@pytest.mark.parametrize(("read", "round_trips"), [("list", 2), ("search", 2), ("account", 1)])
def test_a_warm_message_page_batches_the_user_and_the_counter(
    user_client, user, redis_round_trips, monkeypatch, read, round_trips
) -> None:
    MessageFactory.create_batch(3, account_id=user.account_id)
    path = {"list": MESSAGES, "search": SEARCH_URL, "account": account_messages_url(user.account_id)}[read]

    batched = _round_trips_of_a_warm_read(user_client, redis_round_trips, path)
    monkeypatch.setattr(cache_batch, "prefetch", lambda *args, **kwargs: False)
    alone = _round_trips_of_a_warm_read(user_client, redis_round_trips, path)

    assert batched == round_trips  # a list's or search's count is asked for after authenticating, on its own
    assert alone == 3  # user, counter and count, one after the other


def test_a_batched_count_is_never_stale_after_a_create(user_client, user, payload) -> None:
    MessageFactory.create_batch(2, account_id=user.account_id)
    assert user_client.get(MESSAGES).json()["count"] == 2  # counted, cached, and the user's account learned

    assert user_client.post(MESSAGES, payload, format="json").status_code == 201
    assert user_client.get(MESSAGES).json()["count"] == 3


def test_a_create_counts_once_against_the_rate_limit(user_client, payload, monkeypatch) -> None:
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "2/min"})
    statuses = [user_client.post(MESSAGES, payload, format="json").status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_a_deactivated_user_is_refused_on_the_next_request(user, user_client) -> None:
    assert user_client.get(MESSAGES).status_code == 200
    user.is_active = False
    user.save()
    assert user_client.get(MESSAGES).status_code == 401
