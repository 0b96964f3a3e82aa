"""The emails the users app sends: their subject and body, with a link that carries `uid` and `token`."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string

from .models import User
from .tokens import email_verification_token, encode_uid, password_reset_token


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def link(path: str, user: User, token: str) -> str:
    """A front-end link; the page posts `uid` and `token` back to the matching API endpoint."""
    return f"{settings.FRONTEND_URL.rstrip('/')}/{path}?{urlencode({'uid': encode_uid(user), 'token': token})}"


def verification_email(user: User) -> Email:
    context = {"user": user, "link": link("verify-email", user, email_verification_token.make_token(user))}
    return _render("verify_email", context)


def password_reset_email(user: User) -> Email:
    context = {
        "user": user,
        "link": link("reset-password", user, password_reset_token.make_token(user)),
        "valid_for": _duration(settings.PASSWORD_RESET_TIMEOUT),
    }
    return _render("password_reset", context)


def _render(name: str, context: dict[str, object]) -> Email:
    # Subjects are one line whatever the template's layout: a newline in a header is an error in send_mail.
    subject = " ".join(render_to_string(f"users/emails/{name}_subject.txt", context).split())
    return Email(subject=subject, body=render_to_string(f"users/emails/{name}_body.txt", context))


def _duration(seconds: int) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
