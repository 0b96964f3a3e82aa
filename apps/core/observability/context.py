"""What the current request is, for code far from the view (audit rows, log lines) without passing it down.

The client's address is resolved here, once per request (RequestContextMiddleware), and every reader (throttles,
the login guard, the audit trail, the /metrics allow-list) takes this one answer. The lru_caches below hold parsed
addresses and networks, pure functions of their arguments (the setting is an argument), so every process of a
fleet gives the same answer.
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
    """The client's address: the socket's peer, or, when that peer is a trusted proxy (TRUSTED_PROXIES), the
    rightmost address of X-Forwarded-For that is not itself a trusted proxy (the one the outermost of our proxies
    saw). Never a value the client chose: an untrusted peer's header is not read, entries left of the first
    untrusted one are ignored, and a malformed entry falls back to the socket's peer."""
    if CLIENT_ADDRESS_KEY not in request.META:
        request.META[CLIENT_ADDRESS_KEY] = _resolve(request)
    address: str | None = request.META[CLIENT_ADDRESS_KEY]
    return address


def peer_is_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the socket's peer is one of TRUSTED_PROXIES, whose forwarded headers are believed."""
    if not settings.TRUSTED_PROXIES:
        return False
    peer = _valid_address(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and _is_trusted(peer, tuple(settings.TRUSTED_PROXIES))


def _resolve(request: HttpRequest) -> str | None:
    peer = _valid_address(request.META.get("REMOTE_ADDR", ""))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = tuple(settings.TRUSTED_PROXIES)
    if peer is None or not forwarded or not _is_trusted(peer, proxies):
        return peer
    client = peer
    for hop in reversed(forwarded.split(",")):
        address = _valid_address(hop.strip())
        if address is None:
            return peer
        client = address
        if not _is_trusted(address, proxies):
            break
    return client


@lru_cache(maxsize=4096)  # parsing costs as much as the rest of the middleware; clients come back
def _valid_address(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 address, in networks and counters.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(mapped or address)


@lru_cache(maxsize=4096)  # per address and setting: the setting is a tuple of strings, so a test's change is a miss
def _is_trusted(address: str, proxies: tuple[str, ...]) -> bool:
    parsed = ipaddress.ip_address(address)
    return any(parsed in network for network in _networks(proxies))


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def is_valid_request_id(value: str) -> bool:
    return REQUEST_ID_PATTERN.fullmatch(value) is not None
