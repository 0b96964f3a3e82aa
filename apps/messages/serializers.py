from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import BODY_MAX_LENGTH, Message
from .phone import MAX_DIGITS, MIN_DIGITS, InvalidPhoneNumber, normalize_phone

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

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", PHONE_INPUT_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_phone(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc), code="invalid_phone") from exc


class MessageSerializer(serializers.ModelSerializer):
    """A message as every read and the create answer show it."""

    class Meta:
        model = Message
        fields = [
            "message_id",
            "account_id",
            "sender_number",
            "receiver_number",
            "body",
            "status",
            "attempts",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class MessageCreateSerializer(serializers.Serializer):
    """What a caller may send to create a message; anything else in the body is ignored."""

    sender_number = PhoneNumberField()
    receiver_number = PhoneNumberField()
    # Kept exactly as sent: leading and trailing spaces are part of a text message.
    body = serializers.CharField(max_length=BODY_MAX_LENGTH, trim_whitespace=False)
    account_id = serializers.UUIDField(
        required=False,
        help_text="The account to send for; the caller's own by default. Only an admin may name another.",
    )
