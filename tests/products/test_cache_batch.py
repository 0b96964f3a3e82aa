"""A cached catalog read asks Redis once: the token's user, the rate-limit counter and the body in one pipeline.
Authentication, the rate limit and staleness hold exactly as when each was asked alone."""

import pytest

from apps.core.cache import batch as cache_batch
from apps.core.http.throttling import UserRateThrottle
from tests.products.conftest import PRODUCTS, product_url

# The version's check holds for a day: a read in the next second would check it again, one more round trip.
pytestmark = [pytest.mark.redis, pytest.mark.django_db, pytest.mark.usefixtures("version_check_held")]


@pytest.fixture
def three_per_minute(monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "3/min"})


@pytest.mark.parametrize("detail", [False, True])
def test_a_warm_cached_read_is_one_redis_round_trip(user_client, product, redis_round_trips, detail) -> None:
    url = product_url(product) if detail else PRODUCTS
    first = user_client.get(url)  # a miss: computed, stored
    redis_round_trips.clear()

    second = user_client.get(url)

    assert second.status_code == 200
    assert second.content == first.content
    assert len(redis_round_trips) == 1


def test_without_the_batch_the_same_read_takes_three(user_client, product, redis_round_trips, monkeypatch) -> None:
    # The yardstick the test above beats: the three reads one after the other.
    monkeypatch.setattr(cache_batch, "prefetch", lambda *args, **kwargs: False)
    user_client.get(PRODUCTS)
    redis_round_trips.clear()

    assert user_client.get(PRODUCTS).status_code == 200
    assert len(redis_round_trips) == 3


def test_each_batched_read_counts_once_against_the_rate_limit(user_client, product, three_per_minute) -> None:
    statuses = [user_client.get(PRODUCTS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_deactivated_user_is_refused_on_the_next_cached_read(user, user_client, product) -> None:
    assert user_client.get(PRODUCTS).status_code == 200
    assert user_client.get(PRODUCTS).status_code == 200  # warm: body and user both from the batch

    user.is_active = False
    user.save()

    assert user_client.get(PRODUCTS).status_code == 401


def test_a_demoted_admin_sees_the_role_change_on_the_next_read(admin_user, auth_client, product) -> None:
    client = auth_client(admin_user)
    assert client.get(PRODUCTS).status_code == 200
    admin_user.role = "user"
    admin_user.save()
    assert client.get(PRODUCTS).status_code == 200
    assert client.post(PRODUCTS, {"name": "x"}, format="json").status_code == 403


def test_a_write_makes_the_batched_body_stale_at_once(admin_client, user_client, product, committed) -> None:
    before = user_client.get(product_url(product)).json()
    user_client.get(product_url(product))
    with committed():
        assert admin_client.patch(product_url(product), {"name": "Renamed"}, format="json").status_code == 200

    after = user_client.get(product_url(product)).json()

    assert (before["name"], after["name"]) == (product.name, "Renamed")


def test_a_bad_token_fetches_nothing_and_is_refused(api_client, product, redis_round_trips) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert api_client.get(PRODUCTS).status_code == 401
    assert redis_round_trips == []
