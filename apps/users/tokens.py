"""One-time tokens for the links in emails: Django's signed, timestamped, stateless token generator."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from .models import User

MAX_PK_DIGITS = 18  # a bigint's range; a longer number is no user of ours, and would overflow the query


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """A token that stops working once the user is verified (the hash covers `is_verified`).

    Its own salt keeps a password-reset token from being accepted here, and the other way round.
    """

    key_salt = "apps.users.tokens.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}{user.email}{user.is_verified}{timestamp}"


email_verification_token = EmailVerificationTokenGenerator()
# Django's own: its hash covers the password hash and last login, so a used reset token is invalid.
password_reset_token = default_token_generator


def encode_uid(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def decode_uid(uid: str) -> int | None:
    """The primary key a `uid` stands for, or None when it is not one of ours."""
    try:
        value = force_str(urlsafe_base64_decode(uid))
    except (TypeError, ValueError, UnicodeDecodeError):
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_PK_DIGITS:
        return None
    return int(value)
