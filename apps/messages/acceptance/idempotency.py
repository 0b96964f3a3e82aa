"""Idempotent creation: a key scoped to the account, the request's fingerprint, and the window keys count in."""

import hashlib
import json
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from apps.core.exceptions import Conflict

from ..models import IdempotencyKey, Message


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_detail = "This Idempotency-Key was already used with a different request body."


def request_fingerprint(
    *,
    account_id: UUID,
    sender_number: str,
    receiver_number: str,
    body: str,
    status_callback: str = "",
    send_at: datetime | None = None,
    validity_period: int | None = None,
    redact_body_after_send: bool = False,
    in_reply_to: str = "",
) -> str:
    """sha256 of the canonical (normalised, key-sorted) request, for comparing idempotent retries."""
    request: dict[str, str | float | int | bool] = {
        "account_id": str(account_id),
        "sender_number": sender_number,
        "receiver_number": receiver_number,
        "body": body,
    }
    if status_callback:
        # Only when given, so the fingerprints of requests without one stay what they were.
        request["status_callback"] = status_callback
    if send_at is not None:
        request["send_at"] = send_at.timestamp()
    if validity_period is not None:
        request["validity_period"] = validity_period
    if redact_body_after_send:
        request["redact_body_after_send"] = True
    if in_reply_to:
        request["in_reply_to"] = in_reply_to
    canonical = json.dumps(
        request,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_cutoff() -> datetime:
    """Keys created before this no longer count: a request with one of them is a new request."""
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def idempotent_replay(key: IdempotencyKey) -> Message | None:
    try:
        stored = IdempotencyKey.objects.select_related("message").get(
            account_id=key.account_id, key=key.key, created_at__gte=idempotency_key_cutoff()
        )
    except IdempotencyKey.DoesNotExist:
        return None
    if stored.request_fingerprint != key.request_fingerprint:
        raise IdempotencyConflict()
    return stored.message.as_created()
