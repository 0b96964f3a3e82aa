"""Inbound messages: what customers text to an account's numbers, and the parts they arrive in."""

from django.db import models
from django.utils import timezone

from apps.core.keygen import KEY_LENGTH, new_key

from ..phone import E164_MAX_LENGTH
from .outbound import BACKEND_NAME_MAX_LENGTH

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
