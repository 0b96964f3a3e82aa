"""Query parameters of the message list and search, parsed and validated with django-filter."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from apps.core.http.filtering import ReusedFormFilterSet

from .models import InboundMessage, Message, OptOut
from .phone import InvalidPhoneNumber, normalize_phone
from .sender_rule import InvalidSender, normalize_sender

MAX_LIST_VALUES = 100


def _restore_plus(item: str) -> str:
    """`item` stripped, with the '+' put back where form encoding decoded it into a space: a number (no letter) that
    starts with a space and then a digit."""
    value = item.strip()
    if item.startswith(" ") and value[:1].isdigit() and not any(character.isalpha() for character in value):
        return "+" + value
    return value


def _query_phone(item: str) -> str:
    value = _restore_plus(item)
    try:
        return normalize_phone(value)
    except InvalidPhoneNumber as exc:
        raise _refused(value, exc, code="invalid_phone") from exc


def _query_sender(item: str) -> str:
    """A sender as the create takes it: an E.164 number or an alphanumeric sender ID."""
    value = _restore_plus(item)
    try:
        return normalize_sender(value)[0]
    except InvalidSender as exc:
        raise _refused(value, exc, code="invalid_sender") from exc


def _refused(value: str, exc: Exception, *, code: str) -> forms.ValidationError:
    # The value goes in as a parameter: django-filter formats the message with `%`, and a value is any text.
    return forms.ValidationError("'%(value)s': %(reason)s", code=code, params={"value": value, "reason": str(exc)})


def _plain(item: str) -> str:
    return item.strip()


class CommaSeparatedField(forms.CharField):
    """A comma-separated list of at most MAX_LIST_VALUES values, each cleaned by `item_cleaner`; empty items are
    dropped, and a list with none left counts as absent."""

    def __init__(self, *args: Any, item_cleaner: Callable[[str], str] = _plain, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        super().__init__(*args, **kwargs)
        self.item_cleaner = item_cleaner

    def clean(self, value: Any) -> list[str]:
        raw = super().clean(value) or ""
        items = [item for item in raw.split(",") if item.strip()]
        if len(items) > MAX_LIST_VALUES:
            raise forms.ValidationError(
                f"Give at most {MAX_LIST_VALUES} comma-separated values; {len(items)} were given.", code="max_values"
            )
        return list(dict.fromkeys(self.item_cleaner(item) for item in items))


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time turned into UTC: Python accepts offsets up to ±23:59, PostgreSQL only up to ±15:59, so a
    time is compared in UTC, and one that leaves the calendar once in UTC is refused like any malformed time."""

    def clean(self, value: Any) -> datetime | None:
        parsed = super().clean(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise forms.ValidationError("Enter a valid date/time.", code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def list_parameter(name: str, what: str) -> OpenApiParameter:
    """The schema of an InListFilter's query parameter."""
    return OpenApiParameter(
        name,
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description=f"{what}; a comma-separated list (at most {MAX_LIST_VALUES} values) matches any of them.",
    )


class InListFilter(django_filters.Filter):
    """Matches any of a comma-separated list of values."""

    field_class = CommaSeparatedField

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class PositiveIntegerFilter(django_filters.NumberFilter):
    """A whole number, 1 or more (NumberFilter's own field takes decimals)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        super().__init__(*args, **kwargs)


class MessageListFilter(ReusedFormFilterSet):
    """`?account_id=` on the message list (it narrows within what the caller may read)."""

    account_id = django_filters.UUIDFilter(
        field_name="account_id",
        help_text="Only this account's messages: for an admin, any account; for anyone else, another account's id "
        "gives an empty page.",
    )

    class Meta:
        model = Message
        fields: list[str] = []


class MessageSearchFilter(ReusedFormFilterSet):
    """Every given parameter must match (AND); list parameters match any of their values (OR)."""

    message_id = InListFilter(field_name="message_id")
    sender_number = InListFilter(field_name="sender_number", item_cleaner=_query_sender)
    receiver_number = InListFilter(field_name="receiver_number", item_cleaner=_query_phone)
    status = django_filters.ChoiceFilter(field_name="status", choices=Message.Status.choices)
    segments = PositiveIntegerFilter(field_name="segments")
    segments_min = PositiveIntegerFilter(field_name="segments", lookup_expr="gte")
    segments_max = PositiveIntegerFilter(field_name="segments", lookup_expr="lte")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields: list[str] = []


class OptOutFilter(ReusedFormFilterSet):
    recipient_number = InListFilter(
        field_name="recipient_number",
        item_cleaner=_query_phone,
        help_text="Only this recipient's opt-outs (normalised like a create body's number); a comma-separated list "
        f"(at most {MAX_LIST_VALUES}) matches any of them.",
    )

    class Meta:
        model = OptOut
        fields: list[str] = []


class InboundMessageSearchFilter(ReusedFormFilterSet):
    """Every given parameter must match (AND); list parameters match any of their values (OR)."""

    message_id = InListFilter(field_name="message_id")
    from_number = InListFilter(field_name="from_number", item_cleaner=_query_phone)
    to_number = InListFilter(field_name="to_number", item_cleaner=_query_phone)
    status = django_filters.ChoiceFilter(
        field_name="status", choices=[(status, status) for status in InboundMessage.SHOWN_STATUSES]
    )
    received_after = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = InboundMessage
        fields: list[str] = []
