"""Every row of docs/api.md's catalog table for products, through the API, as admin, user and anonymous."""

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from apps.core.models import AuditEvent, OutboxEvent
from apps.products.models import Product
from tests.products.conftest import PRODUCTS, image_bytes, product_url, upload
from tests.products.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def iso(value) -> str:
    return serializers.DateTimeField().to_representation(value)


def product_body(product: Product, **overrides: object) -> dict[str, object]:
    product.refresh_from_db()
    body = {
        "id": product.pk,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "category": product.category.slug,
        "price": f"{product.price:.2f}",
        "currency": product.currency,
        "stock": product.stock,
        "is_available": product.is_available,
        "image_url": None,
        "created_at": iso(product.created_at),
        "updated_at": iso(product.updated_at),
    }
    body.update(overrides)
    return body


def new_product_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "sku": "SAW-100",
        "name": "Hand saw",
        "description": "Fine teeth",
        "category": "tools",
        "price": "24.50",
        "currency": "EUR",
        "stock": 7,
        "is_available": True,
    }
    body.update(overrides)
    return body


# --- who may do what ------------------------------------------------------------------------------------------

ROWS = [
    # method, path suffix (None: the collection), body, format, admin status
    ("get", None, None, None, 200),
    ("post", None, new_product_body(), "json", 201),
    ("get", "", None, None, 200),
    ("patch", "", {"name": "Renamed"}, "json", 200),
    ("delete", "", None, None, 204),
    ("patch", "price/", {"price": "30.00"}, "json", 200),
    ("patch", "availability/", {"is_available": False}, "json", 200),
    ("get", "price-history/", None, None, 200),
    ("put", "image/", "IMAGE", "multipart", 200),
]
WRITES = {"post", "patch", "delete", "put"}


def call(client: APIClient, product: Product, method: str, suffix: str | None, body: object, fmt: str | None):
    url = PRODUCTS if suffix is None else product_url(product, suffix)
    if body == "IMAGE":
        body = {"image": upload(image_bytes())}
    kwargs = {"format": fmt} if fmt else {}
    return getattr(client, method)(url, body, **kwargs) if body is not None else getattr(client, method)(url)


@pytest.mark.parametrize(("method", "suffix", "body", "fmt", "admin_status"), ROWS)
def test_admin_may_do_every_row(admin_client, product, method, suffix, body, fmt, admin_status) -> None:
    assert call(admin_client, product, method, suffix, body, fmt).status_code == admin_status


@pytest.mark.parametrize(("method", "suffix", "body", "fmt", "admin_status"), ROWS)
def test_user_reads_but_never_writes(user_client, product, method, suffix, body, fmt, admin_status) -> None:
    response = call(user_client, product, method, suffix, body, fmt)
    if method in WRITES:
        assert response.status_code == 403
        assert response.json() == {"detail": "Only an admin may change this.", "code": "permission_denied"}
    else:
        assert response.status_code == 200


@pytest.mark.parametrize(("method", "suffix", "body", "fmt", "admin_status"), ROWS)
def test_anonymous_is_401_everywhere(api_client, product, method, suffix, body, fmt, admin_status) -> None:
    response = call(api_client, product, method, suffix, body, fmt)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_user_write_changes_nothing(user_client, product) -> None:
    user_client.patch(product_url(product, "price/"), {"price": "1.00"}, format="json")
    user_client.delete(product_url(product))
    product.refresh_from_db()
    assert product.price == Decimal("19.99")
    assert product.deleted_at is None


def test_put_on_a_product_is_not_allowed(admin_client, product) -> None:
    response = admin_client.put(product_url(product), new_product_body(), format="json")
    assert response.status_code == 405


# --- create ---------------------------------------------------------------------------------------------------


def test_create_answers_the_whole_product(admin_client, category) -> None:
    response = admin_client.post(PRODUCTS, new_product_body(), format="json")

    assert response.status_code == 201
    created = Product.objects.get(sku="SAW-100")
    assert response.json() == product_body(created)
    assert response.json()["price"] == "24.50"
    assert AuditEvent.objects.filter(action="product.created", object_id=str(created.pk)).exists()
    event = OutboxEvent.objects.get(event_type="product.created")
    assert event.priority == "medium"
    assert event.payload["sku"] == "SAW-100"
    assert event.payload["price"] == "24.50"


def test_create_defaults_availability_and_currency(admin_client, category, settings) -> None:
    settings.DEFAULT_CURRENCY = "GBP"
    body = new_product_body()
    del body["is_available"], body["currency"], body["description"], body["stock"]

    response = admin_client.post(PRODUCTS, body, format="json")

    assert response.status_code == 201
    assert response.json()["is_available"] is True
    assert response.json()["currency"] == "GBP"
    assert response.json()["description"] == ""
    assert response.json()["stock"] == 0


@pytest.mark.parametrize(("price", "stored"), [(19.99, "19.99"), (10, "10.00"), ("7.5", "7.50"), ("0.01", "0.01")])
def test_create_accepts_a_price_as_string_or_json_number(admin_client, category, price, stored) -> None:
    response = admin_client.post(PRODUCTS, new_product_body(price=price), format="json")
    assert response.status_code == 201
    assert response.json()["price"] == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", 0),
        ("price", "0.00"),
        ("price", -5),
        ("price", "19.999"),
        ("price", 19.999),
        ("price", "abc"),
        ("price", None),
        ("price", True),
        ("price", "12345678901.00"),
        ("stock", -1),
        ("stock", 1.5),
        ("currency", "XYZ"),
        ("currency", "usd"),
        ("category", "no-such-category"),
        ("sku", ""),
        ("name", ""),
        ("is_available", "maybe"),
        ("is_available", 1),
    ],
)
def test_create_rejects_bad_input_naming_the_field(admin_client, category, field, value) -> None:
    response = admin_client.post(PRODUCTS, new_product_body(**{field: value}), format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field], list)
    assert not Product.all_objects.exists()


@pytest.mark.parametrize("field", ["sku", "name", "category", "price"])
def test_create_requires_the_identifying_fields(admin_client, category, field) -> None:
    body = new_product_body()
    del body[field]
    response = admin_client.post(PRODUCTS, body, format="json")
    assert response.status_code == 400
    assert response.json() == {field: ["This field is required."]}


def test_price_messages_say_what_is_wrong(admin_client, category) -> None:
    zero = admin_client.post(PRODUCTS, new_product_body(price=0), format="json").json()
    places = admin_client.post(PRODUCTS, new_product_body(price="1.234"), format="json").json()
    assert zero == {"price": ["Ensure this value is greater than 0."]}
    assert places == {"price": ["Ensure that there are no more than 2 decimal places."]}


def test_create_rejects_a_taken_sku(admin_client, product) -> None:
    response = admin_client.post(PRODUCTS, new_product_body(sku=product.sku), format="json")
    assert response.status_code == 400
    assert response.json() == {"sku": ["A product with this sku exists."]}


def test_a_deleted_products_sku_stays_taken(admin_client, product) -> None:
    Product.objects.filter(pk=product.pk).update(deleted_at=timezone.now())
    response = admin_client.post(PRODUCTS, new_product_body(sku=product.sku), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["sku"]


def test_create_ignores_read_only_and_unknown_fields(admin_client, category) -> None:
    body = new_product_body(id=999, created_at="2000-01-01T00:00:00Z", image_url="http://x/y.png", colour="red")
    response = admin_client.post(PRODUCTS, body, format="json")
    assert response.status_code == 201
    assert response.json()["id"] != 999
    assert response.json()["image_url"] is None
    assert not response.json()["created_at"].startswith("2000")


# --- read -----------------------------------------------------------------------------------------------------


def test_detail_answers_the_whole_product(user_client, product) -> None:
    response = user_client.get(product_url(product))
    assert response.status_code == 200
    assert response.json() == product_body(product)


def test_list_item_and_detail_and_write_answers_agree(admin_client, category) -> None:
    created = admin_client.post(PRODUCTS, new_product_body(price="5.10"), format="json").json()
    pk = created["id"]
    with_image = admin_client.put(f"{PRODUCTS}{pk}/image/", {"image": upload(image_bytes())}, format="multipart")

    detail = admin_client.get(f"{PRODUCTS}{pk}/").json()
    listed = admin_client.get(PRODUCTS).json()["results"][0]

    assert detail == listed == with_image.json()
    assert detail["image_url"].startswith("http://testserver/media/products/")
    assert {**detail, "image_url": None, "updated_at": created["updated_at"]} == created


def test_detail_of_a_missing_product_is_404(user_client) -> None:
    assert user_client.get(f"{PRODUCTS}999999/").status_code == 404
    assert user_client.get(f"{PRODUCTS}99999999999999999999999/").status_code == 404
    assert user_client.get(f"{PRODUCTS}abc/").status_code == 404


def test_detail_ignores_list_filters(user_client, product) -> None:
    response = user_client.get(product_url(product), {"is_available": "false", "min_price": "abc"})
    assert response.status_code == 200


def test_list_is_a_page_with_absolute_links(user_client, category) -> None:
    ProductFactory.create_batch(7, category=category)
    response = user_client.get(PRODUCTS, {"page_size": 5})
    body = response.json()
    assert body["count"] == 7
    assert len(body["results"]) == 5
    assert body["next"] == "http://testserver/api/v1/products/?page=2&page_size=5"
    assert body["previous"] is None
    assert user_client.get(PRODUCTS, {"page_size": 5, "page": 3}).status_code == 404


# --- partial update -------------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(admin_client, product) -> None:
    other = CategoryFactory(slug="garden")
    response = admin_client.patch(
        product_url(product), {"name": "Framing hammer", "category": "garden", "stock": 3}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == product_body(product, name="Framing hammer", category=other.slug, stock=3)
    audit = AuditEvent.objects.get(action="product.updated")
    assert audit.changes == {
        "name": ["Claw hammer", "Framing hammer"],
        "category": ["tools", "garden"],
        "stock": [10, 3],
    }


def test_patch_with_a_price_records_the_history(admin_client, admin_user, product) -> None:
    response = admin_client.patch(product_url(product), {"price": "21.00", "name": "Hammer"}, format="json")

    assert response.status_code == 200
    assert response.json()["price"] == "21.00"
    change = product.price_changes.get()
    assert (change.old_price, change.new_price, change.changed_by) == (Decimal("19.99"), Decimal("21.00"), admin_user)
    assert OutboxEvent.objects.filter(event_type="product.price_changed", priority="high").count() == 1


def test_patch_with_availability_publishes_its_event(admin_client, product) -> None:
    admin_client.patch(product_url(product), {"is_available": False}, format="json")
    assert OutboxEvent.objects.filter(event_type="product.availability_changed").count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("price", 0), ("price", "1.001"), ("stock", -3), ("currency", "ABC"), ("category", "nope"), ("sku", "")],
)
def test_patch_rejects_bad_input_naming_the_field(admin_client, product, field, value) -> None:
    response = admin_client.patch(product_url(product), {field: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_patch_to_a_taken_sku_is_400(admin_client, product, category) -> None:
    other = ProductFactory(category=category)
    response = admin_client.patch(product_url(other), {"sku": product.sku}, format="json")
    assert response.status_code == 400
    assert response.json() == {"sku": ["A product with this sku exists."]}


def test_patch_keeping_its_own_sku_is_fine(admin_client, product) -> None:
    response = admin_client.patch(product_url(product), {"sku": product.sku, "name": "Same sku"}, format="json")
    assert response.status_code == 200


# --- soft delete ----------------------------------------------------------------------------------------------


def test_delete_is_soft_and_hides_the_product_everywhere(admin_client, user_client, product) -> None:
    response = admin_client.delete(product_url(product))

    assert response.status_code == 204
    assert response.content == b""
    row = Product.all_objects.get(pk=product.pk)
    assert row.deleted_at is not None
    assert not Product.objects.filter(pk=product.pk).exists()
    assert user_client.get(product_url(product)).status_code == 404
    assert user_client.get(product_url(product, "price-history/")).status_code == 404
    assert user_client.get(PRODUCTS).json()["count"] == 0
    assert admin_client.delete(product_url(product)).status_code == 404
    assert admin_client.patch(product_url(product), {"name": "x"}, format="json").status_code == 404
    assert admin_client.patch(product_url(product, "price/"), {"price": "1.00"}, format="json").status_code == 404
    assert AuditEvent.objects.filter(action="product.deleted", object_id=str(product.pk)).exists()


def test_the_browsable_form_preselects_the_default_currency_and_availability(admin_client, settings) -> None:
    settings.DEFAULT_CURRENCY = "EUR"
    page = admin_client.get(PRODUCTS, HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    content = page.content.decode()
    assert "&quot;currency&quot;: &quot;EUR&quot;" in content
    assert "&quot;is_available&quot;: true" in content
