"""Status callbacks in the admin: each one with its attempts (when, answer code, error), and a resend action."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import ViewOnlyForAdmins, is_admin_staff

from .callbacks import status_callback_resend
from .models import StatusCallback, StatusCallbackAttempt


class StatusCallbackAttemptInline(ViewOnlyForAdmins, admin.TabularInline):
    model = StatusCallbackAttempt
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(StatusCallback)
class StatusCallbackAdmin(ViewOnlyForAdmins, admin.ModelAdmin):
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

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return is_admin_staff(request)
