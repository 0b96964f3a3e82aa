"""Message requests read the token's user and bump the user's rate-limit counter in one Redis round trip."""

import pytest

from apps.core import cache_batch
from apps.core.throttling import UserRateThrottle

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

MESSAGES = "/api/v1/messages/"


def _round_trips_of_a_warm_list(user_client, redis_round_trips) -> int:
    assert user_client.get(MESSAGES).status_code == 200  # warm: the user's entry and the count are cached
    redis_round_trips.clear()
    assert user_client.get(MESSAGES).status_code == 200
    return len(redis_round_trips)


def test_a_message_list_asks_redis_once_for_user_and_counter(user_client, redis_round_trips, monkeypatch) -> None:
    batched = _round_trips_of_a_warm_list(user_client, redis_round_trips)
    monkeypatch.setattr(cache_batch, "prefetch", lambda *args, **kwargs: False)
    alone = _round_trips_of_a_warm_list(user_client, redis_round_trips)

    assert alone - batched == 1  # user and counter: two round trips alone, one batched


def test_a_create_counts_once_against_the_rate_limit(user_client, payload, monkeypatch) -> None:
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "2/min"})
    statuses = [user_client.post(MESSAGES, payload, format="json").status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_a_deactivated_user_is_refused_on_the_next_request(user, user_client) -> None:
    assert user_client.get(MESSAGES).status_code == 200
    user.is_active = False
    user.save()
    assert user_client.get(MESSAGES).status_code == 401
