from rest_framework import serializers

from .models import BODY_MAX_LENGTH, Message
from .phone import InvalidPhoneNumber, normalize_phone


class PhoneNumberField(serializers.CharField):
    """An E.164 number; spaces, dashes, dots and brackets are stripped before the check."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 64)
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
