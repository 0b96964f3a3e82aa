"""The catalog's domain events: one function per event, the one place its payload and priority are written."""

from decimal import Decimal
from typing import Any

from apps.core.models import OutboxEvent
from apps.core.outbox.events import Priority, publish_event

from .models import Product


def money(value: Decimal) -> str:
    """A price as events and the audit trail carry it: a string with two decimals, never a float."""
    return f"{value:.2f}"


def product_snapshot(product: Product) -> dict[str, Any]:
    """A product's fields as `product.created` carries them (and its audit row records them)."""
    return {
        "id": product.pk,
        "sku": product.sku,
        "name": product.name,
        "category": product.category.slug,
        "price": money(product.price),
        "currency": product.currency,
        "stock": product.stock,
        "is_available": product.is_available,
    }


def _publish(event_type: str, product: Product, payload: dict[str, Any], priority: Priority) -> OutboxEvent:
    return publish_event(event_type, payload, priority=priority, aggregate_type="product", aggregate_id=str(product.pk))


def product_created(product: Product) -> OutboxEvent:
    return _publish("product.created", product, product_snapshot(product), Priority.MEDIUM)


def product_deleted(product: Product) -> OutboxEvent:
    return _publish("product.deleted", product, {"id": product.pk, "sku": product.sku}, Priority.MEDIUM)


def product_price_changed(product: Product, *, old_price: Decimal) -> OutboxEvent:
    payload = {
        "id": product.pk,
        "sku": product.sku,
        "old_price": money(old_price),
        "new_price": money(product.price),
        "currency": product.currency,
    }
    return _publish("product.price_changed", product, payload, Priority.HIGH)


def product_availability_changed(product: Product) -> OutboxEvent:
    payload = {"id": product.pk, "sku": product.sku, "is_available": product.is_available}
    return _publish("product.availability_changed", product, payload, Priority.MEDIUM)
