from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from apps.core.http.permissions import is_admin
from apps.core.models import AuditEvent, OutboxEvent


def is_admin_staff(request: HttpRequest) -> bool:
    """An active staff member with the admin role."""
    return bool(request.user.is_active and request.user.is_staff and is_admin(request.user))


class ViewOnlyForAdmins:
    """For a ModelAdmin or an inline: shown to admin staff only (`is_admin_staff`), and never added to, changed or
    deleted from through the admin; an action of its own is what writes, through a service."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin_staff(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor", "object_type", "object_id", "ip_address", "request_id")
    list_filter = ("action", "object_type")
    search_fields = ("action", "object_id", "request_id", "actor__email")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """View-only: the relay publishes the events and the prune task deletes the published ones; a staff delete of
    a pending event would lose it for every consumer."""

    list_display = ("id", "event_type", "priority", "aggregate_type", "aggregate_id", "created_at", "published_at")
    list_filter = ("event_type", "priority", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id", "aggregate_id", "event_type")
    readonly_fields = [field.name for field in OutboxEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
