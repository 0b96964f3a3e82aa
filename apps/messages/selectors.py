"""Reads of messages. Every one starts from `message_list_for_account` (or, for inbound messages,
`inbound_message_list_for_account`), the one scoped way in to their rows."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from apps.core.http.permissions import is_admin

from .models import CallbackSettings, InboundMessage, Message, MessagingSettings, OptOut, SenderNumber

NEWEST_FIRST = ("-created_at", "-id")


def message_list_for_account(*, user: Any, account_id: UUID | None = None) -> QuerySet[Message]:
    """The messages `user` may read, newest first: their own account's, or every account's for an admin;
    narrowed to `account_id` when given. Another account's rows are absent, so a lookup through here is a 404."""
    queryset = Message.objects.all()
    if not is_admin(user):
        queryset = queryset.filter(account_id=user.account_id)
    if account_id is not None:
        queryset = queryset.filter(account_id=account_id)
    return queryset.order_by(*NEWEST_FIRST)


def account_is_visible(*, user: Any, account_id: UUID) -> bool:
    """Whether `user` may know of `account_id` at all (their own, or any for an admin)."""
    return is_admin(user) or account_id == user.account_id


def message_search(*, user: Any, params: Mapping[str, Any]) -> QuerySet[Message]:
    """The caller's messages matching every given search parameter (see `filters.MessageSearchFilter`).

    Raises ValidationError naming each parameter that does not parse.
    """
    from .filters import MessageSearchFilter

    filterset = MessageSearchFilter(data=params, queryset=message_list_for_account(user=user))
    if not filterset.is_valid():
        raise ValidationError(filterset.form.errors.as_data())
    return filterset.qs


def account_exists(*, account_id: UUID) -> bool:
    """Whether some user holds `account_id`."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(account_id=account_id).exists()


def account_callback_settings(*, account_id: UUID) -> CallbackSettings | None:
    """The account's status-callback settings, None before it first set any."""
    return CallbackSettings.objects.filter(account_id=account_id).first()


def account_owning_number(value: str) -> UUID | None:
    """The account that owns the phone number or sender ID `value` (normalised), None when no account does."""
    return SenderNumber.objects.filter(value=value).values_list("account_id", flat=True).first()


def sender_number_list_for_account(*, account_id: UUID) -> QuerySet[SenderNumber]:
    """The numbers and sender IDs `account_id` owns, oldest first."""
    return SenderNumber.objects.filter(account_id=account_id).order_by("created_at", "id")


def sender_rates(values: set[str]) -> dict[str, float]:
    """The segments per second of each of `values` that has a rate of its own (the others: the setting's)."""
    rows = SenderNumber.objects.filter(value__in=values, rate_per_second__isnull=False).values_list(
        "value", "rate_per_second"
    )
    return {value: rate for value, rate in rows if rate is not None}


def opt_outs_blocking(*, account_id: UUID, sender_number: str, recipient_number: str) -> QuerySet[OptOut]:
    """The opt-outs that keep `sender_number` from reaching `recipient_number` for `account_id`: that sender's and
    the account-wide one (both found through optout_account_recipient_idx)."""
    return OptOut.objects.filter(account_id=account_id, recipient_number=recipient_number).filter(
        Q(sender_number__isnull=True) | Q(sender_number=sender_number)
    )


def recipient_opted_out(*, account_id: UUID, sender_number: str, recipient_number: str) -> bool:
    """Whether `recipient_number` opted out of `account_id`'s messages from `sender_number` or from all of them: one
    indexed lookup, on every create."""
    return opt_outs_blocking(
        account_id=account_id, sender_number=sender_number, recipient_number=recipient_number
    ).exists()


def opted_out_messages(messages: list[Message]) -> set[int]:
    """The pks of those of `messages` whose recipient opted out of their sender (or of the whole account), in one
    query for the batch; the service's own auto-replies never count."""
    candidates = [message for message in messages if not message.auto_reply]
    if not candidates:
        return set()
    rows = OptOut.objects.filter(
        account_id__in={message.account_id for message in candidates},
        recipient_number__in={message.receiver_number for message in candidates},
    ).values_list("account_id", "recipient_number", "sender_number")
    scopes = {(account_id, recipient, sender) for account_id, recipient, sender in rows}
    return {
        message.pk
        for message in candidates
        if (message.account_id, message.receiver_number, None) in scopes
        or (message.account_id, message.receiver_number, message.sender_number) in scopes
    }


def opt_out_list_for_account(*, account_id: UUID, recipient_number: str | None = None) -> QuerySet[OptOut]:
    """The account's opt-outs, newest first; only `recipient_number`'s when given. The one scoped way in to them."""
    queryset = OptOut.objects.filter(account_id=account_id)
    if recipient_number is not None:
        queryset = queryset.filter(recipient_number=recipient_number)
    return queryset.order_by("-created_at", "-id")


def account_messaging_settings(*, account_id: UUID) -> MessagingSettings | None:
    """The account's keyword answers, None before it first set any."""
    return MessagingSettings.objects.filter(account_id=account_id).first()


def inbound_message_list_for_account(*, user: Any) -> QuerySet[InboundMessage]:
    """The inbound messages `user` may read, newest first: their own account's (every account's for an admin),
    `complete` or `incomplete` (a text still waiting for parts is not shown yet)."""
    queryset = InboundMessage.objects.filter(status__in=InboundMessage.SHOWN_STATUSES)
    if not is_admin(user):
        queryset = queryset.filter(account_id=user.account_id)
    return queryset.order_by("-received_at", "-id")


def inbound_message_search(*, user: Any, params: Mapping[str, Any]) -> QuerySet[InboundMessage]:
    """The caller's inbound messages matching every given search parameter (see
    `filters.InboundMessageSearchFilter`). Raises ValidationError naming each parameter that does not parse."""
    from .filters import InboundMessageSearchFilter

    filterset = InboundMessageSearchFilter(data=params, queryset=inbound_message_list_for_account(user=user))
    if not filterset.is_valid():
        raise ValidationError(filterset.form.errors.as_data())
    return filterset.qs


def inbound_message_of_account(*, account_id: UUID, message_id: str) -> InboundMessage | None:
    """`account_id`'s shown inbound message `message_id`, None when it has none by that id."""
    return InboundMessage.objects.filter(
        account_id=account_id, message_id=message_id, status__in=InboundMessage.SHOWN_STATUSES
    ).first()
