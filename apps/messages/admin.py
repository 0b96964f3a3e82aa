"""Messages, inbound messages and their callbacks in the admin: view-only for admins, with retry and resend
actions; the numbers and sender IDs accounts own, added, changed and deleted by admins through their services;
opt-outs (added and deleted) and the accounts' keyword answers, through theirs."""

import contextlib
from datetime import datetime
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
from .models import (
    InboundMessage,
    InboundPart,
    Message,
    MessagingSettings,
    OptOut,
    SenderNumber,
    StatusCallback,
    StatusCallbackAttempt,
)
from .optouts.services import messaging_settings_update, opt_out_add, opt_out_remove, require_own_sender
from .phone import InvalidPhoneNumber, normalize_phone
from .safe_http import UnsafeDestination, resolve
from .sender_rule import InvalidSender, normalize_sender
from .senders.services import SenderNotAllowed, sender_number_delete, sender_number_save


def _body_state(redacted_at: datetime | None) -> str:
    return f"redacted {redacted_at:%Y-%m-%d %H:%M} UTC" if redacted_at is not None else "kept"


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
    list_filter = ("status", "auto_reply", "encoding", "segments", ("redacted_at", admin.EmptyFieldListFilter))
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
        return _body_state(message.redacted_at)

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
    """Read-only view of every account's inbound messages, with the parts each arrived in. A redacted one shows its
    body and its parts' bodies empty and when it was redacted (`body` column, `redacted_at`)."""

    list_display = (
        "message_id",
        "account_id",
        "from_number",
        "to_number",
        "status",
        "parts_received",
        "parts",
        "received_at",
        "body_state",
    )
    list_filter = ("status", "backend", ("redacted_at", admin.EmptyFieldListFilter))
    search_fields = ("=message_id", "=from_number", "=to_number", "=account_id")
    search_help_text = "An exact inbound message id, number (E.164) or account id."
    readonly_fields = [field.name for field in InboundMessage._meta.fields]
    inlines = [InboundPartInline]
    ordering = ("-received_at", "-id")
    show_full_result_count = False

    @admin.display(description="body")
    def body_state(self, inbound: InboundMessage) -> str:
        return _body_state(inbound.redacted_at)


class AdminStaffOnly(admin.ModelAdmin):
    """Admins see and write every row; other staff see nothing."""

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
class SenderNumberAdmin(AdminStaffOnly):
    """Which numbers and sender IDs each account owns (what it may send from); every write audited."""

    form = SenderNumberForm
    list_display = ("value", "kind", "account_id", "rate_per_second", "inbound_url", "created_at")
    list_filter = ("kind",)
    search_fields = ("=value", "=account_id")
    search_help_text = "An exact number, sender ID or account id."
    readonly_fields = ("kind", "created_at")
    ordering = ("-created_at", "-id")

    def save_model(self, request: HttpRequest, obj: SenderNumber, form: forms.ModelForm, change: bool) -> None:
        sender_number_save(number=obj, by=request_user(request))

    def delete_model(self, request: HttpRequest, obj: SenderNumber) -> None:
        sender_number_delete(number=obj, by=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SenderNumber]) -> None:
        for number in queryset:
            sender_number_delete(number=number, by=request_user(request))


class OptOutForm(forms.ModelForm):
    recipient_number = forms.CharField(max_length=64, help_text="E.164; spaces, dashes and brackets are ignored.")
    sender_number = forms.CharField(
        max_length=64, required=False, help_text="One of the account's numbers or sender IDs; empty: every one."
    )

    class Meta:
        model = OptOut
        fields = ("account_id", "recipient_number", "sender_number")

    def clean_recipient_number(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["recipient_number"])
        except InvalidPhoneNumber as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_sender_number(self) -> str | None:
        value = self.cleaned_data["sender_number"]
        if not value:
            return None
        try:
            return normalize_sender(value)[0]
        except InvalidSender as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        account_id, sender_number = cleaned.get("account_id"), cleaned.get("sender_number")
        if account_id is not None and sender_number is not None:
            try:
                require_own_sender(account_id=account_id, sender_number=sender_number)
            except SenderNotAllowed:
                self.add_error("sender_number", "This account does not own this number or sender ID.")
        return cleaned


@admin.register(OptOut)
class OptOutAdmin(AdminStaffOnly):
    """Recipients opted out of an account's messages (from one of its numbers, or from all): added and deleted
    through the service, audited as the admin's; never changed (delete and add instead)."""

    form = OptOutForm
    list_display = ("recipient_number", "sender_scope", "account_id", "source", "created_at")
    list_filter = ("source",)
    search_fields = ("=recipient_number", "=account_id")
    search_help_text = "An exact recipient number or account id."
    ordering = ("-created_at", "-id")
    show_full_result_count = False

    @admin.display(description="sender number")
    def sender_scope(self, opt_out: OptOut) -> str:
        return opt_out.sender_number or "every number of the account"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: OptOut, form: forms.ModelForm, change: bool) -> None:
        added = opt_out_add(
            account_id=obj.account_id,
            recipient_number=obj.recipient_number,
            sender_number=obj.sender_number,
            source=OptOut.Source.ADMIN,
            by=request_user(request),
        )
        obj.pk, obj.source, obj.created_at = added.opt_out.pk, added.opt_out.source, added.opt_out.created_at

    def delete_model(self, request: HttpRequest, obj: OptOut) -> None:
        opt_out_remove(opt_out=obj, source=OptOut.Source.ADMIN, by=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OptOut]) -> None:
        for opt_out in queryset:
            opt_out_remove(opt_out=opt_out, source=OptOut.Source.ADMIN, by=request_user(request))


@admin.register(MessagingSettings)
class MessagingSettingsAdmin(AdminStaffOnly):
    """Each account's answers to HELP and STOP (empty: the service's default); written through the service."""

    fields = ("account_id", "help_text", "stop_confirmation_text", "updated_at")
    list_display = ("account_id", "updated_at")
    search_fields = ("=account_id",)
    readonly_fields = ("updated_at",)
    ordering = ("-updated_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("account_id", "updated_at") if obj is not None else ("updated_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # empty texts restore the defaults

    def save_model(self, request: HttpRequest, obj: MessagingSettings, form: forms.ModelForm, change: bool) -> None:
        saved = messaging_settings_update(
            account_id=obj.account_id,
            texts={"help_text": obj.help_text, "stop_confirmation_text": obj.stop_confirmation_text},
            by=request_user(request),
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at
