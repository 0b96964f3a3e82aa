import copy

from django.db import models
from django.utils import timezone

from apps.core.keygen import KEY_LENGTH, new_key

from .phone import E164_MAX_LENGTH

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


class CallbackSettings(models.Model):
    """An account's status callbacks: the default URL for messages that name none, and the signing secret.

    The secret is kept readable because each callback is signed with it (HMAC); it is shown to the account once,
    when made or rotated."""

    account_id = models.UUIDField(unique=True)
    default_url = models.CharField(max_length=CALLBACK_URL_MAX_LENGTH, blank=True)
    secret = models.CharField(max_length=128, blank=True)
    secret_created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "callback settings"

    def __str__(self) -> str:
        return str(self.account_id)


class StatusCallback(models.Model):
    """One event to POST to its URL: an outbox row written in the transaction of what it reports. Either a status
    change of an outbound `message`, or a complete `inbound` message (exactly one of the two is set).

    Sent at least once, with backoff until it is delivered or given up, in order: a status change waits until every
    earlier row of its message is done, an inbound event until every earlier inbound event of its account is."""

    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        GAVE_UP = "gave_up"

    event_id = models.CharField(max_length=KEY_LENGTH, unique=True, default=new_key, editable=False)
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="status_callbacks", null=True, blank=True
    )
    inbound = models.ForeignKey(
        "InboundMessage", on_delete=models.CASCADE, related_name="callbacks", null=True, blank=True
    )
    url = models.CharField(max_length=CALLBACK_URL_MAX_LENGTH)
    payload = models.JSONField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while an attempt's POST is in flight (claimed, not yet recorded): the account's concurrency limit counts
    # these, and a worker that dies mid-POST leaves a lease that simply expires.
    in_flight_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Small: only what is still to send, for the order check and the sweeper.
            models.Index(fields=["message", "id"], name="cb_pending_message_idx", condition=models.Q(state="pending")),
            models.Index(fields=["inbound", "id"], name="cb_pending_inbound_idx", condition=models.Q(state="pending")),
            models.Index(fields=["next_attempt_at"], name="cb_pending_due_idx", condition=models.Q(state="pending")),
            models.Index(
                fields=["in_flight_until"], name="cb_in_flight_idx", condition=models.Q(in_flight_until__isnull=False)
            ),
            # The retention sweep's rows: inbound events whose payload still holds the text's body.
            models.Index(
                fields=["created_at"],
                name="cb_inbound_body_kept_idx",
                condition=models.Q(inbound__isnull=False) & ~models.Q(payload__body=None),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(message__isnull=False, inbound__isnull=True)
                | models.Q(message__isnull=True, inbound__isnull=False),
                name="cb_message_or_inbound",
            ),
        ]

    def __str__(self) -> str:
        return self.event_id


class StatusCallbackAttempt(models.Model):
    """One POST of a status callback: when, the answer's status code (none: no answer), and what went wrong."""

    callback = models.ForeignKey(StatusCallback, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.callback_id} @ {self.attempted_at.isoformat()}"


class SenderNumber(models.Model):
    """A phone number (E.164) or an alphanumeric sender ID that one account owns: what it may send from, and where
    messages to that number belong. Managed by admins (the admin site, through senders/services.py)."""

    class Kind(models.TextChoices):
        PHONE = "phone"
        ALPHANUMERIC = "alphanumeric"

    account_id = models.UUIDField(db_index=True)
    value = models.CharField(max_length=E164_MAX_LENGTH, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # SMS segments per second from this sender; null: MESSAGE_SENDER_RATE_PER_SECOND.
    rate_per_second = models.FloatField(null=True, blank=True)
    # Where the inbound messages to this number are POSTed; empty: the account's default callback URL, if any.
    inbound_url = models.CharField(max_length=CALLBACK_URL_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=["phone", "alphanumeric"]), name="sender_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(rate_per_second__isnull=True) | models.Q(rate_per_second__gt=0),
                name="sender_rate_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.value


class OptOut(models.Model):
    """A recipient who asked not to get an account's messages: from one of its sender numbers, or from any of them
    (`sender_number` null: account-wide). Written by a keyword the recipient sent (STOP), the account's API or an
    admin, through optouts/services.py; a create to the recipient is refused and a pending message fails."""

    class Source(models.TextChoices):
        KEYWORD = "keyword"
        API = "api"
        ADMIN = "admin"

    account_id = models.UUIDField()
    sender_number = models.CharField(max_length=E164_MAX_LENGTH, null=True, blank=True)
    recipient_number = models.CharField(max_length=E164_MAX_LENGTH)
    source = models.CharField(max_length=8, choices=Source.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The create's check (both scopes of one recipient in one lookup), the list and its filter.
            models.Index(fields=["account_id", "recipient_number"], name="optout_account_recipient_idx"),
        ]
        constraints = [
            # NULL never equals NULL in a unique index: the account-wide row needs a constraint of its own.
            models.UniqueConstraint(
                fields=["account_id", "recipient_number", "sender_number"],
                condition=models.Q(sender_number__isnull=False),
                name="optout_sender_scope_unique",
                violation_error_message="The recipient already opted out of this number.",
            ),
            models.UniqueConstraint(
                fields=["account_id", "recipient_number"],
                condition=models.Q(sender_number__isnull=True),
                name="optout_account_wide_unique",
                violation_error_message="The recipient already opted out of every number of this account.",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=["keyword", "api", "admin"]), name="optout_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_number} from {self.sender_number or 'every sender'}"


class MessagingSettings(models.Model):
    """An account's texts for the service's answers to keywords; empty: the service's default
    (MESSAGE_HELP_TEXT, MESSAGE_STOP_CONFIRMATION_TEXT)."""

    account_id = models.UUIDField(unique=True)
    help_text = models.CharField(max_length=BODY_MAX_LENGTH, blank=True)
    stop_confirmation_text = models.CharField(max_length=BODY_MAX_LENGTH, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "messaging settings"

    def __str__(self) -> str:
        return str(self.account_id)


# The parts one inbound message may arrive in: the concatenation header counts them in one byte.
INBOUND_MAX_PARTS = 255
INBOUND_REFERENCE_MAX_LENGTH = 64
GATEWAY_MESSAGE_ID_MAX_LENGTH = 128


class InboundMessage(models.Model):
    """A text a customer (`from_number`) sent to a number an account owns (`to_number`), received from a gateway.

    Not a `Message`: those rows are the delivery queue (statuses, pacing, the claim's indexes), which an inbound
    text has none of. A text sent in parts (`parts` > 1) is `receiving` until every part arrived (`complete`, the
    parts' bodies joined in order), or `incomplete` once INBOUND_PARTS_TIMEOUT_SECONDS pass without them (the
    received parts joined); a late part still completes it. Reads show `complete` and `incomplete` ones."""

    class Status(models.TextChoices):
        RECEIVING = "receiving"
        COMPLETE = "complete"
        INCOMPLETE = "incomplete"

    # What the reads show: a `receiving` text becomes one of these.
    SHOWN_STATUSES = (Status.COMPLETE, Status.INCOMPLETE)

    message_id = models.CharField(max_length=KEY_LENGTH, unique=True, default=new_key, editable=False)
    account_id = models.UUIDField()
    backend = models.CharField(max_length=BACKEND_NAME_MAX_LENGTH)
    from_number = models.CharField(max_length=E164_MAX_LENGTH)
    to_number = models.CharField(max_length=E164_MAX_LENGTH)
    # Null once redacted (past MESSAGE_BODY_RETENTION_DAYS, apps.messages.retention); `redacted_at` says when.
    body = models.TextField(null=True, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)
    # The gateway's concatenation reference of a text in parts ("" for a text in one).
    reference = models.CharField(max_length=INBOUND_REFERENCE_MAX_LENGTH, blank=True)
    parts = models.PositiveSmallIntegerField(default=1)
    parts_received = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVING)
    received_at = models.DateTimeField(default=timezone.now)  # its first part's arrival
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["account_id", "-received_at", "-id"], name="inbound_account_received_idx"),
            # A conversation: what one customer wrote to the account (search by `from_number`).
            models.Index(fields=["account_id", "from_number", "-received_at", "-id"], name="inbound_account_from_idx"),
            models.Index(fields=["-received_at", "-id"], name="inbound_received_idx"),
            # Small: the texts still waiting for parts, for the sweep that ends them `incomplete`.
            models.Index(fields=["received_at"], name="inbound_receiving_idx", condition=models.Q(status="receiving")),
            # The retention sweep's rows: only bodies still kept, so redacted rows cost it nothing.
            models.Index(fields=["received_at"], name="inbound_body_kept_idx", condition=models.Q(body__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["receiving", "complete", "incomplete"]), name="inbound_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(parts__gte=1, parts__lte=INBOUND_MAX_PARTS), name="inbound_parts_range"
            ),
            # One open set of parts per gateway, sender, number and reference: two of its parts arriving at once
            # cannot start two texts. Gateways reuse references, so a finished set no longer holds its reference.
            models.UniqueConstraint(
                fields=["backend", "from_number", "to_number", "reference", "parts"],
                condition=models.Q(status="receiving"),
                name="inbound_one_open_set",
            ),
        ]

    def __str__(self) -> str:
        return self.message_id


class InboundPart(models.Model):
    """One POST of an inbound text as the gateway sent it: the whole text, or one part of it. Its
    `gateway_message_id` makes a resend a no-op (a gateway resends until it gets a 2xx)."""

    inbound = models.ForeignKey(InboundMessage, on_delete=models.CASCADE, related_name="part_rows")
    backend = models.CharField(max_length=BACKEND_NAME_MAX_LENGTH)
    gateway_message_id = models.CharField(max_length=GATEWAY_MESSAGE_ID_MAX_LENGTH)
    number = models.PositiveSmallIntegerField(default=1)  # its place in the text, from 1
    # Emptied when its text is redacted (the text's `redacted_at` says when).
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["inbound", "number"]
        constraints = [
            models.UniqueConstraint(fields=["backend", "gateway_message_id"], name="inbound_part_gateway_id_unique"),
            models.UniqueConstraint(fields=["inbound", "number"], name="inbound_part_number_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="inbound_part_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.backend}:{self.gateway_message_id}"
