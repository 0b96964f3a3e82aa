"""The users app's domain events: one function per event, the one place its payload and priority are written."""

from apps.core.models import OutboxEvent
from apps.core.outbox.events import Priority, publish_event

from .models import User


def _publish(event_type: str, user: User, priority: Priority, **extra: str) -> OutboxEvent:
    payload = {"user_id": user.pk, "account_id": str(user.account_id), **extra}
    return publish_event(event_type, payload, priority=priority, aggregate_type="user", aggregate_id=str(user.pk))


def user_registered(user: User) -> OutboxEvent:
    """A new account, by sign-up or by a first OpenID Connect sign-in."""
    return _publish("user.registered", user, Priority.MEDIUM, email=user.email)


def user_role_changed(user: User, *, old_role: str) -> OutboxEvent:
    return _publish("user.role_changed", user, Priority.HIGH, old_role=old_role, new_role=user.role)


def user_deactivated(user: User) -> OutboxEvent:
    return _publish("user.deactivated", user, Priority.HIGH)


def user_reactivated(user: User) -> OutboxEvent:
    return _publish("user.reactivated", user, Priority.MEDIUM)
