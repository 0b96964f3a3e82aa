"""Acceptance: a message is checked, counted into segments, and written `queued` (or `scheduled`) once, however
often its create is retried with the same Idempotency-Key; its delivery is asked for once committed.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from apps.core.exceptions import ApplicationError
from apps.core.observability import audit

from .. import events, metrics
from ..callbacks.services import require_callback_secret
from ..dispatch import request_delivery
from ..encoding import segmentation
from ..models import AutoReply, IdempotencyKey, Message
from ..pagination import forget_account_counts
from ..selectors import inbound_message_of_account, recipient_opted_out
from ..senders.services import require_sender_allowed
from ..verified import require_verified_email
from .idempotency import idempotency_key_cutoff, idempotent_replay, request_fingerprint

logger = logging.getLogger(__name__)

IDEMPOTENCY_PRUNE_BATCH_SIZE = 5000


class RecipientOptedOut(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "recipient_opted_out"
    default_detail = (
        "The recipient opted out of the account's messages from this sender (or from all of them): "
        "GET /api/v1/accounts/me/opt-outs/."
    )


@dataclass(frozen=True)
class MessageCreateResult:
    message: Message
    replayed: bool


class InboundMessageNotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "inbound_message_not_found"
    default_detail = "`in_reply_to` names no inbound message of this account."


class ReplyMismatch(ApplicationError):
    code = "reply_mismatch"
    default_detail = (
        "A reply goes from the number the inbound message was sent to, to the number that sent it: leave "
        "`sender_number` and `receiver_number` out, or give those."
    )


def reply_numbers(
    *, account_id: UUID, in_reply_to: str, sender_number: str | None, receiver_number: str | None
) -> tuple[str, str]:
    """(sender, receiver) of a reply to `account_id`'s inbound message `in_reply_to`: the number it was sent to and
    the number that sent it. Raises InboundMessageNotFound (another account's or unknown) or ReplyMismatch (a
    given number that is not those)."""
    inbound = inbound_message_of_account(account_id=account_id, message_id=in_reply_to)
    if inbound is None:
        raise InboundMessageNotFound()
    if sender_number not in (None, inbound.to_number) or receiver_number not in (None, inbound.from_number):
        raise ReplyMismatch()
    return inbound.to_number, inbound.from_number


def message_create(
    *,
    actor: Any,
    account_id: UUID,
    sender_number: str | None,
    receiver_number: str | None,
    body: str,
    in_reply_to: str = "",
    idempotency_key: str | None = None,
    status_callback: str = "",
    send_at: datetime | None = None,
    validity_period: int | None = None,
    redact_body_after_send: bool = False,
) -> MessageCreateResult:
    """Accept a message as `queued` and enqueue its delivery once committed; with `send_at`, as `scheduled`, claimed
    by the workers once due (`messages_deliver`).

    The body's encoding and SMS segments are counted here; more than MESSAGE_MAX_SEGMENTS raises TooManySegments.
    `validity_period` (seconds, MESSAGE_DEFAULT_VALIDITY_SECONDS when None) sets `expires_at` from `send_at` or now.

    Numbers must already be normalised (see `phone.normalize_phone`). With an `idempotency_key` (scoped to the
    actor's account), a retry of the same request writes nothing and answers the first message as it was
    accepted; the same key with another request raises IdempotencyConflict (acceptance/idempotency.py). A
    `status_callback` URL (checked by the caller) needs the account's callback secret, else CallbackSecretMissing.
    An actor whose email is not verified is refused (EmailNotVerified, 403), a sender the account does not own too
    (SenderNotAllowed, 403) unless MESSAGES_ALLOW_ANY_SENDER, a recipient who opted out of the sender or of the
    account too (RecipientOptedOut, 403), unless the request is the replay of one accepted before the opt-out (its
    message fails at send time instead, as does one whose recipient opts out while its create commits).

    A reply names the inbound message it answers (`in_reply_to`, its `message_id`): the numbers come from it
    (`reply_numbers`); without one, both numbers must be given.
    """
    require_verified_email(user=actor)
    if in_reply_to:
        sender_number, receiver_number = reply_numbers(
            account_id=account_id,
            in_reply_to=in_reply_to,
            sender_number=sender_number,
            receiver_number=receiver_number,
        )
    if sender_number is None or receiver_number is None:
        raise ValueError("A message that answers no inbound message names both numbers.")
    require_sender_allowed(account_id=account_id, sender_number=sender_number)
    fields: dict[str, Any] = {
        "account_id": account_id,
        "sender_number": sender_number,
        "receiver_number": receiver_number,
        "body": body,
    }
    if in_reply_to:
        fields["in_reply_to"] = in_reply_to
    if status_callback:
        require_callback_secret(account_id=account_id)
        fields["status_callback"] = status_callback
    options: dict[str, Any] = {"send_at": send_at, "validity_period": validity_period}
    if redact_body_after_send:
        options["redact_body_after_send"] = True
    if not idempotency_key:
        _require_not_opted_out(fields)
        return MessageCreateResult(
            message=_message_insert(actor=actor, fields=fields | acceptance_fields(body=body, **options)),
            replayed=False,
        )

    key = IdempotencyKey(
        account_id=actor.account_id,
        key=idempotency_key,
        request_fingerprint=request_fingerprint(**fields, **options),
    )
    fields |= acceptance_fields(body=body, **options)
    replay = idempotent_replay(key)
    if replay is not None:
        return MessageCreateResult(message=replay, replayed=True)
    _require_not_opted_out(fields)
    try:
        message = _message_insert(actor=actor, fields=fields, idempotency_key=key)
    except IntegrityError:
        # A concurrent request with the same key committed first (the unique constraint made this one wait for
        # it, then refused): everything here was rolled back, so answer from the winner's row.
        replay = idempotent_replay(key)
        if replay is None:
            raise
        return MessageCreateResult(message=replay, replayed=True)
    return MessageCreateResult(message=message, replayed=False)


def _require_not_opted_out(fields: dict[str, Any]) -> None:
    if recipient_opted_out(
        account_id=fields["account_id"],
        sender_number=fields["sender_number"],
        recipient_number=fields["receiver_number"],
    ):
        raise RecipientOptedOut()


class TooManySegments(ApplicationError):
    code = "too_many_segments"


def acceptance_fields(
    *, body: str, send_at: datetime | None, validity_period: int | None, redact_body_after_send: bool = False
) -> dict[str, Any]:
    """The columns a create computes: encoding and segments (refused past MESSAGE_MAX_SEGMENTS), the schedule and
    the expiry."""
    counted = segmentation(body)
    if counted.segments > settings.MESSAGE_MAX_SEGMENTS:
        raise TooManySegments(
            f"The body takes {counted.segments} SMS segments ({counted.encoding}); the limit is "
            f"{settings.MESSAGE_MAX_SEGMENTS} (MESSAGE_MAX_SEGMENTS)."
        )
    now = timezone.now()
    validity = settings.MESSAGE_DEFAULT_VALIDITY_SECONDS if validity_period is None else validity_period
    fields: dict[str, Any] = {
        "created_at": now,
        "encoding": counted.encoding,
        "segments": counted.segments,
        "validity_period": validity,
        "expires_at": (send_at or now) + timedelta(seconds=validity),
        "redact_body_after_send": redact_body_after_send,
    }
    if send_at is not None:
        fields |= {"status": Message.Status.SCHEDULED, "send_at": send_at, "next_attempt_at": send_at}
    return fields


@transaction.atomic
def auto_reply_create(
    *, account_id: UUID, sender_number: str, receiver_number: str, body: str, reason: AutoReply
) -> Message:
    """Accept the service's own answer to a keyword (the STOP confirmation, the HELP text) as an ordinary queued
    message of the account, in the caller's transaction: counted into segments, paced and delivered like any, sent
    even to a recipient who opted out. A system send: no user to have verified an email, no retried request to
    deduplicate; the sender must still be one the account may send from (SenderNotAllowed)."""
    require_sender_allowed(account_id=account_id, sender_number=sender_number)
    fields = {
        "account_id": account_id,
        "sender_number": sender_number,
        "receiver_number": receiver_number,
        "body": body,
        "auto_reply": reason,
    }
    fields |= acceptance_fields(body=body, send_at=None, validity_period=None)
    return _message_write(actor=None, fields=fields)


@transaction.atomic(durable=True)
def _message_insert(*, actor: Any, fields: dict[str, Any], idempotency_key: IdempotencyKey | None = None) -> Message:
    return _message_write(actor=actor, fields=fields, idempotency_key=idempotency_key)


def _message_write(*, actor: Any, fields: dict[str, Any], idempotency_key: IdempotencyKey | None = None) -> Message:
    message = Message.objects.create(**fields)
    if idempotency_key is not None:
        # The same key past its window (not pruned yet) gives way to this request.
        IdempotencyKey.objects.filter(
            account_id=idempotency_key.account_id, key=idempotency_key.key, created_at__lt=idempotency_key_cutoff()
        ).delete()
        idempotency_key.message = message
        idempotency_key.save(force_insert=True)
    forget_account_counts({message.account_id})
    audit.record(
        actor=actor,
        action="message.created",
        target=message,
        object_id=message.message_id,
        changes={"auto_reply": [None, message.auto_reply]} if message.auto_reply else None,
    )
    events.message_created(message)
    if message.status == Message.Status.QUEUED:  # a scheduled one is claimed once due (beat's wake-up)
        transaction.on_commit(lambda: request_delivery(message.pk))
    transaction.on_commit(metrics.messages_created_total.inc)
    return message


def idempotency_keys_prune(*, batch_size: int = IDEMPOTENCY_PRUNE_BATCH_SIZE) -> int:
    """Delete the keys past their retention window, a batch per statement. Returns how many."""
    deleted = 0
    while True:
        batch = IdempotencyKey.objects.filter(created_at__lt=idempotency_key_cutoff()).values("pk")[:batch_size]
        count, _ = IdempotencyKey.objects.filter(pk__in=batch).delete()
        deleted += count
        if count < batch_size:
            return deleted
