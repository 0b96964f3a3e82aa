"""Rules the API only repeats: the services and the model's constraints, called directly."""

import itertools
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.core.models import AuditEvent, OutboxEvent
from apps.products import services
from apps.products.models import Category, PriceChange, Product
from tests.products.factories import CategoryFactory, ProductFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_sku_race_past_the_serializer_is_a_validation_error_on_sku(admin_user, product) -> None:
    # The serializer's check passed for both writers; the database's unique index catches the second.
    with pytest.raises(ValidationError) as error:
        services.product_create(
            sku=product.sku, name="Twin", category=product.category, price=Decimal("1.00"), by=admin_user
        )
    assert error.value.message_dict == {"sku": ["A product with this sku exists."]}
    assert Product.all_objects.count() == 1
    assert not AuditEvent.objects.filter(action="product.created").exists()


def test_a_slug_race_is_a_validation_error_on_slug(admin_user, category) -> None:
    with pytest.raises(ValidationError) as error:
        services.category_create(slug=category.slug, name="Twin", by=admin_user)
    assert error.value.message_dict == {"slug": ["A category with this slug exists."]}


def test_services_apply_the_field_rules_whoever_calls_them(admin_user, category) -> None:
    with pytest.raises(ValidationError) as error:
        services.product_create(
            sku="X", name="X", category=category, price=Decimal("0"), currency="XXX", stock=-1, by=admin_user
        )
    assert set(error.value.message_dict) == {"price", "currency", "stock"}


def test_create_uses_the_default_currency_setting(admin_user, category, settings) -> None:
    settings.DEFAULT_CURRENCY = "JPY"
    product = services.product_create(sku="Y", name="Y", category=category, price=Decimal("5"), by=admin_user)
    assert product.currency == "JPY"


def test_update_ignores_fields_it_does_not_own(admin_user, product) -> None:
    services.product_update(product=product, data={"deleted_at": timezone.now(), "id": 999}, by=admin_user)
    assert Product.objects.filter(pk=product.pk).exists()


def test_update_without_changes_writes_nothing(admin_user, product) -> None:
    services.product_update(product=product, data={"name": product.name, "price": product.price}, by=admin_user)
    assert not AuditEvent.objects.exists()
    assert not PriceChange.objects.exists()


def test_a_product_deleted_meanwhile_is_gone_for_the_writer(admin_user, product) -> None:
    stale = Product.objects.get(pk=product.pk)
    services.product_soft_delete(product=product, by=admin_user)
    with pytest.raises(services.ProductGone):
        services.product_change_price(product=stale, new_price=Decimal("1.00"), by=admin_user)


def test_soft_delete_publishes_and_audits(admin_user, product) -> None:
    services.product_soft_delete(product=product, by=admin_user)
    assert OutboxEvent.objects.filter(event_type="product.deleted", aggregate_id=str(product.pk)).exists()
    assert AuditEvent.objects.filter(action="product.deleted", actor=admin_user).exists()


def test_category_delete_is_protected_while_products_point_at_it(admin_user, product) -> None:
    services.product_soft_delete(product=product, by=admin_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        services.category_delete(category=product.category, by=admin_user)
    empty = CategoryFactory()
    services.category_delete(category=empty, by=admin_user)
    assert not Category.objects.filter(pk=empty.pk).exists()


# --- the model ------------------------------------------------------------------------------------------------


def test_default_manager_hides_deleted_rows_and_all_objects_does_not(product) -> None:
    Product.objects.filter(pk=product.pk).update(deleted_at=timezone.now())
    assert not Product.objects.exists()
    assert Product.all_objects.get(pk=product.pk).is_deleted
    assert product.category.products.count() == 0


@pytest.mark.parametrize(
    ("field", "value"), [("price", Decimal("0")), ("price", Decimal("-1")), ("stock", -1), ("currency", "XXX")]
)
def test_database_constraints_hold_without_django_validation(product, field, value) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(**{field: value})


# --- concurrency (PostgreSQL: real row locks and parallel transactions) ---------------------------------------


@pytest.mark.postgres
def test_concurrent_price_changes_form_an_unbroken_chain(transactional_db) -> None:
    admin = UserFactory(role="admin")
    product = ProductFactory(price=Decimal("1.00"))
    workers, changes_each = 8, 5
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def change_prices(worker: int) -> None:
        try:
            barrier.wait()
            for step in range(changes_each):
                price = Decimal(f"{100 + worker * changes_each + step}.00")  # every price distinct
                services.product_change_price(product=Product.objects.get(pk=product.pk), new_price=price, by=admin)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=change_prices, args=(worker,)) for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    chain = list(PriceChange.objects.filter(product=product).order_by("id"))
    assert len(chain) == workers * changes_each
    assert chain[0].old_price == Decimal("1.00")
    for previous, change in itertools.pairwise(chain):
        assert change.old_price == previous.new_price
    product.refresh_from_db()
    assert product.price == chain[-1].new_price
