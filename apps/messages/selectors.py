"""Reads of messages. Every one starts from `message_list_for_account` (or, for inbound messages,
`inbound_message_list_for_account`), the one scoped way in to their rows."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from apps.core.http.permissions import is_admin

from .models import CallbackSettings, InboundMessage, Message, SenderNumber

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
    """The sends per second of each of `values` that has a rate of its own (the others: the setting's)."""
    rows = SenderNumber.objects.filter(value__in=values, rate_per_second__isnull=False).values_list(
        "value", "rate_per_second"
    )
    return {value: rate for value, rate in rows if rate is not None}


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
