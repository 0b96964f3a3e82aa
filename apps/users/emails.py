"""The emails the users app sends: their subject and body, with a link that carries `uid` and `token`."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from .models import User
from .tokens import email_verification_token, encode_uid, password_reset_token


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def link(path: str, user: User, token: str, *, site: str = "") -> str:
    """The link an email carries. With FRONTEND_URL set, that front end's `/{path}` page, which posts `uid` and
    `token` back to the API; without one, this service's own page (apps/users/browser/pages.py) on `site`, the
    scheme and host the request that caused the email came to (so the port it runs on)."""
    query = urlencode({"uid": encode_uid(user), "token": token})
    if settings.FRONTEND_URL:
        return f"{settings.FRONTEND_URL.rstrip('/')}/{path}?{query}"
    return f"{site.rstrip('/')}{reverse(f'account-{path}')}?{query}"


def verification_email(user: User, *, site: str = "") -> Email:
    token = email_verification_token.make_token(user)
    context = {"user": user, "link": link("verify-email", user, token, site=site)}
    return _render("verify_email", context)


def password_reset_email(user: User, *, site: str = "") -> Email:
    context = {
        "user": user,
        "link": link("reset-password", user, password_reset_token.make_token(user), site=site),
        "valid_for": _duration(settings.PASSWORD_RESET_TIMEOUT),
    }
    return _render("password_reset", context)


def _render(name: str, context: dict[str, object]) -> Email:
    # Subjects are one line whatever the template's layout: a newline in a header is an error in send_mail.
    subject = " ".join(render_to_string(f"users/emails/{name}_subject.txt", context).split())
    return Email(subject=subject, body=render_to_string(f"users/emails/{name}_body.txt", context))


def _duration(seconds: int) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:  # noqa: PLR2004 - seconds in an hour
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
