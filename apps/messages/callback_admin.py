"""Status callbacks in the admin: each one with its attempts (when, answer code, error), and a resend action."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.permissions import is_admin

from .callbacks import status_callback_resend
from .models import StatusCallback, StatusCallbackAttempt


class StatusCallbackAttemptInline(admin.TabularInline):
    model = StatusCallbackAttempt
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin_staff(request)


@admin.register(StatusCallback)
class StatusCallbackAdmin(admin.ModelAdmin):
    """Read-only; the one write is the resend action, through the service."""

    list_display = ("event_id", "message", "status", "state", "attempts", "last_status_code", "created_at")
    list_filter = ("state",)
    list_select_related = ("message",)
    search_fields = ("=event_id", "=message__message_id")
    search_help_text = "An exact event id or message id."
    readonly_fields = [field.name for field in StatusCallback._meta.fields]
    inlines = [StatusCallbackAttemptInline]
    ordering = ("-id",)
    show_full_result_count = False
    actions = ["resend_callbacks"]

    @admin.display(description="status")
    def status(self, callback: StatusCallback) -> str:
        return str(callback.payload.get("status", ""))

    @admin.action(description="Resend the selected callbacks", permissions=["resend"])
    def resend_callbacks(self, request: HttpRequest, queryset: QuerySet[StatusCallback]) -> None:
        count = status_callback_resend(callbacks=queryset, by=request.user)
        self.message_user(request, f"{count} callback(s) queued to be sent again.", messages.SUCCESS)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_admin_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin_staff(request)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return _is_admin_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _is_admin_staff(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff and is_admin(request.user))
