import contextlib
from uuid import UUID

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from apps.core.admin import ViewOnlyForAdmins, is_admin_staff

from .models import Message
from .phone import InvalidPhoneNumber, normalize_phone
from .services import message_retry_failed


@admin.register(Message)
class MessageAdmin(ViewOnlyForAdmins, admin.ModelAdmin):
    """Read-only view of every account's messages; the only write is the retry action, through the service."""

    list_display = (
        "message_id",
        "account_id",
        "sender_number",
        "receiver_number",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    )
    list_filter = ("status",)
    # Searched by exact value (see get_search_results), so the search uses indexes instead of scanning bodies.
    search_fields = ("message_id", "sender_number", "receiver_number", "account_id")
    search_help_text = "An exact message id, phone number (any punctuation) or account id."
    readonly_fields = [field.name for field in Message._meta.fields]
    ordering = ("-created_at", "-id")
    # Counting every message on each page view is the slow part of a changelist over a big table.
    show_full_result_count = False
    actions = ["retry_failed_messages"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = Q(message_id=term.lower())
        with contextlib.suppress(InvalidPhoneNumber):
            number = normalize_phone(term)
            matches |= Q(sender_number=number) | Q(receiver_number=number)
        with contextlib.suppress(ValueError):
            matches |= Q(account_id=UUID(term))
        return queryset.filter(matches), False

    @admin.action(description="Retry failed messages", permissions=["retry"])
    def retry_failed_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = message_retry_failed(messages=queryset, by=request.user)
        self.message_user(request, f"{count} failed message(s) queued for delivery again.", messages.SUCCESS)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return is_admin_staff(request)


# The status callbacks' admin, registered beside the messages'.
from . import callback_admin  # noqa: E402, F401
