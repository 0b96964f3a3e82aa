"""The HTTP exchange of one status callback attempt: signed, to a checked address, under one deadline.

No database work here: the sender calls this outside any transaction, between claiming the callback and recording
the outcome."""

import json
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning

from .. import safe_http, signatures

USER_AGENT = "status-callbacks/1"


@register(Tags.security, deploy=True)
def callback_allowed_hosts_unset(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """CALLBACK_ALLOWED_HOSTS lets a customer's callback URL reach those hosts over plain http at any address,
    private ones included: for local work and tests, never a deployment (`check --deploy` says so)."""
    if not settings.CALLBACK_ALLOWED_HOSTS:
        return []
    return [
        CheckWarning(
            f"CALLBACK_ALLOWED_HOSTS is set ({', '.join(settings.CALLBACK_ALLOWED_HOSTS)}): customers' status "
            "callbacks may reach these hosts over plain http, at private addresses too.",
            hint="Leave it empty in a deployment; it is for local work and tests.",
            id="messaging.W001",
        )
    ]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # the receiver's answer; None: no answer
    error: str  # "" when delivered; internal text otherwise (the admin's attempt log)
    permanent: bool  # retrying cannot help
    duration_ms: int


def post_callback(*, url: str, payload: dict[str, Any], secret: str) -> Outcome:
    """POST the payload once, signed with `secret`; every failure is an Outcome, never an exception."""
    started = time.monotonic()

    def outcome(status_code: int | None, error: str, permanent: bool = False) -> Outcome:
        return Outcome(status_code, error, permanent, int((time.monotonic() - started) * 1000))

    if not secret:
        return outcome(None, "The account has no callback signing secret.", permanent=True)
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signatures.signed_headers(secret=secret, body=body),
    }
    try:
        answer = safe_http.post(
            url,
            body,
            headers=headers,
            timeout=settings.CALLBACK_TIMEOUT_SECONDS,
            allowed_hosts=settings.CALLBACK_ALLOWED_HOSTS,
        )
    except safe_http.UnsafeDestination as exc:
        return outcome(None, f"Refused: {exc}", permanent=True)
    except safe_http.SendFailed as exc:
        return outcome(None, str(exc))
    return outcome(answer.status, "" if 200 <= answer.status < 300 else f"The receiver answered {answer.status}.")  # noqa: PLR2004 - HTTP status classes
