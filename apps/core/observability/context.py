"""What the current request is, for code far from the view (audit rows, log lines) without passing it down.

The client's address is resolved here, once per request (RequestContextMiddleware), and every reader (throttles,
the audit trail, the /metrics allow-list) takes this one answer.
"""

import ipaddress
import re
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)

# The WSGI environ takes extension keys (PEP 3333); this one holds the resolved address for the request's lifetime.
CLIENT_ADDRESS_KEY = "apps.core.client_address"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_client_ip(request: HttpRequest) -> str | None:
    """The client's address: the socket's peer, or with NUM_PROXIES trusted proxies in front, the address the
    outermost of them saw (the NUM_PROXIES-th entry of X-Forwarded-For from the right). Never a value the client
    chose: entries left of the trusted ones are ignored, and a malformed entry falls back to the socket's peer."""
    if CLIENT_ADDRESS_KEY not in request.META:
        request.META[CLIENT_ADDRESS_KEY] = _resolve(request)
    address: str | None = request.META[CLIENT_ADDRESS_KEY]
    return address


def _resolve(request: HttpRequest) -> str | None:
    peer = _valid_address(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return peer
    hops = [hop.strip() for hop in forwarded.split(",")]
    return _valid_address(hops[-min(proxies, len(hops))]) or peer


@lru_cache(maxsize=4096)  # parsing costs as much as the rest of the middleware; clients come back
def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def is_valid_request_id(value: str) -> bool:
    return REQUEST_ID_PATTERN.fullmatch(value) is not None
