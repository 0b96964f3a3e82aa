"""The SMS backend interface, shaped like Django's email backends: one class per transport, chosen by a setting."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import GATEWAY_ERROR, GATEWAY_REJECTED

if TYPE_CHECKING:
    from apps.messages.models import Message


class SmsDeliveryError(Exception):
    """The transport did not accept the message; the delivery task retries it with backoff.

    `code` is the stable reason the account sees (backends/errors.py); the text is for the admin and the logs."""

    code = GATEWAY_ERROR

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


class SmsRejectedError(SmsDeliveryError):
    """The transport refused the message for good (a bad number, a bad request): retrying cannot help."""

    code = GATEWAY_REJECTED


class GatewayRequestInvalid(Exception):
    """A gateway's request (a delivery receipt, an inbound message) whose body does not have the backend's shape
    (a 400)."""


class GatewayRequestNotAuthentic(Exception):
    """A gateway's request without a valid signature or secret (a 401)."""


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a gateway reported about one message: `delivered`, or `undelivered` with the gateway's reason."""

    message_id: str
    delivered: bool
    error: str = ""


@dataclass(frozen=True)
class InboundSms:
    """A text (or one part of it) a gateway received for one of our numbers. Numbers are normalised; `parts` is 1
    and `reference` "" for a text in one part."""

    from_number: str
    to_number: str
    body: str
    gateway_message_id: str
    reference: str = ""
    part: int = 1
    parts: int = 1


class BaseSmsBackend:
    """Subclasses implement `send`. A backend is built per delivery attempt, so it may hold per-attempt state."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send(self, message: "Message") -> str:
        """Hand `message` to the transport; return the provider's id for it, or raise SmsDeliveryError."""
        raise NotImplementedError("SMS backends must implement send()")

    @classmethod
    def parse_receipt(cls, *, body: bytes, headers: Mapping[str, str]) -> DeliveryReceipt:
        """Authenticate and read a delivery receipt posted by this backend's gateway.

        Raises GatewayRequestNotAuthentic (checked first, before the body is read) or GatewayRequestInvalid."""
        raise GatewayRequestNotAuthentic("This backend's gateway sends no delivery receipts.")

    @classmethod
    def parse_inbound(cls, *, body: bytes, headers: Mapping[str, str]) -> InboundSms:
        """Authenticate and read an inbound message (or part) posted by this backend's gateway.

        Raises GatewayRequestNotAuthentic (checked first, before the body is read) or GatewayRequestInvalid."""
        raise GatewayRequestNotAuthentic("This backend's gateway sends no inbound messages.")
