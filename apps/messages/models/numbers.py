"""What an account sends from and to whom: the numbers and sender IDs it owns, the recipients who opted out, and
its answers to their keywords."""

from django.db import models
from django.utils import timezone

from ..phone import E164_MAX_LENGTH
from .outbound import BODY_MAX_LENGTH, CALLBACK_URL_MAX_LENGTH


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
