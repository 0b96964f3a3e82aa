"""Sending messages and choosing where their status callbacks go need a verified email: an unverified sign-up is
anyone's, and both spend the service's reputation (an SMS gateway's, a POST to any URL) on the caller's behalf."""

from typing import Any

from django.conf import settings
from rest_framework import status

from apps.core.exceptions import ApplicationError


class EmailNotVerified(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "email_not_verified"
    default_detail = "Verify your email address first: follow the link in the verification email."


def require_verified_email(*, user: Any) -> None:
    """Raise EmailNotVerified unless `user` has verified their email (or MESSAGES_REQUIRE_VERIFIED_EMAIL is off)."""
    if settings.MESSAGES_REQUIRE_VERIFIED_EMAIL and not getattr(user, "is_verified", False):
        raise EmailNotVerified()
