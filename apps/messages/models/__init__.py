"""The messages app's tables, one module a concern: `outbound` (the delivery queue), `callbacks` (the outbox of
status callbacks and inbound events), `numbers` (what an account sends from, and to whom it may not), `inbound`
(texts customers send). Import them from here."""

from .callbacks import CallbackSettings, StatusCallback, StatusCallbackAttempt
from .inbound import (
    GATEWAY_MESSAGE_ID_MAX_LENGTH,
    INBOUND_MAX_PARTS,
    INBOUND_REFERENCE_MAX_LENGTH,
    InboundMessage,
    InboundPart,
)
from .numbers import MessagingSettings, OptOut, SenderNumber
from .outbound import (
    BACKEND_NAME_MAX_LENGTH,
    BODY_MAX_LENGTH,
    CALLBACK_URL_MAX_LENGTH,
    ERROR_TEXT_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    VALIDITY_MAX_SECONDS,
    VALIDITY_MIN_SECONDS,
    AutoReply,
    IdempotencyKey,
    Message,
)

__all__ = [
    "BACKEND_NAME_MAX_LENGTH",
    "BODY_MAX_LENGTH",
    "CALLBACK_URL_MAX_LENGTH",
    "ERROR_TEXT_MAX_LENGTH",
    "GATEWAY_MESSAGE_ID_MAX_LENGTH",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "INBOUND_MAX_PARTS",
    "INBOUND_REFERENCE_MAX_LENGTH",
    "VALIDITY_MAX_SECONDS",
    "VALIDITY_MIN_SECONDS",
    "AutoReply",
    "CallbackSettings",
    "IdempotencyKey",
    "InboundMessage",
    "InboundPart",
    "Message",
    "MessagingSettings",
    "OptOut",
    "SenderNumber",
    "StatusCallback",
    "StatusCallbackAttempt",
]
