import pytest
from django.core.cache import caches

from apps.core.cache.counters import bump_counter, redis_client
from apps.core.http.throttling import UserRateThrottle
from tests.helpers.processes import closed_port


@pytest.fixture
def three_per_minute(monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "3/min"})


def test_user_rate_is_enforced_with_retry_after(user_client, three_per_minute) -> None:
    statuses = [user_client.get("/api/v1/users/me/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = user_client.get("/api/v1/users/me/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"].lower()


def test_each_user_has_their_own_counter(auth_client, user, other_user, three_per_minute) -> None:
    first, second = auth_client(user), auth_client(other_user)
    for _ in range(3):
        assert first.get("/api/v1/users/me/").status_code == 200
    assert first.get("/api/v1/users/me/").status_code == 429
    assert second.get("/api/v1/users/me/").status_code == 200


def test_cache_down_fails_open_instead_of_500(user_client, three_per_minute, settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
        }
    }
    statuses = [user_client.get("/api/v1/users/me/").status_code for _ in range(5)]
    assert statuses == [200] * 5


def test_a_counter_bumped_alone_fails_open_when_the_cache_is_down(db, api_client, settings) -> None:
    down = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
    }
    settings.CACHES = {"default": down}
    assert bump_counter(caches["default"], "a-counter", 60) is None
    # The sign-in door's address limit and the login guard's counters are bumped alone: refused, never a 500.
    response = api_client.post("/api/v1/auth/login/", {"email": "nobody@example.com", "password": "wrong"})
    assert response.status_code == 401


@pytest.mark.redis
def test_a_counter_keeps_the_expiry_of_the_bump_that_made_it() -> None:
    cache = caches["default"]
    assert [bump_counter(cache, "a-counter", 30), bump_counter(cache, "a-counter", 3600)] == [1, 2]
    assert 0 < cache.ttl("a-counter") <= 30  # type: ignore[attr-defined]
    assert cache.get("a-counter") == 2


@pytest.mark.redis
def test_counters_behind_djangos_cache_proxy_bump_on_redis() -> None:
    # DRF's throttles and the login guard hold `django.core.cache.cache`, a proxy whose type is not django-redis's:
    # their bumps must still take the Redis path (one round trip), not the in-process cache's incr-then-add.
    from django.core.cache import cache

    assert redis_client(cache) is not None
    assert redis_client(cache) is redis_client(caches["default"])


@pytest.mark.redis
def test_counter_is_shared_through_redis(user, auth_client, three_per_minute) -> None:
    from django.core.cache import caches
    from django_redis.cache import RedisCache

    for _ in range(3):
        assert auth_client(user).get("/api/v1/users/me/").status_code == 200
    # A second, independent connection (another web process) sees the same count.
    other_process_cache = caches.create_connection("default")
    assert isinstance(other_process_cache, RedisCache)
    keys = [key for key in other_process_cache.keys("throttle_user_*")]
    assert keys
    assert other_process_cache.get(keys[0]) == 3
    assert auth_client(user).get("/api/v1/users/me/").status_code == 429


@pytest.fixture
def anonymous_three_user_one(monkeypatch):
    """The anonymous rate looser than the user rate, so a user rate applied to anonymous requests would show."""
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": "3/min", "user": "1/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: 1_000_010.0)  # every request in one window


def test_an_anonymous_request_counts_against_the_anonymous_rate_only(db, api_client, anonymous_three_user_one) -> None:
    statuses = [api_client.post("/api/v1/auth/refresh/", {"refresh": "not-a-token"}).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


@pytest.mark.redis
def test_an_anonymous_request_bumps_one_counter_in_one_round_trip(
    db, api_client, anonymous_three_user_one, redis_round_trips
) -> None:
    response = api_client.post("/api/v1/auth/refresh/", {"refresh": "not-a-token"})

    assert response.status_code == 401
    assert len(redis_round_trips) == 1
