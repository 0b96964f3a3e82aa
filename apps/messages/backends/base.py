"""The SMS backend interface, shaped like Django's email backends: one class per transport, chosen by a setting."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.messages.models import Message


class SmsDeliveryError(Exception):
    """The transport did not accept the message; the delivery task retries it with backoff."""


class SmsRejectedError(SmsDeliveryError):
    """The transport refused the message for good (a bad number, a bad request): retrying cannot help."""


class BaseSmsBackend:
    """Subclasses implement `send`. A backend is built per delivery attempt, so it may hold per-attempt state."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send(self, message: "Message") -> str:
        """Hand `message` to the transport; return the provider's id for it, or raise SmsDeliveryError."""
        raise NotImplementedError("SMS backends must implement send()")
