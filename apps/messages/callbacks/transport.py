"""The HTTP exchange of one status callback attempt: signed, to a checked address, every attempt logged."""

import json
import time

from django.conf import settings

from .. import safe_http, signatures
from ..models import ERROR_TEXT_MAX_LENGTH, CallbackSettings, Message, StatusCallback, StatusCallbackAttempt

USER_AGENT = "status-callbacks/1"


def post_callback(callback: StatusCallback) -> tuple[int | None, str, bool]:
    """POST the callback once: (answer status code or None, error or "", whether retrying cannot help)."""
    account_id = Message.objects.values_list("account_id", flat=True).get(pk=callback.message_id)
    secret = CallbackSettings.objects.filter(account_id=account_id).values_list("secret", flat=True).first()
    if not secret:
        return None, "The account has no callback signing secret.", True
    body = json.dumps(callback.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signatures.signed_headers(secret=secret, body=body),
    }
    started = time.monotonic()
    try:
        answer = safe_http.post(
            callback.url,
            body,
            headers=headers,
            timeout=settings.CALLBACK_TIMEOUT_SECONDS,
            allowed_hosts=settings.CALLBACK_ALLOWED_HOSTS,
        )
    except safe_http.UnsafeDestination as exc:
        return _logged(callback, started, None, f"Refused: {exc}"), f"Refused: {exc}", True
    except safe_http.SendFailed as exc:
        return _logged(callback, started, None, str(exc)), str(exc), False
    error = "" if 200 <= answer.status < 300 else f"The receiver answered {answer.status}."
    return _logged(callback, started, answer.status, error), error, False


def _logged(callback: StatusCallback, started: float, status_code: int | None, error: str) -> int | None:
    StatusCallbackAttempt.objects.create(
        callback=callback,
        status_code=status_code,
        error=error[:ERROR_TEXT_MAX_LENGTH],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    return status_code
