"""Status callbacks: every status change of a message is POSTed, signed, to the URL its account chose.

A status change writes a `StatusCallback` row in its own transaction (the outbox pattern): nothing is lost when
the broker or the receiver is down, and a rolled-back change sends nothing. `callback_sender` delivers the rows,
at least once and in order per message; the beat sweeper picks up rows whose task was lost.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core import audit, safe_http
from apps.core.exceptions import ApplicationError
from apps.core.queueing import enqueue_on_commit, requeue_overdue

from .callback_tasks import send_status_callback_task
from .models import CallbackSettings, Message, StatusCallback

logger = logging.getLogger(__name__)

SWEEP_BATCH_SIZE = 500
DEFAULT_URL_CACHE_SECONDS = 10 * 60
# A pending callback this late is one whose task was lost (or is stuck behind a busy queue): enqueue it again.
SWEEP_GRACE = timedelta(seconds=60)
ERROR_STATUSES = (Message.Status.FAILED, Message.Status.UNDELIVERED)


class CallbackSecretMissing(ApplicationError):
    code = "callback_secret_missing"
    default_detail = (
        "Create the account's callback signing secret first: POST /api/v1/accounts/me/status-callback/secret/."
    )


def check_callback_url(url: str) -> str:
    """`url` if the service may send callbacks to it (see apps.core.safe_http); raises UnsafeDestination."""
    safe_http.resolve(url, allowed_hosts=settings.CALLBACK_ALLOWED_HOSTS)
    return url


def callback_settings_for(*, account_id: UUID) -> CallbackSettings | None:
    return CallbackSettings.objects.filter(account_id=account_id).first()


def _default_url_key(account_id: UUID) -> str:
    return f"callbacks:default-url:{account_id}"


def account_default_url(*, account_id: UUID) -> str:
    """The account's default callback URL ("" for none), from the cache: every status change of every message
    asks, and deliveries are the hot path. A settings change replaces the cached value once it commits."""
    return account_default_urls(account_ids={account_id})[account_id]


def account_default_urls(*, account_ids: set[UUID]) -> dict[UUID, str]:
    """`account_default_url` of each account, in one cache read (and one query for those it misses)."""
    keys = {_default_url_key(account_id): account_id for account_id in account_ids}
    urls = {keys[key]: str(url) for key, url in cache.get_many(list(keys)).items()}
    missing = account_ids - urls.keys()
    if missing:
        stored = dict(CallbackSettings.objects.filter(account_id__in=missing).values_list("account_id", "default_url"))
        for account_id in missing:
            urls[account_id] = stored.get(account_id) or ""
            # `add`: a value a settings change stored meanwhile is newer than this read and stays.
            cache.add(_default_url_key(account_id), urls[account_id], timeout=DEFAULT_URL_CACHE_SECONDS)
    return urls


def require_callback_secret(*, account_id: UUID) -> None:
    """Raise CallbackSecretMissing unless the account can sign callbacks (a message naming a URL needs it)."""
    if not CallbackSettings.objects.filter(account_id=account_id).exclude(secret="").exists():
        raise CallbackSecretMissing()


@dataclass(frozen=True)
class SettingsChange:
    settings: CallbackSettings
    new_secret: str | None  # shown to the caller once, in the answer of the change that made it


@transaction.atomic(durable=True)
def callback_settings_update(*, account_id: UUID, default_url: str, by: Any) -> SettingsChange:
    """Set (or clear, with "") the account's default callback URL; the first setting makes its secret."""
    current, _ = CallbackSettings.objects.select_for_update().get_or_create(account_id=account_id)
    new_secret = _new_secret(current) if default_url and not current.secret else None
    audit.record(
        actor=by,
        action="callbacks.default_url_changed",
        target=current,
        object_id=str(account_id),
        changes={"default_url": [current.default_url, default_url]},
    )
    current.default_url = default_url
    current.save()
    transaction.on_commit(
        lambda: cache.set(_default_url_key(account_id), default_url, timeout=DEFAULT_URL_CACHE_SECONDS)
    )
    return SettingsChange(settings=current, new_secret=new_secret)


@transaction.atomic(durable=True)
def callback_secret_rotate(*, account_id: UUID, by: Any) -> SettingsChange:
    """Replace the account's signing secret (callbacks not yet sent are signed with the new one)."""
    current, _ = CallbackSettings.objects.select_for_update().get_or_create(account_id=account_id)
    new_secret = _new_secret(current)
    current.save()
    audit.record(actor=by, action="callbacks.secret_rotated", target=current, object_id=str(account_id))
    return SettingsChange(settings=current, new_secret=new_secret)


def _new_secret(current: CallbackSettings) -> str:
    current.secret = f"whsec_{secrets.token_urlsafe(32)}"
    current.secret_created_at = timezone.now()
    return current.secret


def record_status_change(message: Message) -> StatusCallback | None:
    """Write the callback of `message`'s new status in the caller's transaction; sent once it commits.

    The URL is the message's `status_callback`, else the account's default at the time of the change."""
    (callback,) = record_status_changes([message])
    return callback


def record_status_changes(messages: list[Message]) -> list[StatusCallback | None]:
    """`record_status_change` for each of `messages` (a batch's deliveries): one cache read for the accounts'
    default URLs, one INSERT."""
    defaults = account_default_urls(account_ids={m.account_id for m in messages if not m.status_callback})
    callbacks: list[StatusCallback | None] = []
    for message in messages:
        url = message.status_callback or defaults[message.account_id]
        callbacks.append(_status_callback(message, url) if url else None)
    written = [callback for callback in callbacks if callback is not None]
    if len(written) == 1:
        written[0].save(force_insert=True)
    elif written:
        StatusCallback.objects.bulk_create(written)
    for callback in written:
        enqueue_on_commit(send_status_callback_task, callback.pk)
    return callbacks


def _status_callback(message: Message, url: str) -> StatusCallback:
    callback = StatusCallback(message=message, url=url, payload={})
    callback.payload = {
        "event_id": callback.event_id,
        "message_id": message.message_id,
        "status": message.status,
        "attempts": message.attempts,
        "error": (message.last_error or None) if message.status in ERROR_STATUSES else None,
        "time": timezone.now().isoformat().replace("+00:00", "Z"),
    }
    return callback


@transaction.atomic(durable=True)
def status_callback_resend(*, callbacks: QuerySet[StatusCallback], by: Any) -> int:
    """Send these callbacks again with a fresh retry schedule (a staff action, audited). Returns how many."""
    now = timezone.now()
    chosen = list(callbacks.select_for_update().order_by("pk"))
    for callback in chosen:
        callback.state = StatusCallback.State.PENDING
        callback.attempts = 0
        callback.next_attempt_at = now
        callback.finished_at = None
        callback.save(update_fields=["state", "attempts", "next_attempt_at", "finished_at"])
        audit.record(actor=by, action="callbacks.resent", target=callback, object_id=callback.event_id)
        enqueue_on_commit(send_status_callback_task, callback.pk)
    return len(chosen)


@transaction.atomic(durable=True)
def status_callbacks_requeue_due(*, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Enqueue pending callbacks that are overdue by SWEEP_GRACE (their task was lost). Returns how many.

    A duplicate task is harmless: the sender locks the row and sends only a pending one whose turn it is."""
    return requeue_overdue(
        StatusCallback.objects.filter(state=StatusCallback.State.PENDING),
        overdue_before=timezone.now() - SWEEP_GRACE,
        task=send_status_callback_task,
        batch_size=batch_size,
        what="overdue status callbacks",
    )
