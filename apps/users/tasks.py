"""Background emails. Each task takes a user id, reloads the user, and sends with Django's email API.

A failed send (SMTP down, a provider's API error) is retried with exponential backoff, up to five times.
Running a task twice is harmless: the verification email is skipped once the user is verified, and every reset
email carries a fresh token that the first password change invalidates.
"""

import logging
from typing import Any

from celery import shared_task
from django.core.mail import send_mail

logger = logging.getLogger(__name__)

EMAIL_RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
    "ignore_result": True,
}


@shared_task(**EMAIL_RETRY)
def send_verification_email_task(user_id: int, site: str = "") -> bool:
    """Send the email-verification link to an active, not yet verified user. Returns whether it was sent."""
    from .emails import verification_email
    from .models import User

    user = User.objects.filter(pk=user_id, is_active=True, is_verified=False).first()
    if user is None:
        logger.info("Verification email for user %s skipped: gone, inactive or already verified", user_id)
        return False
    email = verification_email(user, site=site)
    send_mail(email.subject, email.body, None, [user.email])
    return True


@shared_task(**EMAIL_RETRY)
def send_password_reset_email_task(user_id: int, site: str = "") -> bool:
    """Send a password-reset link to an active user, also one without a usable password (an OpenID Connect link
    cleared it): the link is how they get one back. Returns whether it was sent."""
    from .emails import password_reset_email
    from .models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        logger.info("Password reset email for user %s skipped: gone or inactive", user_id)
        return False
    email = password_reset_email(user, site=site)
    send_mail(email.subject, email.body, None, [user.email])
    return True
