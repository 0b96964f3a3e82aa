from django.conf import settings
from django.db import models

from apps.core.keygen import new_key


class AuditEvent(models.Model):
    """One write through the service: who did what to which object, with the before/after of what changed."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["actor", "-created_at"], name="audit_actor_created_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the change; the relay publishes it to the broker."""

    class Priority(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        CRITICAL = "critical"

    event_id = models.CharField(max_length=26, unique=True, default=new_key, editable=False)
    event_type = models.CharField(max_length=64)
    aggregate_type = models.CharField(max_length=64, blank=True)
    aggregate_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    version = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], name="outbox_pending_idx", condition=models.Q(published_at__isnull=True)),
            models.Index(fields=["published_at"], name="outbox_published_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class CacheVersion(models.Model):
    """The current version of one cache scope (apps.core.cache.versioned). The database owns it, so a write
    replaces it in its own transaction whether the cache answers or not. Versions only grow (see the module)."""

    scope = models.CharField(max_length=100, primary_key=True)
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.scope}@{self.version}"
