"""The audit trail: every write through the service is a row of AuditEvent and a line in audit.log."""

import logging
from typing import Any

from django.db import models, transaction
from django_guid import get_guid

from apps.core.models import AuditEvent
from apps.core.observability.context import client_ip

audit_logger = logging.getLogger("audit")


def record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
) -> AuditEvent:
    """Record one write, in the caller's transaction (its log line goes out when that commits). `changes` maps a
    field to `[before, after]`."""
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
    actor_id = getattr(actor, "pk", None) if actor is not None and getattr(actor, "is_authenticated", False) else None
    event = AuditEvent.objects.create(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=_jsonable(changes or {}),
        request_id=get_guid() or "",
        ip_address=client_ip.get(),
    )
    line = {
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "changes": event.changes,
        "ip_address": event.ip_address,
    }
    # With the row: a write that rolls back logs nothing.
    transaction.on_commit(lambda: audit_logger.info(action, extra=line))
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
