"""Price changes, availability and the price history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from apps.core.models import AuditEvent, OutboxEvent
from apps.products.models import PriceChange
from tests.products.conftest import product_url
from tests.products.factories import PriceChangeFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_price_change_answers_the_product_and_records_everything(admin_client, admin_user, product) -> None:
    response = admin_client.patch(product_url(product, "price/"), {"price": "25.50"}, format="json")

    assert response.status_code == 200
    assert response.json()["price"] == "25.50"
    assert response.json()["id"] == product.pk
    change = PriceChange.objects.get(product=product)
    assert (change.old_price, change.new_price, change.changed_by) == (Decimal("19.99"), Decimal("25.50"), admin_user)
    audit = AuditEvent.objects.get(action="product.price_changed")
    assert (audit.actor, audit.object_id, audit.changes) == (admin_user, str(product.pk), {"price": ["19.99", "25.50"]})
    event = OutboxEvent.objects.get(event_type="product.price_changed")
    assert event.priority == "high"
    assert (event.aggregate_type, event.aggregate_id) == ("product", str(product.pk))
    assert event.payload == {
        "id": product.pk,
        "sku": "HAM-001",
        "old_price": "19.99",
        "new_price": "25.50",
        "currency": "USD",
    }


def test_price_as_a_json_number(admin_client, product) -> None:
    response = admin_client.patch(product_url(product, "price/"), {"price": 7}, format="json")
    assert response.json()["price"] == "7.00"


def test_setting_the_same_price_records_nothing(admin_client, product) -> None:
    response = admin_client.patch(product_url(product, "price/"), {"price": "19.99"}, format="json")
    assert response.status_code == 200
    assert not PriceChange.objects.exists()
    assert not OutboxEvent.objects.filter(event_type="product.price_changed").exists()


@pytest.mark.parametrize("price", [0, "-1", "1.999", "abc", None, "", [], {"amount": 1}])
def test_bad_prices_are_400_naming_price(admin_client, product, price) -> None:
    response = admin_client.patch(product_url(product, "price/"), {"price": price}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["price"]
    assert not PriceChange.objects.exists()


def test_price_is_required(admin_client, product) -> None:
    response = admin_client.patch(product_url(product, "price/"), {"name": "x"}, format="json")
    assert response.json() == {"price": ["This field is required."]}


def test_availability_change(admin_client, admin_user, product) -> None:
    response = admin_client.patch(product_url(product, "availability/"), {"is_available": False}, format="json")

    assert response.status_code == 200
    assert response.json()["is_available"] is False
    product.refresh_from_db()
    assert product.is_available is False
    audit = AuditEvent.objects.get(action="product.availability_changed")
    assert audit.changes == {"is_available": [True, False]}
    event = OutboxEvent.objects.get(event_type="product.availability_changed")
    assert (event.priority, event.payload) == ("medium", {"id": product.pk, "sku": "HAM-001", "is_available": False})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "This field is required."),
        ({"is_available": None}, "This field may not be null."),
        ({"is_available": "maybe"}, "Must be a boolean: true or false."),
        ({"is_available": 1}, "Must be a boolean: true or false."),
        ({"is_available": "yes"}, "Must be a boolean: true or false."),
    ],
)
def test_availability_must_be_a_boolean(admin_client, product, body, message) -> None:
    response = admin_client.patch(product_url(product, "availability/"), body, format="json")
    assert response.status_code == 400
    assert response.json() == {"is_available": [message]}


def test_availability_from_a_form_is_refused(admin_client, product) -> None:
    # Bodies are JSON only: a form's booleans would arrive as strings such as "False".
    response = admin_client.patch(product_url(product, "availability/"), {"is_available": False}, format="multipart")
    assert response.status_code == 415
    product.refresh_from_db()
    assert product.is_available is True


def test_price_history_newest_first_with_who_changed_it(user_client, admin_client, admin_user, product) -> None:
    for price in ("20.00", "21.00", "22.00"):
        admin_client.patch(product_url(product, "price/"), {"price": price}, format="json")
    # Same timestamp for two of them: the id keeps the newest first.
    PriceChange.objects.update(changed_at=timezone.now())

    response = user_client.get(product_url(product, "price-history/"))

    assert response.status_code == 200
    first_change = PriceChange.objects.first()
    assert first_change is not None
    stamp = serializers.DateTimeField().to_representation(first_change.changed_at)
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            {"old_price": "21.00", "new_price": "22.00", "changed_at": stamp, "changed_by": admin_user.email},
            {"old_price": "20.00", "new_price": "21.00", "changed_at": stamp, "changed_by": admin_user.email},
            {"old_price": "19.99", "new_price": "20.00", "changed_at": stamp, "changed_by": admin_user.email},
        ],
    }


def test_price_history_is_paginated_and_orders_by_time(user_client, product) -> None:
    gone = UserFactory(role="admin")
    old = PriceChangeFactory(product=product, changed_by=gone)
    newer = PriceChangeFactory(product=product, changed_by=None)
    PriceChange.objects.filter(pk=newer.pk).update(changed_at=old.changed_at - timedelta(days=1))
    PriceChangeFactory(product=product)

    first = user_client.get(product_url(product, "price-history/"), {"page_size": 2}).json()

    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["next"].endswith(f"/api/v1/products/{product.pk}/price-history/?page=2&page_size=2")
    last = user_client.get(first["next"]).json()["results"]
    assert last[0]["changed_by"] is None  # the oldest, by time, though not by id


def test_price_history_of_another_product_is_not_mixed_in(user_client, product) -> None:
    PriceChangeFactory()
    assert user_client.get(product_url(product, "price-history/")).json()["count"] == 0


def test_price_history_of_a_missing_product_is_404(user_client) -> None:
    assert user_client.get("/api/v1/products/424242/price-history/").status_code == 404
