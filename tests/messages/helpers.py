"""Shared helpers for the messages tests: URLs and the API shapes of messages and pages."""

from datetime import datetime
from typing import Any

from rest_framework.fields import DateTimeField

from apps.messages.models import Message

MESSAGES_URL = "/api/v1/messages/"
SEARCH_URL = "/api/v1/messages/search/"


def account_messages_url(account_id: Any) -> str:
    return f"/api/v1/accounts/{account_id}/messages/"


def detail_url(message_id: str) -> str:
    return f"{MESSAGES_URL}{message_id}/"


def iso(value: datetime | None) -> str | None:
    return None if value is None else DateTimeField().to_representation(value)


def message_json(message: Message) -> dict[str, Any]:
    """The API shape of `message` as stored now."""
    message.refresh_from_db()
    return {
        "message_id": message.message_id,
        "account_id": str(message.account_id),
        "sender_number": message.sender_number,
        "receiver_number": message.receiver_number,
        "body": message.body,
        "status": message.status,
        "attempts": message.attempts,
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
        "status_callback": message.status_callback or None,
        "error_code": (message.error_code or "delivery_failed")
        if message.status in ("failed", "undelivered")
        else None,
        "encoding": message.encoding,
        "segments": message.segments,
        "send_at": iso(message.send_at),
        "validity_period": message.validity_period,
        "expires_at": iso(message.expires_at),
        "redact_body_after_send": message.redact_body_after_send,
        "redacted_at": iso(message.redacted_at),
        "backend": message.backend or None,
        "in_reply_to": message.in_reply_to or None,
    }


def page(results: list[dict[str, Any]], *, count: int | None = None, next_: str | None = None) -> dict[str, Any]:
    return {"count": len(results) if count is None else count, "next": next_, "previous": None, "results": results}
