"""What the current request is, for code far from the view (audit rows, log lines) without passing it down."""

from contextvars import ContextVar

from django.http import HttpRequest

client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def request_client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is what the socket saw; behind the proxy gunicorn is told to trust, it is the client's address.
    return request.META.get("REMOTE_ADDR") or None
