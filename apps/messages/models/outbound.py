"""Outbound messages: the delivery queue's rows (`Message`) and the keys that make a create idempotent."""

import copy

from django.db import models
from django.utils import timezone

from apps.core.keygen import KEY_LENGTH, new_key

from ..phone import E164_MAX_LENGTH

BODY_MAX_LENGTH = 1600
CALLBACK_URL_MAX_LENGTH = 2000
IDEMPOTENCY_KEY_MAX_LENGTH = 255
BACKEND_NAME_MAX_LENGTH = 64
# How much of an error text (a gateway's, a receiver's) a row keeps.
ERROR_TEXT_MAX_LENGTH = 1000
# The longest validity period a create may ask for (seconds): 10 hours.
VALIDITY_MAX_SECONDS = 36_000
VALIDITY_MIN_SECONDS = 60


class AutoReply(models.TextChoices):
    STOP_CONFIRMATION = "stop_confirmation"
    HELP = "help"


class Message(models.Model):
    """An SMS-like text accepted for an account and delivered in the background.

    `status` only moves forward (`scheduled` → `queued` when its `send_at` comes, `queued` → `sent` or `failed`,
    then `sent` → `delivered` or `undelivered` when the gateway's delivery receipt says so; `scheduled` or a
    never-attempted `queued` → `canceled`; `scheduled` or `queued` → `expired` past `expires_at`); the services
    enforce it under a row lock. The one way back is a staff retry of a failed message (admin action), which is
    audited.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        FAILED = "failed"
        DELIVERED = "delivered"
        UNDELIVERED = "undelivered"
        SCHEDULED = "scheduled"
        CANCELED = "canceled"
        EXPIRED = "expired"

    class Encoding(models.TextChoices):
        GSM_7 = "GSM-7"
        UCS_2 = "UCS-2"

    # Not waiting to be sent any more: a body may be redacted from here on.
    FINAL_STATUSES = (
        Status.SENT,
        Status.FAILED,
        Status.DELIVERED,
        Status.UNDELIVERED,
        Status.EXPIRED,
        Status.CANCELED,
    )
    # Waiting for a first or a later attempt: what a claim, a cancel and the expiry sweep look at.
    PENDING_STATUSES = (Status.QUEUED, Status.SCHEDULED)

    message_id = models.CharField(max_length=KEY_LENGTH, unique=True, default=new_key, editable=False)
    # Indexed through the composite indexes below, each of which starts with it.
    account_id = models.UUIDField()
    sender_number = models.CharField(max_length=E164_MAX_LENGTH)
    receiver_number = models.CharField(max_length=E164_MAX_LENGTH)
    # Null once redacted (retention, or `redact_body_after_send`); `redacted_at` says when.
    body = models.CharField(max_length=BODY_MAX_LENGTH, null=True, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)
    redact_body_after_send = models.BooleanField(default=False)
    encoding = models.CharField(max_length=5, choices=Encoding.choices, default=Encoding.GSM_7)
    segments = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # The internal text of the last failure (the admin and logs); `error_code` is what the account sees of it.
    last_error = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    # Where its status changes are POSTed (apps.messages.callbacks.services); empty: the account's default, if any.
    status_callback = models.CharField(max_length=CALLBACK_URL_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the next delivery attempt is due; the stale-message sweeper re-enqueues queued rows long past it.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # When a scheduled message is due (null: at once).
    send_at = models.DateTimeField(null=True, blank=True)
    # Seconds after `send_at` (or `created_at`) that it may still be handed to the gateway; null: no limit (rows
    # accepted before validity periods existed).
    validity_period = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The name of the gateway (settings.SMS_BACKENDS) that took the message, or may have (it timed out): its
    # retries go back there and its receipts come from there. Empty until then.
    backend = models.CharField(max_length=BACKEND_NAME_MAX_LENGTH, blank=True)
    # Set on the service's own answers to a keyword (apps.messages.optouts): they go out even to a recipient who
    # opted out, since the STOP confirmation is sent to just such a recipient. Empty for every message an account
    # created.
    auto_reply = models.CharField(max_length=20, choices=AutoReply.choices, blank=True)
    # The `message_id` of the InboundMessage this answers ("" for none). Its public id rather than a foreign key:
    # every message read takes plain columns (`MESSAGE_COLUMNS`), and a join there would cost each list page.
    in_reply_to = models.CharField(max_length=KEY_LENGTH, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account_id", "-created_at", "-id"], name="msg_account_created_idx"),
            models.Index(fields=["account_id", "sender_number", "-created_at", "-id"], name="msg_account_sender_idx"),
            models.Index(
                fields=["account_id", "receiver_number", "-created_at", "-id"], name="msg_account_receiver_idx"
            ),
            # The admin's list of every account, newest first.
            models.Index(fields=["-created_at", "-id"], name="msg_created_idx"),
            # Small: only rows still to send, for the claim (scheduled ones once due) and the stale-message sweeper.
            models.Index(
                fields=["next_attempt_at"],
                name="msg_queued_due_idx",
                condition=models.Q(status__in=["queued", "scheduled"]),
            ),
            # Small: the expiry sweep's rows.
            models.Index(
                fields=["expires_at"],
                name="msg_pending_expiry_idx",
                condition=models.Q(status__in=["queued", "scheduled"], expires_at__isnull=False),
            ),
            # The retention sweep's rows: only bodies still kept, so redacted rows cost it nothing.
            models.Index(fields=["created_at"], name="msg_body_kept_idx", condition=models.Q(body__isnull=False)),
            models.Index(
                fields=["id"],
                name="msg_redact_after_send_idx",
                condition=models.Q(redact_body_after_send=True, body__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        "queued",
                        "sent",
                        "failed",
                        "delivered",
                        "undelivered",
                        "scheduled",
                        "canceled",
                        "expired",
                    ]
                ),
                name="msg_status_valid",
            ),
            models.CheckConstraint(condition=~models.Q(body=""), name="msg_body_not_empty"),
        ]

    def __str__(self) -> str:
        return self.message_id

    def as_created(self) -> "Message":
        """An unsaved copy as it was when accepted: what the first create answer showed (idempotent replays)."""
        snapshot = copy.copy(self)
        snapshot.status = self.Status.SCHEDULED if self.send_at is not None else self.Status.QUEUED
        snapshot.attempts = 0
        snapshot.sent_at = None
        snapshot.provider_message_id = ""
        snapshot.last_error = ""
        snapshot.backend = ""
        return snapshot


class IdempotencyKey(models.Model):
    """A create request's `Idempotency-Key`, per caller account, with a fingerprint of the body it came with."""

    account_id = models.UUIDField()
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    request_fingerprint = models.CharField(max_length=64)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "key"], name="msg_idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="msg_idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.key}"
