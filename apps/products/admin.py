"""Catalog admin. Every write goes through the services, so a staff edit never skips the price history, the
audit trail, the events or the cache invalidation. Deleted products are hidden (the default manager)."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from apps.users.request_user import request_user

from . import services
from .models import Category, PriceChange, Product
from .validators import validate_product_image


def _adopt(target: Model, saved: Model) -> None:
    """Give the admin's unsaved form instance the state of the row a service created (pk, timestamps)."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    fields = ("name", "slug")  # the slug is filled in from the name as it is typed
    search_fields = ("slug", "name")
    ordering = ("slug",)
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request: HttpRequest, obj: Category, form: forms.ModelForm, change: bool) -> None:
        if change:
            data = {field: form.cleaned_data[field] for field in form.changed_data}
            services.category_update(category=obj, data=data, by=request_user(request))
        else:
            _adopt(obj, services.category_create(slug=obj.slug, name=obj.name, by=request_user(request)))

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        services.category_delete(category=obj, by=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        for category in queryset:
            services.category_delete(category=category, by=request_user(request))


class PriceChangeInline(admin.TabularInline):
    model = PriceChange
    fields = ("changed_at", "old_price", "new_price", "changed_by")
    readonly_fields = fields
    ordering = ("-changed_at", "-id")
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PriceChange]:
        return super().get_queryset(request).select_related("changed_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ("sku", "name", "description", "category", "price", "currency", "stock", "is_available", "image")
        labels = {"sku": "SKU"}
        # No "clear" box: removing an image is not a catalog operation.
        widgets = {"image": forms.FileInput}

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"]
        # The model's own unique check sees live products only; a deleted product's sku stays taken too.
        if Product.all_objects.filter(sku=sku).exclude(pk=self.instance.pk).exists():
            raise ValidationError(services.SKU_TAKEN)
        return sku

    def clean_image(self) -> Any:
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            validate_product_image(image)
        return image


class PriceActionForm(ActionForm):
    price = forms.DecimalField(
        required=False, max_digits=12, decimal_places=2, min_value=Decimal("0.01"), label="New price"
    )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    action_form = PriceActionForm
    list_display = ("sku_column", "name", "category", "price", "currency", "stock", "is_available", "updated_at")
    # Only the currencies some product uses, not all the ISO 4217 choices.
    list_filter = ("is_available", "category", ("currency", admin.AllValuesFieldListFilter))
    search_fields = ("sku", "name", "description")
    list_select_related = ("category",)
    ordering = ("-created_at", "-id")
    date_hierarchy = "created_at"
    inlines = (PriceChangeInline,)
    actions = ("mark_available", "mark_unavailable", "set_price")

    @admin.display(description="SKU", ordering="sku")
    def sku_column(self, product: Product) -> str:
        return product.sku

    def get_fields(self, request: HttpRequest, obj: Product | None = None) -> tuple[str, ...]:
        fields = ProductAdminForm.Meta.fields
        return fields if obj is None else (*fields, "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> tuple[str, ...]:
        return ("created_at", "updated_at") if obj is not None else ()

    def get_form(self, request: HttpRequest, obj: Product | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            form.base_fields["price"].help_text = "A new price goes into the price history below, as from the API."
        return form

    def get_inlines(self, request: HttpRequest, obj: Product | None) -> list[type[InlineModelAdmin]]:
        # A product being added has no price history yet: no empty table on the add form.
        return list(self.inlines) if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Product, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        image = data.get("image")
        upload = image if isinstance(image, UploadedFile) else None
        if not change:
            fields = ("sku", "name", "description", "category", "price", "currency", "stock", "is_available")
            product = services.product_create(
                **{field: data[field] for field in fields}, image=upload, by=request_user(request)
            )
            _adopt(obj, product)
            return
        writable = (*services.PRODUCT_PLAIN_FIELDS, "is_available")
        changed = {field: data[field] for field in form.changed_data if field in writable}
        if changed:
            _adopt(obj, services.product_update(product=obj, data=changed, by=request_user(request)))
        if "price" in form.changed_data:
            # The API's price change: price history, audit, event and cache, never a plain save of the column.
            _adopt(obj, services.product_change_price(product=obj, new_price=data["price"], by=request_user(request)))
        if upload is not None:
            _adopt(obj, services.product_set_image(product=obj, image=upload, by=request_user(request)))

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        services.product_soft_delete(product=obj, by=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            services.product_soft_delete(product=product, by=request_user(request))

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        # A soft delete removes nothing else (the price history stays), so the confirmation lists only products.
        products = list(objs)
        return [str(product) for product in products], {"products": len(products)}, set(), []

    @admin.action(description="Mark selected products available")
    def mark_available(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._set_availability(request, queryset, is_available=True)

    @admin.action(description="Mark selected products unavailable")
    def mark_unavailable(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._set_availability(request, queryset, is_available=False)

    @admin.action(description="Set selected products' price to the new price")
    def set_price(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        try:
            price = PriceActionForm.base_fields["price"].clean(request.POST.get("price"))
        except ValidationError:
            price = None
        if price is None:
            self.message_user(request, "Enter a valid new price (greater than 0, two decimals).", messages.ERROR)
            return
        for product in queryset:
            services.product_change_price(product=product, new_price=price, by=request_user(request))
        self.message_user(request, f"Set the price of {len(queryset)} product(s) to {price}.", messages.SUCCESS)

    def _set_availability(self, request: HttpRequest, queryset: QuerySet[Product], *, is_available: bool) -> None:
        for product in queryset:
            services.product_set_availability(product=product, is_available=is_available, by=request_user(request))
        state = "available" if is_available else "unavailable"
        self.message_user(request, f"Marked {len(queryset)} product(s) {state}.", messages.SUCCESS)
