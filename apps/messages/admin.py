"""Messages, inbound messages and their callbacks in the admin: view-only for admins, with retry and resend
actions; the numbers and sender IDs accounts own, added, changed and deleted by admins through their services."""

import contextlib
from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.timezone import localtime

from apps.core.admin import ViewOnlyForAdmins, is_admin_staff
from apps.users.request_user import request_user

from .callbacks.services import status_callback_resend
from .delivery.services import message_retry_failed
from .models import InboundMessage, InboundPart, Message, SenderNumber, StatusCallback, StatusCallbackAttempt
from .phone import InvalidPhoneNumber, normalize_phone
from .safe_http import UnsafeDestination, resolve
from .senders.rules import InvalidSender, normalize_sender
from .senders.services import sender_number_delete, sender_number_save


@admin.register(Message)
class MessageAdmin(ViewOnlyForAdmins, admin.ModelAdmin):
    """Read-only view of every account's messages; the only write is the retry action, through the service. A
    redacted message shows its body empty and when it was redacted (`body` column, `redacted_at`)."""

    list_display = (
        "message_id",
        "account_id",
        "sender_number",
        "receiver_number",
        "status",
        "encoding",
        "segments",
        "attempts",
        "created_at",
        "send_at",
        "sent_at",
        "body_state",
    )
    list_filter = ("status", "encoding", "segments", ("redacted_at", admin.EmptyFieldListFilter))
    # Searched by exact value (see get_search_results), so the search uses indexes instead of scanning bodies.
    search_fields = ("message_id", "sender_number", "receiver_number", "account_id")
    search_help_text = "An exact message id, phone number (any punctuation) or account id."
    # `next_attempt_at` keeps its column after the last attempt; the page shows it only while one is still due.
    readonly_fields = [
        "next_attempt" if field.name == "next_attempt_at" else field.name for field in Message._meta.fields
    ]
    exclude = ("next_attempt_at",)
    ordering = ("-created_at", "-id")
    # Counting every message on each page view is the slow part of a changelist over a big table.
    show_full_result_count = False
    actions = ["retry_failed_messages"]

    @admin.display(description="Next attempt at")
    def next_attempt(self, message: Message) -> str:
        if message.status != Message.Status.QUEUED:
            return f"None: the message is {message.get_status_display().lower()}."
        return date_format(localtime(message.next_attempt_at), "DATETIME_FORMAT")

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

    @admin.display(description="body")
    def body_state(self, message: Message) -> str:
        if message.redacted_at is not None:
            return f"redacted {message.redacted_at:%Y-%m-%d %H:%M} UTC"
        return "kept"

    @admin.action(description="Retry failed messages", permissions=["retry"])
    def retry_failed_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = message_retry_failed(messages=queryset, by=request_user(request))
        self.message_user(request, f"{count} failed message(s) queued for delivery again.", messages.SUCCESS)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return is_admin_staff(request)


class StatusCallbackAttemptInline(ViewOnlyForAdmins, admin.TabularInline):
    model = StatusCallbackAttempt
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(StatusCallback)
class StatusCallbackAdmin(ViewOnlyForAdmins, admin.ModelAdmin):
    """Read-only; the one write is the resend action, through the service."""

    list_display = (
        "event_id",
        "message",
        "inbound",
        "status",
        "state",
        "attempts",
        "last_status_code",
        "created_at",
    )
    list_filter = ("state",)
    list_select_related = ("message", "inbound")
    search_fields = ("=event_id", "=message__message_id", "=inbound__message_id")
    search_help_text = "An exact event id, message id or inbound message id."
    readonly_fields = [field.name for field in StatusCallback._meta.fields]
    inlines = [StatusCallbackAttemptInline]
    ordering = ("-id",)
    show_full_result_count = False
    actions = ["resend_callbacks"]

    @admin.display(description="status")
    def status(self, callback: StatusCallback) -> str:
        """The status a status callback reports; an inbound message's event shows its name."""
        return str(callback.payload.get("status") or callback.payload.get("event", ""))

    @admin.action(description="Resend the selected callbacks", permissions=["resend"])
    def resend_callbacks(self, request: HttpRequest, queryset: QuerySet[StatusCallback]) -> None:
        count = status_callback_resend(callbacks=queryset, by=request_user(request))
        self.message_user(request, f"{count} callback(s) queued to be sent again.", messages.SUCCESS)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return is_admin_staff(request)


class InboundPartInline(ViewOnlyForAdmins, admin.TabularInline):
    model = InboundPart
    fields = ("number", "gateway_message_id", "received_at", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(InboundMessage)
class InboundMessageAdmin(ViewOnlyForAdmins, admin.ModelAdmin):
    """Read-only view of every account's inbound messages, with the parts each arrived in."""

    list_display = (
        "message_id",
        "account_id",
        "from_number",
        "to_number",
        "status",
        "parts_received",
        "parts",
        "received_at",
    )
    list_filter = ("status", "backend")
    search_fields = ("=message_id", "=from_number", "=to_number", "=account_id")
    search_help_text = "An exact inbound message id, number (E.164) or account id."
    readonly_fields = [field.name for field in InboundMessage._meta.fields]
    inlines = [InboundPartInline]
    ordering = ("-received_at", "-id")
    show_full_result_count = False


class SenderNumberForm(forms.ModelForm):
    # Longer than the column: a number may be typed with spaces, dashes and brackets, stripped by clean_value.
    value = forms.CharField(max_length=64, help_text="An E.164 number or an alphanumeric sender ID (1 to 11).")

    class Meta:
        model = SenderNumber
        fields = ("account_id", "value", "rate_per_second", "inbound_url")
        help_texts = {
            "inbound_url": "An https URL that receives the inbound messages to this number (signed with the "
            "account's callback secret); empty: the account's default callback URL.",
        }

    def clean_value(self) -> str:
        try:
            return normalize_sender(self.cleaned_data["value"])[0]
        except InvalidSender as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_inbound_url(self) -> str:
        """Checked as a status callback URL is (apps/messages/safe_http.py): https, public addresses only."""
        url: str = self.cleaned_data.get("inbound_url") or ""
        if url:
            try:
                resolve(url, allowed_hosts=settings.CALLBACK_ALLOWED_HOSTS)
            except UnsafeDestination as exc:
                raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(SenderNumber)
class SenderNumberAdmin(admin.ModelAdmin):
    """Which numbers and sender IDs each account owns (what it may send from); every write audited."""

    form = SenderNumberForm
    list_display = ("value", "kind", "account_id", "rate_per_second", "inbound_url", "created_at")
    list_filter = ("kind",)
    search_fields = ("=value", "=account_id")
    search_help_text = "An exact number, sender ID or account id."
    readonly_fields = ("kind", "created_at")
    ordering = ("-created_at", "-id")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_admin_staff(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin_staff(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin_staff(request)

    def save_model(self, request: HttpRequest, obj: SenderNumber, form: forms.ModelForm, change: bool) -> None:
        sender_number_save(number=obj, by=request_user(request))

    def delete_model(self, request: HttpRequest, obj: SenderNumber) -> None:
        sender_number_delete(number=obj, by=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SenderNumber]) -> None:
        for number in queryset:
            sender_number_delete(number=number, by=request_user(request))
