"""Status callbacks and inbound events: the account's callback URL and secret, the outbox rows sent to it, and
each row's attempts."""

from django.db import models
from django.utils import timezone

from apps.core.keygen import KEY_LENGTH, new_key

from .inbound import InboundMessage
from .outbound import CALLBACK_URL_MAX_LENGTH, Message


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
        InboundMessage, on_delete=models.CASCADE, related_name="callbacks", null=True, blank=True
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
