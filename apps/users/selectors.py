from django.db.models import QuerySet

from apps.core.models import AuditEvent

from .models import User


def user_list() -> QuerySet[User]:
    """Every user, active or not, oldest account first."""
    return User.objects.order_by("id")


def user_activity(*, user: User) -> QuerySet[AuditEvent]:
    """What `user` did, newest first (sign-ins, password changes, and every write of theirs in any app)."""
    return AuditEvent.objects.filter(actor=user).order_by("-created_at", "-id")
