from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from apps.core.http.formats import utc_iso
from apps.core.keygen import KEY_LENGTH

from .backends.errors import ERROR_CODES, shown_error_code
from .models import (
    BODY_MAX_LENGTH,
    CALLBACK_URL_MAX_LENGTH,
    VALIDITY_MAX_SECONDS,
    VALIDITY_MIN_SECONDS,
    InboundMessage,
    Message,
)
from .phone import MAX_DIGITS, MIN_DIGITS, InvalidPhoneNumber, normalize_phone
from .safe_http import UnsafeDestination, resolve
from .sender_rule import InvalidSender, normalize_sender

PHONE_INPUT_MAX_LENGTH = 64
SEND_AT_MIN_AHEAD_SECONDS = 60
SEND_AT_MAX_AHEAD_DAYS = 35
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


# The shape of a message in every answer, in this order (with `direction` after `message_id`): the serializer (and
# so the schema), the `.values()` of the read path and `message_read_data` all take it from here.
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
    "encoding",
    "segments",
    "send_at",
    "validity_period",
    "expires_at",
    "redact_body_after_send",
    "redacted_at",
    "backend",
    "in_reply_to",
)


def _blank_as_null(value: str) -> str | None:
    return value or None


# How a plain row's value becomes JSON where it is not already a string or a number, as the serializer's field does.
_JSON_FORMAT: dict[str, Callable[[Any], Any]] = {
    "account_id": str,
    "created_at": utc_iso,
    "sent_at": utc_iso,
    "status_callback": _blank_as_null,
    "send_at": utc_iso,
    "expires_at": utc_iso,
    "redacted_at": utc_iso,
    "backend": _blank_as_null,
    "in_reply_to": _blank_as_null,
}
# After `message_id`, which comes first and is a string already.
_COLUMN_FORMATS = tuple((column, _JSON_FORMAT.get(column)) for column in MESSAGE_COLUMNS[1:])
# Every message of this resource is one the account sends; what it receives is an inbound message (its own resource).
OUTBOUND = "outbound"


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

    body = serializers.CharField(
        allow_null=True,
        help_text="The text; null once redacted (`redacted_at`): after MESSAGE_BODY_RETENTION_DAYS, or once final "
        "when the create asked `redact_body_after_send`.",
    )
    encoding = serializers.ChoiceField(
        choices=Message.Encoding.choices,
        help_text="`GSM-7` when every character is in the GSM 03.38 alphabet, else `UCS-2`.",
    )
    segments = serializers.IntegerField(
        help_text="SMS parts the body takes: GSM-7 160 characters in one, 153 per part when longer (the extension "
        "table's `{}[]~\\|^€` count two); UCS-2 70 and 67 UTF-16 code units."
    )
    send_at = serializers.DateTimeField(allow_null=True, help_text="When a scheduled message is sent; null: at once.")
    validity_period = serializers.IntegerField(
        allow_null=True,
        help_text="Seconds after `send_at` (or `created_at`) the message may still be handed to the gateway.",
    )
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Not handed to the gateway by then, the message ends `expired`."
    )

    backend = serializers.SerializerMethodField(
        help_text="The name of the SMS gateway that took the message (or may have: it did not answer in time, and "
        "the retries go there only); null before any did."
    )

    in_reply_to = serializers.SerializerMethodField(
        help_text="The `message_id` of the inbound message this one answers (`GET /inbound-messages/{message_id}/`); "
        "null for a message that answers none."
    )

    direction = serializers.SerializerMethodField(
        help_text="Always `outbound`: a message the account sends (what it receives: `GET /inbound-messages/`)."
    )

    @extend_schema_field({"type": "string", "enum": [OUTBOUND]})
    def get_direction(self, message: Message) -> str:
        return OUTBOUND

    def get_backend(self, message: Message) -> str | None:
        return _blank_as_null(message.backend)

    def get_in_reply_to(self, message: Message) -> str | None:
        return _blank_as_null(message.in_reply_to)

    def get_status_callback(self, message: Message) -> str | None:
        return _blank_as_null(message.status_callback)

    @extend_schema_field({"type": "string", "enum": list(ERROR_CODES), "nullable": True})
    def get_error_code(self, message: Message) -> str | None:
        return shown_error_code(status=message.status, error_code=message.error_code)

    class Meta:
        model = Message
        fields = [MESSAGE_COLUMNS[0], "direction", *MESSAGE_COLUMNS[1:]]
        read_only_fields = fields


def message_read_data(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What `MessageSerializer` answers, built from plain rows (`.values(*MESSAGE_COLUMNS)`).

    A page of 20 model instances through the ModelSerializer's fields cost more than the queries behind it; the
    tests hold both to the same bodies."""
    return [_row_data(row) for row in rows]


def _row_data(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {"message_id": row["message_id"], "direction": OUTBOUND}
    data.update(
        (column, row[column] if format_ is None else format_(row[column])) for column, format_ in _COLUMN_FORMATS
    )
    data["error_code"] = shown_error_code(status=row["status"], error_code=row["error_code"])
    return data


def message_data(message: Message) -> dict[str, Any]:
    """One message instance as `MessageSerializer` shows it."""
    return message_read_data([{column: getattr(message, column) for column in MESSAGE_COLUMNS}])[0]


# Swagger UI's "Try it out" starts from this body; built from the field types alone it names a callback URL with no
# host and a random account id, which the API refuses.
@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A message from the caller's account",
            value={"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "Hello"},
            request_only=True,
        )
    ]
)
class MessageCreateSerializer(serializers.Serializer):
    """What a caller may send to create a message; anything else in the body is ignored."""

    sender_number = SenderField(
        required=False, help_text="Required, unless `in_reply_to` is given (then it is the number written to)."
    )
    receiver_number = PhoneNumberField(
        required=False, help_text="Required, unless `in_reply_to` is given (then it is the number that wrote)."
    )
    in_reply_to = serializers.RegexField(
        rf"^[0-9a-z]{{{KEY_LENGTH}}}$",
        required=False,
        allow_blank=True,
        help_text="The `message_id` of an inbound message of the account that this message answers: it is sent "
        "from the number the inbound message was written to, to the number that wrote it.",
    )
    # Kept exactly as sent: leading and trailing spaces are part of a text message.
    body = serializers.CharField(max_length=BODY_MAX_LENGTH, trim_whitespace=False)
    # null and "" count as absent: they are what the browsable API's form starts with.
    account_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The account to send for; the caller's own by default. Only an admin may name another.",
    )
    status_callback = CallbackUrlField(
        required=False,
        allow_blank=True,
        help_text=(
            "An https URL that receives each status change of this message (signed POSTs); the account's default "
            "callback URL when absent. Needs the account's callback secret."
        ),
    )
    send_at = serializers.DateTimeField(
        required=False,
        allow_null=True,  # null: at once, as when absent
        help_text=(
            f"Send at this time (ISO 8601), at least {SEND_AT_MIN_AHEAD_SECONDS} seconds and at most "
            f"{SEND_AT_MAX_AHEAD_DAYS} days ahead; the message stays `scheduled` until then and may be canceled."
        ),
    )
    validity_period = serializers.IntegerField(
        required=False,
        allow_null=True,  # null: the default, as when absent
        min_value=VALIDITY_MIN_SECONDS,
        max_value=VALIDITY_MAX_SECONDS,
        help_text=(
            "Seconds after `send_at` (or acceptance) the message may still be handed to the gateway; past that it "
            "ends `expired`. MESSAGE_DEFAULT_VALIDITY_SECONDS (36000: 10 hours) by default."
        ),
    )
    redact_body_after_send = serializers.BooleanField(
        required=False,
        help_text="Redact the body (null) once the message is final: sent, delivered, undelivered, failed, expired "
        "or canceled.",
    )

    def to_internal_value(self, data: Any) -> Any:
        """Both numbers are required unless `in_reply_to` is given; missing ones are named beside the other fields'
        errors."""
        errors: dict[str, Any] = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors, value = dict(exc.detail) if isinstance(exc.detail, dict) else {}, None
            if not errors:
                raise
        given = data if isinstance(data, Mapping) else {}
        if not given.get("in_reply_to"):
            for name in ("sender_number", "receiver_number"):
                if name not in errors and given.get(name) in (None, ""):
                    errors[name] = [serializers.ErrorDetail("This field is required.", code="required")]
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate_send_at(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        now = timezone.now()
        earliest = now + timedelta(seconds=SEND_AT_MIN_AHEAD_SECONDS)
        latest = now + timedelta(days=SEND_AT_MAX_AHEAD_DAYS)
        if not earliest <= value <= latest:
            raise serializers.ValidationError(
                f"Must be at least {SEND_AT_MIN_AHEAD_SECONDS} seconds and at most {SEND_AT_MAX_AHEAD_DAYS} days "
                "ahead.",
                code="send_at_out_of_range",
            )
        return value


class InboundMessageSerializer(serializers.ModelSerializer):
    """A message a customer sent to one of the account's numbers."""

    direction = serializers.SerializerMethodField(help_text="Always `inbound`: a text the account received.")
    from_number = serializers.CharField(help_text="The number that wrote (E.164).")
    to_number = serializers.CharField(help_text="The account's number it was written to (E.164).")
    body = serializers.CharField(
        allow_null=True,
        help_text="The text; for one sent in parts, the parts joined in order (those received, when `incomplete`). "
        "Null once redacted (`redacted_at`): after MESSAGE_BODY_RETENTION_DAYS.",
    )
    status = serializers.ChoiceField(
        choices=[(status, status) for status in InboundMessage.SHOWN_STATUSES],
        help_text="`complete`; or `incomplete`: some of its parts had not arrived INBOUND_PARTS_TIMEOUT_SECONDS "
        "after the first (a late part still completes it).",
    )
    parts = serializers.IntegerField(help_text="The parts it was sent in.")
    parts_received = serializers.IntegerField(help_text="The parts that arrived.")
    backend = serializers.CharField(help_text="The SMS gateway that received it.")
    received_at = serializers.DateTimeField(help_text="When its first part arrived.")
    completed_at = serializers.DateTimeField(allow_null=True, help_text="When its last part arrived; null until then.")
    redacted_at = serializers.DateTimeField(allow_null=True, help_text="When its body was redacted; null while kept.")

    @extend_schema_field({"type": "string", "enum": ["inbound"]})
    def get_direction(self, inbound: InboundMessage) -> str:
        return "inbound"

    class Meta:
        model = InboundMessage
        fields = [
            "message_id",
            "direction",
            "account_id",
            "from_number",
            "to_number",
            "body",
            "status",
            "parts",
            "parts_received",
            "backend",
            "received_at",
            "completed_at",
            "redacted_at",
        ]
        read_only_fields = fields
