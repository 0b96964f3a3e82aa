"""The catalog admin writes through the services: history, audit and events are never skipped."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, OutboxEvent
from apps.products.models import Category, PriceChange, Product
from tests.products.conftest import image_bytes, upload
from tests.products.factories import CategoryFactory, PriceChangeFactory, ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:products_product_changelist")


def change_url(product: Product) -> str:
    return reverse("admin:products_product_change", args=[product.pk])


def form_data(product: Product, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "category": product.category_id,
        "price": product.price,
        "currency": product.currency,
        "stock": product.stock,
        "is_available": "on" if product.is_available else "",
        "price_changes-TOTAL_FORMS": "0",
        "price_changes-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value != ""}


def test_changelist_search_and_filters(superuser_client, product) -> None:
    ProductFactory(name="Garden hose", is_available=False)

    assert superuser_client.get(CHANGELIST).status_code == 200
    found = superuser_client.get(CHANGELIST, {"q": "claw"})
    unavailable = superuser_client.get(CHANGELIST, {"is_available__exact": "0"})

    assert list(found.context["cl"].result_list) == [product]
    assert [p.name for p in unavailable.context["cl"].result_list] == ["Garden hose"]


def test_deleted_products_are_not_in_the_admin(superuser_client, product) -> None:
    Product.objects.filter(pk=product.pk).update(deleted_at="2024-01-01T00:00:00Z")
    assert list(superuser_client.get(CHANGELIST).context["cl"].result_list) == []
    assert superuser_client.get(change_url(product)).status_code == 302  # "doesn't exist", back to the list


def test_change_form_shows_the_price_history_read_only(superuser_client, product) -> None:
    PriceChangeFactory(product=product, old_price=Decimal("18.00"), new_price=Decimal("19.99"))
    response = superuser_client.get(change_url(product))
    assert response.status_code == 200
    assert b"18.00" in response.content


def test_add_goes_through_the_service(superuser_client, category) -> None:
    data = {
        "sku": "ADM-1",
        "name": "From the admin",
        "category": category.pk,
        "price": "12.34",
        "currency": "EUR",
        "stock": 4,
        "is_available": "on",
        "image": upload(image_bytes()),
        "price_changes-TOTAL_FORMS": "0",
        "price_changes-INITIAL_FORMS": "0",
    }
    response = superuser_client.post(reverse("admin:products_product_add"), data)

    assert response.status_code == 302
    created = Product.objects.get(sku="ADM-1")
    assert (created.price, created.currency, created.stock) == (Decimal("12.34"), "EUR", 4)
    assert created.image.name is not None
    assert created.image.name.endswith(".png")
    assert AuditEvent.objects.filter(action="product.created", object_id=str(created.pk)).exists()
    assert OutboxEvent.objects.filter(event_type="product.created").exists()


def test_add_with_a_deleted_products_sku_is_a_form_error(superuser_client, product) -> None:
    Product.objects.filter(pk=product.pk).update(deleted_at="2024-01-01T00:00:00Z")
    data = form_data(product, price="1.00")
    response = superuser_client.post(reverse("admin:products_product_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"sku": ["A product with this sku exists."]}


def test_add_with_a_fake_image_is_a_form_error(superuser_client, category) -> None:
    product = ProductFactory.build(category=category)
    data = form_data(product, price="1.00", image=upload(b"\x89PNG\r\n\x1a\nnot an image"))
    response = superuser_client.post(reverse("admin:products_product_add"), data)
    assert response.status_code == 200
    assert "image" in response.context["adminform"].form.errors
    assert not Product.all_objects.exists()


def test_change_goes_through_the_service(superuser_client, product) -> None:
    response = superuser_client.post(change_url(product), form_data(product, name="Renamed"))

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.price) == ("Renamed", Decimal("19.99"))
    assert AuditEvent.objects.get(action="product.updated").changes == {"name": ["Claw hammer", "Renamed"]}
    assert not PriceChange.objects.exists()  # the price was not changed: no history row


def test_a_price_edited_on_the_change_page_goes_through_the_price_service(superuser_client, product) -> None:
    response = superuser_client.post(change_url(product), form_data(product, name="Renamed", price="21.50"))

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.price) == ("Renamed", Decimal("21.50"))
    change = PriceChange.objects.get(product=product)
    assert (change.old_price, change.new_price, change.changed_by_id) == (
        Decimal("19.99"),
        Decimal("21.50"),
        response.wsgi_request.user.pk,
    )
    assert AuditEvent.objects.filter(action="product.price_changed").count() == 1
    assert OutboxEvent.objects.filter(event_type="product.price_changed").count() == 1


def test_change_of_availability_publishes_its_event(superuser_client, product) -> None:
    superuser_client.post(change_url(product), form_data(product, is_available=""))
    product.refresh_from_db()
    assert product.is_available is False
    assert OutboxEvent.objects.filter(event_type="product.availability_changed").exists()


def test_delete_is_a_soft_delete(superuser_client, product) -> None:
    url = reverse("admin:products_product_delete", args=[product.pk])
    assert superuser_client.get(url).status_code == 200
    response = superuser_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert Product.all_objects.get(pk=product.pk).deleted_at is not None
    assert AuditEvent.objects.filter(action="product.deleted").exists()


def test_bulk_delete_action_is_a_soft_delete(superuser_client, product) -> None:
    superuser_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [product.pk], "post": "yes"})
    assert Product.all_objects.get(pk=product.pk).deleted_at is not None


@pytest.mark.parametrize(("action", "expected"), [("mark_unavailable", False), ("mark_available", True)])
def test_availability_actions(superuser_client, category, action, expected) -> None:
    products = ProductFactory.create_batch(2, category=category, is_available=not expected)
    response = superuser_client.post(CHANGELIST, {"action": action, "_selected_action": [p.pk for p in products]})

    assert response.status_code == 302
    assert set(Product.objects.values_list("is_available", flat=True)) == {expected}
    assert AuditEvent.objects.filter(action="product.availability_changed").count() == 2


def test_set_price_action_records_history(superuser_client, product) -> None:
    response = superuser_client.post(
        CHANGELIST, {"action": "set_price", "_selected_action": [product.pk], "price": "25.00"}
    )

    assert response.status_code == 302
    change = PriceChange.objects.get(product=product)
    assert (change.old_price, change.new_price) == (Decimal("19.99"), Decimal("25.00"))
    assert change.changed_by is not None
    assert change.changed_by.is_superuser


@pytest.mark.parametrize("price", ["", "0", "abc", "1.234"])
def test_set_price_action_refuses_a_bad_price(superuser_client, product, price) -> None:
    superuser_client.post(CHANGELIST, {"action": "set_price", "_selected_action": [product.pk], "price": price})
    assert not PriceChange.objects.exists()


def test_category_admin_writes_through_the_services(superuser_client) -> None:
    superuser_client.post(reverse("admin:products_category_add"), {"slug": "paint", "name": "Paint"})
    category = Category.objects.get(slug="paint")
    superuser_client.post(
        reverse("admin:products_category_change", args=[category.pk]), {"slug": "paints", "name": "Paint"}
    )
    superuser_client.post(reverse("admin:products_category_delete", args=[category.pk]), {"post": "yes"})

    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["category.created", "category.updated", "category.deleted"]
    assert not Category.objects.exists()


def test_a_category_in_use_cannot_be_deleted(superuser_client, product) -> None:
    category = CategoryFactory()
    ProductFactory(category=category)
    superuser_client.post(reverse("admin:products_category_delete", args=[category.pk]), {"post": "yes"})
    assert Category.objects.filter(pk=category.pk).exists()


def test_the_add_form_labels_the_sku_and_has_no_price_history(superuser_client) -> None:
    page = superuser_client.get(reverse("admin:products_product_add")).content.decode()
    assert '<label class="required" for="id_sku">SKU:</label>' in page
    assert "price_changes" not in page
    assert 'name="price"' in page  # a new product gets its first price here


def test_the_change_form_offers_the_price_with_where_it_goes(superuser_client, product) -> None:
    page = superuser_client.get(change_url(product)).content.decode()
    assert 'name="price"' in page
    assert "A new price goes into the price history below" in page
    assert page.index('id="id_name"') < page.index('name="price"')


def test_the_category_form_puts_the_name_before_the_slug(superuser_client) -> None:
    page = superuser_client.get(reverse("admin:products_category_add")).content.decode()
    assert page.index('id="id_name"') < page.index('id="id_slug"')


def test_the_currency_filter_offers_only_currencies_in_use(superuser_client, category) -> None:
    ProductFactory(category=category, currency="EUR")
    ProductFactory(category=category, currency="JPY")
    page = superuser_client.get(CHANGELIST).content.decode()
    assert "?currency=EUR" in page
    assert "?currency=JPY" in page
    assert "?currency=AED" not in page
    assert "?currency__exact=" not in page
