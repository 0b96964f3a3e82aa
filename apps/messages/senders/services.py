"""The numbers and sender IDs accounts own (admin writes, audited), and the rule that an account sends only from
them unless MESSAGES_ALLOW_ANY_SENDER.

Plain `atomic`, not durable, as apps/users/admin_users: the Django admin already wraps each change in its own
transaction."""

from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework import status

from apps.core.exceptions import ApplicationError
from apps.core.observability import audit

from ..models import SenderNumber
from ..sender_rule import InvalidSender, normalize_sender

EDITABLE_FIELDS = ("account_id", "value", "rate_per_second", "inbound_url")


class SenderNotAllowed(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "sender_not_allowed"
    default_detail = "The account does not own this sender number or ID (GET /api/v1/accounts/me/numbers/)."


def require_sender_allowed(*, account_id: UUID, sender_number: str) -> None:
    """Raise SenderNotAllowed unless `account_id` owns `sender_number` (normalised) or any sender is allowed."""
    if settings.MESSAGES_ALLOW_ANY_SENDER:
        return
    if not SenderNumber.objects.filter(account_id=account_id, value=sender_number).exists():
        raise SenderNotAllowed()


def _clean(number: SenderNumber) -> None:
    try:
        number.value, number.kind = normalize_sender(number.value)
    except InvalidSender as exc:
        raise ValidationError({"value": [str(exc)]}) from exc
    number.full_clean()


@transaction.atomic
def sender_number_save(*, number: SenderNumber, by: Any) -> SenderNumber:
    """Add `number` (unsaved) or save the changes made to it: value normalised and its kind derived, audited with
    what changed. Raises ValidationError (a bad value, one another account owns, a rate that is not positive)."""
    before = (
        SenderNumber.objects.filter(pk=number.pk).values(*EDITABLE_FIELDS).first() if number.pk is not None else None
    )
    _clean(number)
    number.save()
    after = {field: getattr(number, field) for field in EDITABLE_FIELDS}
    changes = {
        field: [None if before is None else str(before[field]), str(after[field])]
        for field in EDITABLE_FIELDS
        if before is None or before[field] != after[field]
    }
    audit.record(
        actor=by,
        action="sender_number.created" if before is None else "sender_number.changed",
        target=number,
        changes=changes,
    )
    return number


@transaction.atomic
def sender_number_delete(*, number: SenderNumber, by: Any) -> None:
    """Take a number or sender ID away from its account (audited)."""
    audit.record(
        actor=by,
        action="sender_number.deleted",
        target=number,
        changes={"value": [number.value, None], "account_id": [str(number.account_id), None]},
    )
    number.delete()
