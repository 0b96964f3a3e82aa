"""Sending through the gateways of SMS_BACKENDS in order: a send that fails on one for a reason the next may not
have (unreachable, an error answer) goes to the next within the same attempt; a gateway that keeps failing is
skipped for a cool-down (breaker.py, with two gateways or more).

Sticky: a message records the name of the gateway that took it (`Message.backend`), or that may have taken it (it
did not answer in time): its retries go to that gateway only, under the same idempotency key, so a gateway that
deduplicates never makes a second SMS of it, and its receipts come from there.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import breaker
from .base import BaseSmsBackend, SmsDeliveryError, SmsRejectedError
from .errors import GATEWAY_TIMEOUT, GATEWAY_UNREACHABLE

if TYPE_CHECKING:
    from apps.messages.models import Message

# The name of SMS_BACKEND when SMS_BACKENDS is empty.
DEFAULT_BACKEND_NAME = "default"
_OPTIONS = ("url", "token", "timeout")


@dataclass(frozen=True)
class BackendConfig:
    name: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)


def configured_backends() -> list[BackendConfig]:
    """SMS_BACKENDS as configs, in order; SMS_BACKEND alone (named `default`) when it is empty."""
    if not settings.SMS_BACKENDS:
        return [BackendConfig(DEFAULT_BACKEND_NAME, settings.SMS_BACKEND)]
    configs = []
    for entry in settings.SMS_BACKENDS:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("backend"):
            raise ImproperlyConfigured('Each SMS_BACKENDS entry is an object with "name" and "backend".')
        options = {key: entry[key] for key in _OPTIONS if key in entry}
        configs.append(BackendConfig(str(entry["name"]), str(entry["backend"]), options))
    if len({config.name for config in configs}) != len(configs):
        raise ImproperlyConfigured("SMS_BACKENDS names must be unique.")
    return configs


def backend_class(name: str) -> type[BaseSmsBackend] | None:
    """The class of the configured gateway `name`, or None."""
    for config in configured_backends():
        if config.name == name:
            return import_string(config.path)
    return None


# A `{backend}` a gateway posts its requests (receipts, inbound messages) under that is no gateway of SMS_BACKENDS →
# the backend class that reads them. These names come from before SMS_BACKENDS: each stands for the `default` gateway.
GATEWAY_ALIASES = {"http": "apps.messages.backends.http.HttpGatewayBackend"}


def gateway_backend(name: str) -> type[BaseSmsBackend] | None:
    """The backend class whose gateway posts under `name` (a gateway of SMS_BACKENDS, or an alias), or None."""
    configured = backend_class(name)
    if configured is not None:
        return configured
    path = GATEWAY_ALIASES.get(name)
    return import_string(path) if path is not None else None


def is_default_alias(name: str) -> bool:
    """Whether `name` is an old name of the `default` gateway (not itself a gateway of SMS_BACKENDS)."""
    return name in GATEWAY_ALIASES and backend_class(name) is None


class FailoverBackend(BaseSmsBackend):
    """Sends through each configured gateway in turn; sets `message.backend` to the one that took it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.configs = configured_backends()
        self.backends = {config.name: import_string(config.path)(**config.options) for config in self.configs}
        self.guarded = len(self.configs) > 1

    def send(self, message: "Message") -> str:
        error: SmsDeliveryError | None = None
        for name in self._order(message):
            if self.guarded and not breaker.is_available(name):
                continue
            try:
                provider_id = self.backends[name].send(message)
            except SmsRejectedError:
                message.backend = name
                raise  # refused for good: a bad number or request is bad on every gateway
            except SmsDeliveryError as exc:
                if self.guarded:
                    breaker.record_failure(name)
                if exc.code == GATEWAY_TIMEOUT:
                    message.backend = name  # it may have taken the message: never another gateway for it
                    raise
                error = exc
                continue
            if self.guarded:
                breaker.record_success(name)
            message.backend = name
            return provider_id
        raise error or SmsDeliveryError(
            "Every SMS gateway is skipped while it cools down after failures.", code=GATEWAY_UNREACHABLE
        )

    def _order(self, message: "Message") -> list[str]:
        if message.backend in self.backends:
            return [message.backend]
        return [config.name for config in self.configs]
