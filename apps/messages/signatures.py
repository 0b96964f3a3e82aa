"""HMAC-SHA256 signatures of a timestamped body, as webhook senders use them (`X-Signature`, `X-Signature-Timestamp`).

The signed text is `<timestamp>.<body>`: the timestamp is covered, so a captured request cannot be replayed
later than the tolerance with a fresh timestamp. The stdlib's hmac: a signature is one line, and its compare is
constant-time.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class SignatureInvalid(Exception):
    """The signature is missing, malformed, wrong, or its timestamp is outside the tolerance."""


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(*, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers that sign `body` now."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret=secret, timestamp=timestamp, body=body)}


def verify(
    *,
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise SignatureInvalid unless `signature` signs `body` at `timestamp`, within `tolerance` seconds of now."""
    if not secret or not signature or not timestamp:
        raise SignatureInvalid("The request is not signed.")
    try:
        moment = int(timestamp)
    except ValueError:
        raise SignatureInvalid("The signature timestamp is not a number of seconds.") from None
    current = time.time() if now is None else now
    if abs(current - moment) > tolerance:
        raise SignatureInvalid("The signature timestamp is too old or in the future.")
    if not hmac.compare_digest(sign(secret=secret, timestamp=moment, body=body), signature.strip().lower()):
        raise SignatureInvalid("The signature does not match the body.")
