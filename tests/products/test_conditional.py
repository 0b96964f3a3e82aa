"""Conditional catalog reads and writes: ETag, If-None-Match → 304 (without a query where the version says so),
If-Match → 412 on a stale write."""

import pytest
from django.core.cache import cache

from apps.products.models import PriceChange, Product
from tests.products.conftest import PRODUCTS, product_url

pytestmark = pytest.mark.django_db


def test_list_answers_an_etag_and_a_304_with_no_query_but_the_version(
    user_client, product, django_assert_num_queries, version_queries
) -> None:
    first = user_client.get(PRODUCTS)
    etag = first["ETag"]

    with django_assert_num_queries(version_queries):
        again = user_client.get(PRODUCTS, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_the_list_tag_is_current_without_a_cached_body(
    user_client, product, django_assert_num_queries, version_queries
) -> None:
    """The tag comes from the catalog version alone: a 304 needs no cached page, and no query but the version's."""
    etag = user_client.get(PRODUCTS)["ETag"]
    cache.clear()
    # Another page: it signs the token's user in to the authentication cache again, and has a tag of its own.
    assert user_client.get(PRODUCTS, {"page_size": 1})["ETag"] != etag

    with django_assert_num_queries(version_queries):
        assert user_client.get(PRODUCTS, HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        (
            {"is_available": "maybe"},
            400,
            {"is_available": ["Select a valid choice. maybe is not one of the available choices."]},
        ),
        ({"page": "99"}, 404, {"detail": "Invalid page.", "code": "not_found"}),
    ],
)
def test_if_none_match_any_never_turns_a_refused_list_into_a_304(user_client, product, query, status, body) -> None:
    """`*` names any current representation, and a refused read has none: the refusal stands (RFC 9110 §13.2.1)."""
    response = user_client.get(PRODUCTS, query, HTTP_IF_NONE_MATCH="*")

    assert (response.status_code, response.json()) == (status, body)


def test_if_none_match_any_is_a_304_for_a_list_that_answers(user_client, product) -> None:
    etag = user_client.get(PRODUCTS)["ETag"]
    cache.clear()  # computed afresh, not from a cached page

    response = user_client.get(PRODUCTS, HTTP_IF_NONE_MATCH="*")

    assert (response.status_code, response.content, response["ETag"]) == (304, b"", etag)


def test_a_catalog_write_makes_the_list_tag_stale(user_client, admin_client, product, committed) -> None:
    etag = user_client.get(PRODUCTS)["ETag"]

    with committed():
        admin_client.patch(product_url(product, "price/"), {"price": "25.00"}, format="json")
    changed = user_client.get(PRODUCTS, HTTP_IF_NONE_MATCH=etag)

    assert changed.status_code == 200
    assert changed.json()["results"][0]["price"] == "25.00"
    assert changed["ETag"] != etag


def test_detail_304_from_the_cache_runs_no_query_but_the_version(
    user_client, product, django_assert_num_queries, version_queries
) -> None:
    etag = user_client.get(product_url(product))["ETag"]

    with django_assert_num_queries(version_queries):
        again = user_client.get(product_url(product), HTTP_IF_NONE_MATCH=etag)

    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)


def test_a_stale_if_none_match_gets_the_body(user_client, product) -> None:
    answer = user_client.get(product_url(product), HTTP_IF_NONE_MATCH='"not-the-tag"')

    assert answer.status_code == 200
    assert answer.json()["sku"] == "HAM-001"


def test_a_stale_if_match_is_412_and_changes_nothing(user_client, admin_client, product, committed) -> None:
    etag = user_client.get(product_url(product))["ETag"]
    with committed():
        first = admin_client.patch(product_url(product), {"name": "First editor"}, format="json", HTTP_IF_MATCH=etag)

    second = admin_client.patch(product_url(product), {"name": "Second editor"}, format="json", HTTP_IF_MATCH=etag)

    assert first.status_code == 200
    assert second.status_code == 412
    assert second.json() == {
        "detail": "The resource changed since it was read (If-Match does not match its current ETag).",
        "code": "precondition_failed",
    }
    assert Product.objects.get(pk=product.pk).name == "First editor"


def test_a_write_answers_the_tag_its_next_write_names(admin_client, product, committed) -> None:
    etag = admin_client.get(product_url(product))["ETag"]
    with committed():
        first = admin_client.patch(
            product_url(product, "price/"), {"price": "30.00"}, format="json", HTTP_IF_MATCH=etag
        )
    with committed():
        second = admin_client.patch(
            product_url(product, "price/"), {"price": "31.00"}, format="json", HTTP_IF_MATCH=first["ETag"]
        )

    assert (first.status_code, second.status_code) == (200, 200)
    assert first["ETag"] != etag
    assert second["ETag"] == admin_client.get(product_url(product))["ETag"]
    assert list(PriceChange.objects.filter(product=product).values_list("new_price", flat=True).order_by("id")) == [
        30,
        31,
    ]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("patch", "price/", {"price": "99.00"}),
        ("patch", "availability/", {"is_available": False}),
        ("delete", "", None),
    ],
)
def test_every_product_write_refuses_a_stale_if_match(admin_client, product, method, suffix, body) -> None:
    before = Product.all_objects.filter(pk=product.pk).values().get()

    answer = getattr(admin_client, method)(product_url(product, suffix), body, format="json", HTTP_IF_MATCH='"stale"')

    assert answer.status_code == 412
    assert Product.all_objects.filter(pk=product.pk).values().get() == before


def test_a_write_without_if_match_stays_unconditional(admin_client, product) -> None:
    assert admin_client.patch(product_url(product), {"name": "Anyone"}, format="json").status_code == 200
