"""Pluggable SMS transports. `get_sms_backend()` builds the one named by `settings.SMS_BACKEND`."""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import (
    BaseSmsBackend,
    DeliveryReceipt,
    ReceiptInvalid,
    ReceiptNotAuthentic,
    SmsDeliveryError,
    SmsRejectedError,
)

__all__ = [
    "BaseSmsBackend",
    "DeliveryReceipt",
    "ReceiptInvalid",
    "ReceiptNotAuthentic",
    "SmsDeliveryError",
    "SmsRejectedError",
    "get_sms_backend",
]


def get_sms_backend(backend: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    """An instance of `backend` (a dotted path), by default `settings.SMS_BACKEND`."""
    backend_class = import_string(backend or settings.SMS_BACKEND)
    return backend_class(**kwargs)
