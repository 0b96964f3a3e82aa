from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.http.formats import utc_iso

from .backends.errors import ERROR_CODES, shown_error_code
from .models import BODY_MAX_LENGTH, CALLBACK_URL_MAX_LENGTH, Message
from .phone import MAX_DIGITS, MIN_DIGITS, InvalidPhoneNumber, normalize_phone
from .safe_http import UnsafeDestination, resolve
from .senders.rules import InvalidSender, normalize_sender

PHONE_INPUT_MAX_LENGTH = 64
# What `normalize_phone` accepts: '+' and 8 to 15 digits, with spaces, dashes, dots and brackets anywhere.
_SEPARATORS = r"[\s\-.()\[\]]*"
PHONE_INPUT_PATTERN = rf"^{_SEPARATORS}\+({_SEPARATORS}[0-9]){{{MIN_DIGITS},{MAX_DIGITS}}}{_SEPARATORS}$"


@extend_schema_field(
    {
        "type": "string",
        "maxLength": PHONE_INPUT_MAX_LENGTH,
        "pattern": PHONE_INPUT_PATTERN,
        "example": "+1 (555) 123-0001",
        "description": "E.164: '+' then 8 to 15 digits; spaces, dashes, dots and brackets are ignored.",
    }
)
class PhoneNumberField(serializers.CharField):
    """An E.164 number; spaces, dashes, dots and brackets are stripped before the check."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", PHONE_INPUT_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_phone(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc), code="invalid_phone") from exc


@extend_schema_field(
    {
        "type": "string",
        "maxLength": PHONE_INPUT_MAX_LENGTH,
        "example": "+1 (555) 123-0001",
        "description": "E.164 ('+' then 8 to 15 digits; spaces, dashes, dots and brackets are ignored), or an "
        "alphanumeric sender ID: 1 to 11 letters, digits and spaces with at least one letter (one-way: receivers "
        "cannot answer it).",
    }
)
class SenderField(serializers.CharField):
    """A sender: an E.164 number (normalised) or an alphanumeric sender ID (kept as sent)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", PHONE_INPUT_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_sender(value)[0]
        except InvalidSender as exc:
            raise serializers.ValidationError(str(exc), code="invalid_sender") from exc


class CallbackUrlField(serializers.CharField):
    """A status callback URL: https, to a host that resolves to public addresses only."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", CALLBACK_URL_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value:
            return value
        try:
            resolve(value, allowed_hosts=settings.CALLBACK_ALLOWED_HOSTS)
        except UnsafeDestination as exc:
            raise serializers.ValidationError(str(exc), code="unsafe_url") from exc
        return value


# The shape of a message in every answer, in this order: the serializer (and so the schema), the `.values()` of the
# read path and `message_read_data` all take it from here.
MESSAGE_COLUMNS = (
    "message_id",
    "account_id",
    "sender_number",
    "receiver_number",
    "body",
    "status",
    "attempts",
    "created_at",
    "sent_at",
    "status_callback",
    "error_code",
    "backend",
)


def _blank_as_null(value: str) -> str | None:
    return value or None


# How a plain row's value becomes JSON where it is not already a string or a number, as the serializer's field does.
_JSON_FORMAT: dict[str, Callable[[Any], Any]] = {
    "account_id": str,
    "created_at": utc_iso,
    "sent_at": utc_iso,
    "status_callback": _blank_as_null,
    "backend": _blank_as_null,
}
_COLUMN_FORMATS = tuple((column, _JSON_FORMAT.get(column)) for column in MESSAGE_COLUMNS)


class MessageSerializer(serializers.ModelSerializer):
    """A message as every read and the create answer show it: the schema, and the reference for
    `message_read_data`, which builds the same bodies."""

    status_callback = serializers.SerializerMethodField(
        help_text="The URL this message's status changes are POSTed to, as the create named it; null when none was "
        "given (the account's default URL, if any, applies then)."
    )

    error_code = serializers.SerializerMethodField(
        help_text="Why the message failed or was not delivered, as a stable code; null for other statuses. "
        "`gateway_unreachable`, `gateway_timeout`, `gateway_error`: the SMS gateway could not be reached, did not "
        "answer in time, or answered with an error, on the last attempt; `gateway_rejected`: it refused the message "
        "for good (a bad number, a bad request); `receiver_unreachable`: the gateway reported it could not deliver "
        "the message to the receiver; `delivery_failed`: any other failure."
    )

    backend = serializers.SerializerMethodField(
        help_text="The name of the SMS gateway that took the message (or may have: it did not answer in time, and "
        "the retries go there only); null before any did."
    )

    def get_backend(self, message: Message) -> str | None:
        return _blank_as_null(message.backend)

    def get_status_callback(self, message: Message) -> str | None:
        return _blank_as_null(message.status_callback)

    @extend_schema_field({"type": "string", "enum": list(ERROR_CODES), "nullable": True})
    def get_error_code(self, message: Message) -> str | None:
        return shown_error_code(status=message.status, error_code=message.error_code)

    class Meta:
        model = Message
        fields = list(MESSAGE_COLUMNS)
        read_only_fields = fields


def message_read_data(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What `MessageSerializer` answers, built from plain rows (`.values(*MESSAGE_COLUMNS)`).

    A page of 20 model instances through the ModelSerializer's fields cost more than the queries behind it; the
    tests hold both to the same bodies."""
    return [_row_data(row) for row in rows]


def _row_data(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {column: row[column] if format_ is None else format_(row[column]) for column, format_ in _COLUMN_FORMATS}
    data["error_code"] = shown_error_code(status=row["status"], error_code=row["error_code"])
    return data


def message_data(message: Message) -> dict[str, Any]:
    """One message instance as `MessageSerializer` shows it."""
    return message_read_data([{column: getattr(message, column) for column in MESSAGE_COLUMNS}])[0]


class MessageCreateSerializer(serializers.Serializer):
    """What a caller may send to create a message; anything else in the body is ignored."""

    sender_number = SenderField()
    receiver_number = PhoneNumberField()
    # Kept exactly as sent: leading and trailing spaces are part of a text message.
    body = serializers.CharField(max_length=BODY_MAX_LENGTH, trim_whitespace=False)
    account_id = serializers.UUIDField(
        required=False,
        help_text="The account to send for; the caller's own by default. Only an admin may name another.",
    )
    status_callback = CallbackUrlField(
        required=False,
        help_text=(
            "An https URL that receives each status change of this message (signed POSTs); the account's default "
            "callback URL when absent. Needs the account's callback secret."
        ),
    )
