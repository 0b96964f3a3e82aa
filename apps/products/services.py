"""Every catalog write. Each public service is one transaction that saves with `update_fields`, records the
audit event, writes the outbox event where other services care, and makes the cached catalog reads stale once
it commits.

The services are plain `atomic`, not `durable`: the Django admin runs its add, change and delete views inside
its own transaction, and its `save_model`/`delete_model` call these services. Nothing here depends on being
the outermost block: cache invalidation, event relay and file clean-up all wait for the real commit.

One module of about 300 lines: the catalog's writes share their locking, audit and invalidation helpers.
"""

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.core.files import delete_on_rollback
from apps.core.http.conditional import require_match
from apps.core.keygen import new_key
from apps.core.observability import audit

from . import cache as catalog_cache
from . import events, selectors
from .models import Category, PriceChange, Product, default_currency
from .validators import IMAGE_FORMATS, validate_product_image

if TYPE_CHECKING:
    from apps.users.models import User

# What a generic update may change directly; price and availability go through their own rules below.
PRODUCT_PLAIN_FIELDS = ("sku", "name", "description", "category", "currency", "stock")
SKU_TAKEN = "A product with this sku exists."
SLUG_TAKEN = "A category with this slug exists."


class ProductGone(ApplicationError):
    """The product was deleted (by someone else) between reading it and locking it."""

    status_code = 404
    code = "not_found"
    default_detail = "Not found."


# --- categories -----------------------------------------------------------------------------------------------


@transaction.atomic
def category_create(*, slug: str, name: str, by: "User | None") -> Category:
    category = Category(slug=slug, name=name)
    _validate(category, ("slug", "name"))
    _save_unique(category, field="slug", message=SLUG_TAKEN, taken=Category.objects.filter(slug=slug).exists)
    audit.record(
        actor=by, action="category.created", target=category, changes={"slug": [None, slug], "name": [None, name]}
    )
    catalog_cache.invalidate()
    return category


@transaction.atomic
def category_update(*, category: Category, data: Mapping[str, Any], by: "User | None") -> Category:
    """Rename a category or change its slug (products answer with the slug, so their cached reads go stale)."""
    locked = Category.objects.select_for_update().get(pk=category.pk)
    changes = _assign(locked, data, ("slug", "name"))
    if changes:
        _validate(locked, changes)
        slug = locked.slug
        _save_unique(
            locked,
            field="slug",
            message=SLUG_TAKEN,
            taken=Category.objects.filter(slug=slug).exclude(pk=locked.pk).exists,
            update_fields=list(changes),
        )
        audit.record(actor=by, action="category.updated", target=locked, changes=changes)
        catalog_cache.invalidate()
    return locked


@transaction.atomic
def category_delete(*, category: Category, by: "User | None") -> None:
    """Delete a category no product (deleted ones included) belongs to; the foreign key PROTECTs the rest."""
    audit.record(actor=by, action="category.deleted", target=category, changes={"slug": [category.slug, None]})
    category.delete()
    catalog_cache.invalidate()


# --- products -------------------------------------------------------------------------------------------------


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    category: Category,
    price: Decimal,
    description: str = "",
    currency: str | None = None,
    stock: int = 0,
    is_available: bool = True,
    image: File | None = None,
    by: "User | None",
) -> Product:
    product = Product(
        sku=sku,
        name=name,
        description=description,
        category=category,
        price=price,
        currency=currency or default_currency(),
        stock=stock,
        is_available=is_available,
    )
    _validate(product, ("sku", "name", "description", "price", "currency", "stock", "is_available"))
    _save_unique(product, field="sku", message=SKU_TAKEN, taken=Product.all_objects.filter(sku=sku).exists)
    if image is not None:
        _store_image(product, image)
    audit.record(
        actor=by,
        action="product.created",
        target=product,
        changes={field: [None, value] for field, value in events.product_snapshot(product).items() if field != "id"},
    )
    events.product_created(product)
    catalog_cache.invalidate()
    return product


@transaction.atomic
def product_update(
    *, product: Product, data: Mapping[str, Any], by: "User | None", if_match: str | None = None
) -> Product:
    """Change any writable fields. A new price or availability takes the same path as their own services, so
    a price changed here is in the price history too."""
    locked = _lock(product, if_match)
    changes = _assign(locked, data, PRODUCT_PLAIN_FIELDS)
    if changes:
        _validate(locked, [field for field in changes if field != "category"])
        sku = locked.sku
        _save_unique(
            locked,
            field="sku",
            message=SKU_TAKEN,
            taken=Product.all_objects.filter(sku=sku).exclude(pk=locked.pk).exists,
            update_fields=[*changes, "updated_at"],
        )
        audit.record(actor=by, action="product.updated", target=locked, changes=changes)
    changed = bool(changes)
    if "price" in data:
        changed |= _apply_price(locked, data["price"], by)
    if "is_available" in data:
        changed |= _apply_availability(locked, data["is_available"], by)
    if changed:
        catalog_cache.invalidate()
    return locked


@transaction.atomic
def product_change_price(
    *, product: Product, new_price: Decimal, by: "User | None", if_match: str | None = None
) -> Product:
    """Set the price, recording the change (old and new, who, when) in the price history; no-op when equal."""
    locked = _lock(product, if_match)
    if _apply_price(locked, new_price, by):
        catalog_cache.invalidate()
    return locked


@transaction.atomic
def product_set_availability(
    *, product: Product, is_available: bool, by: "User | None", if_match: str | None = None
) -> Product:
    locked = _lock(product, if_match)
    if _apply_availability(locked, is_available, by):
        catalog_cache.invalidate()
    return locked


@transaction.atomic
def product_soft_delete(*, product: Product, by: "User | None", if_match: str | None = None) -> None:
    """Hide the product from every read; the row (with its price history) stays."""
    locked = _lock(product, if_match)
    locked.deleted_at = timezone.now()
    locked.save(update_fields=["deleted_at", "updated_at"])
    audit.record(actor=by, action="product.deleted", target=locked, changes={"deleted_at": [None, locked.deleted_at]})
    events.product_deleted(locked)
    catalog_cache.invalidate()


@transaction.atomic
def product_set_image(*, product: Product, image: File, by: "User | None", if_match: str | None = None) -> Product:
    """Store a PNG, JPEG or WebP image (checked with Pillow, at most 5 MB) through the default storage."""
    locked = _lock(product, if_match)
    old_name = _store_image(locked, image)
    audit.record(
        actor=by, action="product.image_changed", target=locked, changes={"image": [old_name, locked.image.name]}
    )
    if old_name:
        storage = locked.image.storage
        transaction.on_commit(lambda: storage.delete(old_name))
    catalog_cache.invalidate()
    return locked


# --- the rules the services share -----------------------------------------------------------------------------


def _apply_price(product: Product, new_price: Decimal, by: "User | None") -> bool:
    """On a locked row: the old price read under the lock is the real previous one, even under concurrency."""
    old_price = product.price
    if new_price == old_price:
        return False
    product.price = new_price
    _validate(product, ("price",))
    product.save(update_fields=["price", "updated_at"])
    PriceChange.objects.create(product=product, old_price=old_price, new_price=product.price, changed_by=_user(by))
    audit.record(
        actor=by, action="product.price_changed", target=product, changes={"price": [old_price, product.price]}
    )
    events.product_price_changed(product, old_price=old_price)
    return True


def _apply_availability(product: Product, is_available: bool, by: "User | None") -> bool:
    if product.is_available == is_available:
        return False
    product.is_available = is_available
    product.save(update_fields=["is_available", "updated_at"])
    audit.record(
        actor=by,
        action="product.availability_changed",
        target=product,
        changes={"is_available": [not is_available, is_available]},
    )
    events.product_availability_changed(product)
    return True


def _store_image(product: Product, image: File) -> str:
    """Validate and save the file under a fresh name (never the client's); returns the replaced file's name."""
    try:
        image_format = validate_product_image(image)
    except ValidationError as exc:
        raise ValidationError({"image": exc.messages}) from exc
    old_name = product.image.name or ""
    product.image.save(f"{new_key()}.{IMAGE_FORMATS[image_format]}", image, save=False)
    if product.image.name:  # FieldFile.save has set it to the stored name
        delete_on_rollback(product.image.storage, product.image.name)
    product.save(update_fields=["image", "updated_at"])
    return old_name


def _lock(product: Product, if_match: str | None = None) -> Product:
    """Lock the live product's row; with `if_match` (an If-Match header), refuse (412) unless it names the
    product's current ETag, checked under the lock so two editors of one version cannot both write."""
    try:
        locked = Product.objects.select_for_update().get(pk=product.pk)
    except Product.DoesNotExist:
        raise ProductGone() from None
    if if_match is not None:
        require_match(if_match, selectors.product_current_etag(product_pk=locked.pk) or "")
    return locked


def _assign(obj: models.Model, data: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, list[Any]]:
    """Set the allowed fields that differ; returns `{field: [before, after]}` for the audit trail."""
    changes: dict[str, list[Any]] = {}
    for field in allowed:
        if field not in data:
            continue
        before, after = getattr(obj, field), data[field]
        if before != after:
            setattr(obj, field, after)
            changes[field] = [_audit_value(before), _audit_value(after)]
    return changes


def _validate(obj: models.Model, fields: Iterable[str]) -> None:
    """The model's field rules (max length, choices, price > 0, stock >= 0) for the fields being written;
    relations are excluded (the caller hands in a loaded object) and uniqueness is left to the database."""
    wanted = set(fields)
    obj.clean_fields(exclude=[field.name for field in obj._meta.fields if field.name not in wanted])


def _save_unique(obj: models.Model, *, field: str, message: str, taken: Callable[[], bool], **save_kwargs: Any) -> None:
    """Save; a unique violation on `field` (two writers racing past the serializer's check) is a 400 on it."""
    try:
        with transaction.atomic():  # a savepoint: PostgreSQL refuses any query in a transaction after an error
            obj.save(**save_kwargs)
    except IntegrityError:
        if taken():
            raise ValidationError({field: [message]}) from None
        raise


def _audit_value(value: Any) -> Any:
    if isinstance(value, Category):
        return value.slug
    if isinstance(value, Decimal):
        return events.money(value)
    return value


def _user(by: "User | None") -> "User | None":
    return by if by is not None and by.is_authenticated else None
