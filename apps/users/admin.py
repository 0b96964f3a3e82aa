"""The Django admin for users, with the email as the login. Every write goes through the admin_users services
(adding, editing, the password, deactivating), so it is audited, published and revoked exactly as through the API."""

from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminPasswordChangeForm as DjangoOwnPasswordChangeForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm as DjangoAdminPasswordChangeForm
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from apps.core.observability.context import client_ip

from . import login_guard
from .admin_users import services
from .models import OidcIdentity, User
from .request_user import request_user

# The fields an admin edits on a user's change page, each applied by `user_update` (the rest are read-only).
EDITABLE_FIELDS = ("email", "full_name", "role", "is_active", "is_verified")

# The admin's password view builds its form without the request; this names who is changing the password.
_acting_admin: ContextVar[User] = ContextVar("acting_admin")


def _new_password(cleaned_data: dict[str, Any]) -> str | None:
    """The password a Django password form chose; None when it asks for no usable password."""
    return cleaned_data["password1"] if cleaned_data["set_usable_password"] else None


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "full_name")
        field_classes = {}

    def set_password_and_save(self, user: User, commit: bool = True, **kwargs: Any) -> User:
        return user  # only validated here: `user_create` hashes and stores it


class PasswordChangeForm(DjangoAdminPasswordChangeForm):
    def save(self, commit: bool = True) -> User:
        password = _new_password(self.cleaned_data)
        updated = services.user_set_password(user=self.user, by=_acting_admin.get(), password=password)
        self.user.password = updated.password  # so an admin changing their own password stays signed in
        return self.user


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
    change_password_form = PasswordChangeForm
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
        # Nothing is saved here: the form only validated, and the service applies and records each change.
        acting = request_user(request)
        if change:
            changes = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
            services.user_update(user=obj, by=acting, **changes)
        else:
            password = _new_password(form.cleaned_data)
            obj.pk = services.user_create(email=obj.email, full_name=obj.full_name, password=password, by=acting).pk
        obj.refresh_from_db()

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        token = _acting_admin.set(request_user(request))
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _acting_admin.reset(token)

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


class OwnPasswordChangeForm(DjangoOwnPasswordChangeForm):
    """The admin's "change my password" form, its old password checked behind the login guard."""

    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        if not login_guard.check_password(user=self.user, password=old_password, address=client_ip.get()):
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


def own_password_change(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponseBase:
    """AdminSite.password_change with the guarded form: Django's builds its form class in, with no hook to swap it."""
    from django.contrib.auth.views import PasswordChangeView

    request.current_app = admin.site.name
    return PasswordChangeView.as_view(
        form_class=OwnPasswordChangeForm,
        success_url=reverse("admin:password_change_done", current_app=admin.site.name),
        extra_context={**admin.site.each_context(request), **(extra_context or {})},
    )(request)


# The admin's login form and password change share the API's failure counters (apps/users/login_guard.py). The
# stubs type both as returning a TemplateResponse; Django's URL wrapper takes any response.
admin.site.login = login_guard.refuse_after_failures(admin.site.login)  # type: ignore[method-assign,assignment]
admin.site.password_change = login_guard.refuse_after_failures(own_password_change)  # type: ignore[method-assign,assignment]
