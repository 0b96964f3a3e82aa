"""Warm catalog reads answered before DRF (`WarmReadFastPath` in apps/products/cache.py): the answer the viewset
would give, header for header, and every refusal still the viewset's own."""

import pytest
from rest_framework.authentication import SessionAuthentication
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import RefreshToken

from apps.core.http.permissions import IsAdminOrReadOnly
from apps.core.http.throttling import UserRateThrottle
from apps.products.cache import WarmReadFastPath
from apps.products.views import ProductViewSet
from apps.users.authentication import GENERATION_CLAIM
from tests.products.conftest import PRODUCTS, product_url

# A connection's check of the catalog version holds for a day, not a second: a read that falls in the next second
# would otherwise go to the viewset to check it again, and the tests count which reads reach the viewset.
pytestmark = [pytest.mark.redis, pytest.mark.django_db, pytest.mark.usefixtures("version_check_held")]

LOGOUT = "/api/v1/auth/logout/"


@pytest.fixture
def dispatched(monkeypatch) -> list[str]:
    """The paths of the product reads that reached DRF's dispatch."""
    seen: list[str] = []
    initial = ProductViewSet.initial

    def recording_initial(self, request, *args, **kwargs):
        seen.append(request.path)
        return initial(self, request, *args, **kwargs)

    monkeypatch.setattr(ProductViewSet, "initial", recording_initial)
    return seen


@pytest.fixture
def fast_path_off(monkeypatch):
    """`fast_path_off()`: from now on every read goes through the viewset (the yardstick)."""
    return lambda: monkeypatch.setattr(WarmReadFastPath, "answer", lambda self, request: None)


def answer_headers(response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name != "X-Request-ID"}


@pytest.mark.parametrize("detail", [False, True])
def test_a_warm_read_skips_drf_and_answers_what_the_viewset_answers(
    user_client, product, dispatched, fast_path_off, detail
) -> None:
    url = product_url(product) if detail else PRODUCTS
    user_client.get(url)  # a miss: the viewset computes and stores it

    fast = user_client.get(url)
    fast_path_off()
    through_drf = user_client.get(url)

    assert dispatched == [url, url]  # the miss and the yardstick, not the warm read
    assert (fast.status_code, fast.content) == (200, through_drf.content)
    assert answer_headers(fast) == answer_headers(through_drf)
    assert "GET" in fast["Allow"]
    assert "Accept" in fast["Vary"]


@pytest.mark.parametrize("detail", [False, True])
def test_a_warm_conditional_read_is_the_viewsets_304(user_client, product, dispatched, fast_path_off, detail) -> None:
    url = product_url(product) if detail else PRODUCTS
    etag = user_client.get(url)["ETag"]

    fast = user_client.get(url, HTTP_IF_NONE_MATCH=etag)
    fast_path_off()
    through_drf = user_client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert dispatched == [url, url]
    assert (fast.status_code, through_drf.status_code) == (304, 304)
    assert answer_headers(fast) == answer_headers(through_drf)


@pytest.mark.parametrize(
    ("query", "accept"), [("?format=api", "*/*"), ("", "text/html"), ("", "application/json; indent=4")]
)
def test_any_other_rendering_goes_through_the_viewset(user_client, product, dispatched, query, accept) -> None:
    for _ in range(2):
        response = user_client.get(f"{PRODUCTS}{query}", HTTP_ACCEPT=accept)
        assert response.status_code == 200
    assert dispatched == [PRODUCTS, PRODUCTS]


@pytest.mark.parametrize("authorization", ["Bearer a b", "Bearer", "Bearer not.a.token", "Basic dXNlcjpwYXNz"])
def test_a_malformed_or_foreign_authorization_is_the_viewsets_401(user_client, product, authorization) -> None:
    user_client.get(PRODUCTS)  # warm
    anonymous = APIClient()
    anonymous.credentials(HTTP_AUTHORIZATION=authorization)

    response = anonymous.get(PRODUCTS)

    assert response.status_code == 401
    assert response.json()["code"] in {"bad_authorization_header", "token_not_valid", "not_authenticated"}


def test_a_signed_out_token_is_refused_on_the_next_warm_read(user, product) -> None:
    refresh = RefreshToken.for_user(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")
    assert [client.get(PRODUCTS).status_code for _ in range(2)] == [200, 200]

    assert client.post(LOGOUT, {"refresh": str(refresh)}, format="json").status_code == 204

    response = client.get(PRODUCTS)
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


def test_a_token_of_an_older_generation_is_refused_on_a_warm_read(user, auth_client, product) -> None:
    old_session = auth_client(user)
    assert old_session.get(PRODUCTS).status_code == 200
    user.token_generation += 1  # what revoking every session of the account does
    user.save()
    refresh = RefreshToken.for_user(user)
    refresh[GENERATION_CLAIM] = user.token_generation
    new_session = APIClient()
    new_session.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")
    assert [new_session.get(PRODUCTS).status_code for _ in range(2)] == [200, 200]  # the user's entry is current

    response = old_session.get(PRODUCTS)

    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


def test_the_views_own_permissions_decide_a_warm_read(user_client, product, monkeypatch) -> None:
    assert [user_client.get(PRODUCTS).status_code for _ in range(2)] == [200, 200]

    monkeypatch.setattr(IsAdminOrReadOnly, "has_permission", lambda self, request, view: False)

    assert user_client.get(PRODUCTS).status_code == 403


def test_a_spent_limit_is_the_viewsets_429_counted_once(user_client, product, dispatched, monkeypatch) -> None:
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "3/min"})
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: 1_000_010.0)  # every read in one window

    statuses = [user_client.get(PRODUCTS).status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    assert dispatched == [PRODUCTS, PRODUCTS, PRODUCTS]  # the miss, then each 429 from the viewset


@pytest.mark.parametrize(
    ("changes", "applies"),
    [
        ({}, True),
        ({"throttle_classes": [ScopedRateThrottle]}, False),  # a limit the batch cannot count
        ({"authentication_classes": [SessionAuthentication]}, False),  # no bearer tokens to read
    ],
)
def test_only_a_view_whose_token_and_limits_the_batch_covers_is_answered_early(changes, applies) -> None:
    view_class = type("ChangedProductViewSet", (ProductViewSet,), changes)

    fast_path = WarmReadFastPath(view_class, {"get": "list"}, {}, detail=False)

    assert fast_path.applies is applies
