"""The Django admin for users, with the email as the login. Role and activation changes go through the service,
so they are audited and published exactly as through the API."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from apps.core import audit

from .admin_users import services
from .models import OidcIdentity, User
from .request_user import request_user


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "full_name")
        field_classes = {}


class UserChangeForm(DjangoUserChangeForm):
    acting_user: User | None = None  # set per request by UserAdmin.get_form

    class Meta(DjangoUserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes = {}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.instance.pk and self.acting_user is not None:
            # The instance still holds the stored values here: the form applies its data after clean().
            errors = services.user_update_errors(
                user=self.instance,
                by=self.acting_user,
                role=cleaned.get("role"),
                is_active=cleaned.get("is_active"),
            )
            if errors:
                raise ValidationError(errors)
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "role", "is_verified", "is_active", "date_joined")
    list_filter = ("role", "is_verified", "is_active")
    search_fields = ("email", "full_name")
    # Superusers are made with `createsuperuser`; the admin role alone already grants every admin right.
    readonly_fields = ("account_id", "date_joined", "last_login", "is_staff", "is_superuser", "oidc_identities")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "account_id", "oidc_identities")}),
        ("Access", {"fields": ("role", "is_active", "is_verified", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "usable_password", "password1", "password2")}),
    )
    filter_horizontal = ()
    actions = ("deactivate_users",)

    # Shown as a read-only field rather than an inline: an inline would add a formset to every change form.
    @admin.display(description="OpenID Connect identities")
    def oidc_identities(self, obj: User) -> str:
        identities = list(obj.oidc_identities.order_by("provider", "id")) if obj.pk else []
        if not identities:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}: {}</a> ({})',
            (
                (
                    reverse("admin:users_oidcidentity_change", args=[identity.pk]),
                    identity.provider,
                    identity.subject,
                    identity.email,
                )
                for identity in identities
            ),
        )

    def get_form(self, request: HttpRequest, obj: User | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and issubclass(form, UserChangeForm):
            form.acting_user = request_user(request)  # a class made for this request by modelform_factory
        return form

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            audit.record(actor=request_user(request), action="user.created", target=obj)
            return
        role, is_active, full_name = obj.role, obj.is_active, obj.full_name
        stored = User.objects.get(pk=obj.pk)
        # Everything else is saved here; the service applies (and records) role, activation and name.
        obj.role, obj.is_active, obj.full_name = stored.role, stored.is_active, stored.full_name
        super().save_model(request, obj, form, change)
        updated = services.user_update(
            user=obj,
            by=request_user(request),
            role=role,
            is_active=is_active,
            full_name=full_name,
        )
        obj.role, obj.is_active, obj.full_name = updated.role, updated.is_active, updated.full_name

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # users are deactivated, never deleted: their messages and audit trail stay theirs

    @admin.action(description="Deactivate selected users", permissions=["change"])
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = 0
        acting = request_user(request)
        for user in queryset.filter(is_active=True).exclude(pk=acting.pk):
            services.user_deactivate(user=user, by=acting)
            done += 1
        if queryset.filter(pk=acting.pk).exists():
            self.message_user(request, "You cannot deactivate your own account.", messages.WARNING)
        self.message_user(request, f"{done} user(s) deactivated.", messages.SUCCESS)


@admin.register(OidcIdentity)
class OidcIdentityAdmin(admin.ModelAdmin):
    """Who signed in through which OpenID Connect provider. Read-only: identities are linked by signing in, and a
    link is evidence in the audit trail."""

    list_display = ("provider", "subject", "user", "email", "created_at")
    list_filter = ("provider",)
    search_fields = ("subject", "email", "user__email")
    list_select_related = ("user",)
    readonly_fields = ("provider", "subject", "user", "email", "created_at")
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OidcIdentity | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OidcIdentity | None = None) -> bool:
        return False
