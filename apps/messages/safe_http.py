"""Outbound POSTs to URLs that callers chose (webhooks), without becoming a way into our own network.

A URL is refused unless it is `https` (or `http` to a host in the allow list) and every address its host resolves
to is public (see `is_public`). The check runs when the URL is accepted and again at each send, after resolving,
and the connection is made to the very address that was checked (a DNS answer that changes in between cannot move
it). Redirects are never followed, and the answer read is bounded.

One wall-clock deadline bounds the whole exchange: connect, TLS handshake, status line, headers and body. A socket
timeout alone does not (a receiver that drips one header line a second never lets a single read wait long, and
neither does urllib3's `total` timeout), so a watchdog timer shuts the socket down when the deadline passes and
the read in progress ends at once.

Own code on the stdlib's http.client: the one library for this (`advocate`) is unmaintained since 2020 and wraps
`requests` adapters, and pinning the checked address takes a connect() override of a few lines.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
DEFAULT_MAX_ANSWER_BYTES = 16 * 1024

_v4 = ipaddress.IPv4Network
_v6 = ipaddress.IPv6Network

# IANA's IPv4 Special-Purpose Address Registry (RFC 6890 and its updates), written out rather than taken from
# `ipaddress.is_global`, whose answer changed between Python patch releases. Every block in it is refused, even the
# few the registry marks globally reachable (anycast relays and the like): no callback receiver lives there.
IPV4_NOT_PUBLIC = (
    _v4("0.0.0.0/8"),  # "this network"
    _v4("10.0.0.0/8"),  # private
    _v4("100.64.0.0/10"),  # shared address space (carrier-grade NAT)
    _v4("127.0.0.0/8"),  # loopback
    _v4("169.254.0.0/16"),  # link-local: cloud metadata services live here
    _v4("172.16.0.0/12"),  # private
    _v4("192.0.0.0/24"),  # IETF protocol assignments
    _v4("192.0.2.0/24"),  # documentation (TEST-NET-1)
    _v4("192.31.196.0/24"),  # AS112-v4
    _v4("192.52.193.0/24"),  # AMT
    _v4("192.88.99.0/24"),  # deprecated 6to4 relay anycast
    _v4("192.168.0.0/16"),  # private
    _v4("192.175.48.0/24"),  # direct delegation AS112
    _v4("198.18.0.0/15"),  # benchmarking
    _v4("198.51.100.0/24"),  # documentation (TEST-NET-2)
    _v4("203.0.113.0/24"),  # documentation (TEST-NET-3)
    _v4("224.0.0.0/4"),  # multicast
    _v4("240.0.0.0/4"),  # reserved, and the limited broadcast address
)

# IPv6 forms that carry an IPv4 address in fixed bits: the address is public only when the embedded one is.
IPV4_MAPPED = _v6("::ffff:0:0/96")  # RFC 4291: the IPv4 address in the last 32 bits
NAT64_WELL_KNOWN = _v6("64:ff9b::/96")  # RFC 6052: a NAT64 gateway forwards to the last 32 bits
SIX_TO_FOUR = _v6("2002::/16")  # RFC 3056: the IPv4 address in bits 16 to 47

# Everything outside global unicast (2000::/3) is refused, as are these blocks inside it (IANA's IPv6
# Special-Purpose Address Registry); IPv4-compatible (::/96), SIIT (::ffff:0:0:0/96) and local-use NAT64
# (64:ff9b:1::/48) addresses lie outside 2000::/3 and are refused whatever they embed.
IPV6_GLOBAL_UNICAST = _v6("2000::/3")
IPV6_NOT_PUBLIC = (
    _v6("2001::/23"),  # IETF protocol assignments, Teredo (2001::/32, an obfuscated IPv4 address) among them
    _v6("2001:db8::/32"),  # documentation
    _v6("3fff::/20"),  # documentation
)


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


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip in IPV4_MAPPED or ip in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """Whether `address` (IPv4 or IPv6, a zone id ignored) is one the service may connect to on a caller's behalf."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is None:
            return ip in IPV6_GLOBAL_UNICAST and not any(ip in network for network in IPV6_NOT_PUBLIC)
        ip = embedded
    return not any(ip in network for network in IPV4_NOT_PUBLIC)


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
    if host not in allowed_hosts and not all(is_public(address) for address in addresses):
        raise UnsafeDestination("The URL's host is not a public address.")
    return Destination(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("The deadline passed.")
        return left


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """A connection to the checked address, under one deadline: `cut()` (the watchdog's) shuts its socket down."""

    def __init__(self, destination: Destination, deadline: _Deadline) -> None:
        super().__init__(destination.host, destination.port, timeout=deadline.remaining())
        self._address = destination.address
        self._deadline = deadline
        self._socket_lock = threading.Lock()
        self._open: socket.socket | None = None
        self.was_cut = False

    def connect(self) -> None:
        self.sock = self._hold(socket.create_connection((self._address, self.port), self._deadline.remaining()))

    def _hold(self, sock: socket.socket) -> socket.socket:
        with self._socket_lock:
            if self.was_cut:
                sock.close()
                raise TimeoutError("The deadline passed.")
            self._open = sock
        return sock

    def cut(self) -> None:
        with self._socket_lock:
            self.was_cut = True
            if self._open is not None:
                # socket.socket's own shutdown, also for an SSLSocket (whose override would drop its TLS state
                # under the reading thread): the blocked read sees the end of the stream.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._open, socket.SHUT_RDWR)

    def close(self) -> None:
        with self._socket_lock:
            self._open = None
        super().close()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        # TLS (SNI and the certificate check) is for the URL's host name, the TCP connection to the checked address;
        # the handshake runs after the socket is held, so the watchdog bounds it too.
        sock = self._hold(socket.create_connection((self._address, self.port), self._deadline.remaining()))
        context = ssl.create_default_context()
        tls = context.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        self.sock = self._hold(tls)
        tls.settimeout(self._deadline.remaining())
        tls.do_handshake()


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

    Raises UnsafeDestination before connecting, or SendFailed when the destination cannot be reached or the whole
    exchange (resolving, connecting, TLS, sending and reading the answer) does not end within `timeout` seconds."""
    deadline = _Deadline(timeout)
    destination = resolve(url, allowed_hosts=allowed_hosts)
    connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    try:
        connection = connection_class(destination, deadline)
    except TimeoutError:
        raise SendFailed("The destination did not answer in time.") from None
    watchdog = threading.Timer(max(deadline.at - time.monotonic(), 0), connection.cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", destination.path, body=body, headers={**headers, "Connection": "close"})
        response = connection.getresponse()
        answer = bytearray()
        while len(answer) < max_answer_bytes and (chunk := response.read1(max_answer_bytes - len(answer))):
            answer += chunk
        if connection.was_cut:  # the stream ended because the watchdog shut it
            raise SendFailed("The destination did not answer in time.")
        return Answer(status=response.status, body=bytes(answer))
    except (OSError, http.client.HTTPException) as exc:
        if connection.was_cut or isinstance(exc, TimeoutError):
            raise SendFailed("The destination did not answer in time.") from exc
        raise SendFailed(f"The destination could not be reached: {exc.__class__.__name__}: {exc}") from exc
    finally:
        watchdog.cancel()
        connection.close()
