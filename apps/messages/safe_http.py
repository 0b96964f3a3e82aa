"""Outbound POSTs to URLs that callers chose (webhooks), without becoming a way into our own network.

A URL is refused unless it is `https` (or `http` to a host in the allow list) and every address its host resolves
to is public: no loopback, private, link-local (cloud metadata lives there), shared, reserved or multicast
address. The check runs when the URL is accepted and again at each send, after resolving, and the connection is
made to the very address that was checked (a DNS answer that changes in between cannot move it). Redirects are
never followed, and the time and the answer read are bounded.

Own code on the stdlib's http.client: the one library for this (`advocate`) is unmaintained since 2020 and wraps
`requests` adapters, and pinning the checked address takes a connect() override of a few lines.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
DEFAULT_MAX_ANSWER_BYTES = 16 * 1024


class UnsafeDestination(ValueError):
    """The URL is not one the service may send to (scheme, host, or an address it resolves to)."""


class SendFailed(Exception):
    """The destination could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP address the connection goes to


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _split(url: str, allowed_hosts: Collection[str]) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeDestination(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeDestination("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeDestination("The URL may not carry credentials.")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in allowed_hosts):
        raise UnsafeDestination("The URL must be https.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeDestination("The URL's port is not a number from 1 to 65535.") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, path


def resolve(url: str, *, allowed_hosts: Collection[str] = ()) -> Destination:
    """Check `url` and pick the address to connect to; raise UnsafeDestination when it may not be used.

    Hosts in `allowed_hosts` (local work and tests) may use http and any address."""
    scheme, host, port, path = _split(url, allowed_hosts)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeDestination("The URL's host does not resolve.") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise UnsafeDestination("The URL's host does not resolve.")
    if host not in allowed_hosts and not all(_is_public(address) for address in addresses):
        raise UnsafeDestination("The URL's host is not a public address.")
    return Destination(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = destination.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout, context=ssl.create_default_context())
        self._address = destination.address

    def connect(self) -> None:
        # TLS (SNI and the certificate check) is for the URL's host name, the TCP connection to the checked address.
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]  # set by HTTPSConnection.__init__


def post(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    timeout: float,
    allowed_hosts: Collection[str] = (),
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
) -> Answer:
    """POST `body` to `url` once, to the address checked by `resolve`; a 3xx is an answer, not followed.

    Raises UnsafeDestination before connecting, or SendFailed when the destination cannot be reached or does not
    answer within `timeout` (connect, and the whole answer together)."""
    destination = resolve(url, allowed_hosts=allowed_hosts)
    connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(destination, timeout)
    deadline = time.monotonic() + timeout
    try:
        connection.request("POST", destination.path, body=body, headers={**headers, "Connection": "close"})
        response = connection.getresponse()
        answer = bytearray()
        while len(answer) < max_answer_bytes and (chunk := response.read1(max_answer_bytes - len(answer))):
            answer += chunk
            if time.monotonic() > deadline:
                raise SendFailed("The destination did not answer in time.")
        return Answer(status=response.status, body=bytes(answer))
    except (OSError, http.client.HTTPException) as exc:
        raise SendFailed(f"The destination could not be reached: {exc.__class__.__name__}: {exc}") from exc
    finally:
        connection.close()
