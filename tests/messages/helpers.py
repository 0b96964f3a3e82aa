"""Shared helpers for the messages tests: URLs, the API shapes of messages and pages, and waits on real workers."""

import json
import subprocess
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rest_framework.fields import DateTimeField

from apps.messages import signatures
from apps.messages.models import Message
from tests.helpers.receiver import Receiver

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
        "direction": "outbound",
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


def wait_until_sent(
    workers: Sequence[subprocess.Popen], pks: list[int], *, timeout: float = 60, wake_every: float | None = None
) -> None:
    """Until every message of `pks` is `sent` by real `workers` (each must stay up), or AssertionError after
    `timeout` seconds naming the others. `wake_every`: publish a wake-up that often, as beat's `deliver-due-messages`
    does in a deployment (for a test that runs no beat), so a held message whose own wake-up was lost waits that
    long, not forever."""
    from apps.messages.tasks import deliver_messages_task

    deadline = time.monotonic() + timeout
    next_wake = time.monotonic() + (wake_every or timeout)
    while time.monotonic() < deadline:
        assert all(worker.poll() is None for worker in workers), "a worker exited"
        if Message.objects.filter(pk__in=pks, status=Message.Status.SENT).count() == len(pks):
            return
        if wake_every is not None and time.monotonic() >= next_wake:
            deliver_messages_task.delay()
            next_wake = time.monotonic() + wake_every
        time.sleep(0.1)
    left = Message.objects.filter(pk__in=pks).exclude(status=Message.Status.SENT)
    rows = list(left.values_list("pk", "status", "attempts", "next_attempt_at"))
    raise AssertionError(f"not sent within {timeout} s: {rows}")


def warm_up_workers(workers: Sequence[subprocess.Popen], messages: list[Message]) -> None:
    """Every process of `workers` up and connected: `messages` (one or more per process) handed over one task each,
    and sent. On a busy machine starting the processes takes a while: up to 120 s."""
    from apps.messages.tasks import deliver_messages_task

    for message in messages:
        deliver_messages_task.delay([message.pk])
    wait_until_sent(workers, [message.pk for message in messages], timeout=120)


def received_events(hook: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every webhook request the receiver got (status callbacks, inbound events), each checked against its signature."""
    seen = []
    for request in hook.requests:
        signatures.verify(
            secret=secret,
            body=request.body,
            signature=request.headers["X-Signature"],
            timestamp=request.headers["X-Signature-Timestamp"],
        )
        seen.append(json.loads(request.body))
    return seen
