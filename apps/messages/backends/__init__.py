"""Pluggable SMS transports. `get_sms_backend()` builds the one named by `settings.SMS_BACKEND` (or a dotted path);
`get_delivery_backend()` the one deliveries send through: every gateway of SMS_BACKENDS in failover order."""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import (
    BaseSmsBackend,
    DeliveryReceipt,
    GatewayRequestInvalid,
    GatewayRequestNotAuthentic,
    InboundSms,
    SmsDeliveryError,
    SmsRejectedError,
)

__all__ = [
    "BaseSmsBackend",
    "DeliveryReceipt",
    "GatewayRequestInvalid",
    "GatewayRequestNotAuthentic",
    "InboundSms",
    "SmsDeliveryError",
    "SmsRejectedError",
    "get_delivery_backend",
    "get_sms_backend",
]


def get_sms_backend(backend: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    """An instance of `backend` (a dotted path), by default `settings.SMS_BACKEND`."""
    backend_class = import_string(backend or settings.SMS_BACKEND)
    return backend_class(**kwargs)


def get_delivery_backend() -> BaseSmsBackend:
    """What deliveries send through: the gateways of SMS_BACKENDS (else SMS_BACKEND alone), with failover."""
    from .failover import FailoverBackend

    return FailoverBackend()
