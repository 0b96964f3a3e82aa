"""What a sender may be: an E.164 phone number, or an alphanumeric sender ID (1 to 11 of `[A-Za-z0-9 ]` with at
least one letter, the GSM networks' limit). An alphanumeric sender is one-way: the receiver cannot answer it.

The one rule for the create, the admin and the search filter. A module of its own beside phone.py, outside the
senders package: the search filter needs it, the search selector imports the filter, and the senders package reads
through the selectors (a cycle import-linter refuses)."""

import re

from .models import SenderNumber
from .phone import InvalidPhoneNumber, normalize_phone

ALPHANUMERIC_MAX_LENGTH = 11
ALPHANUMERIC_PATTERN = rf"^(?=.*[A-Za-z])[A-Za-z0-9 ]{{1,{ALPHANUMERIC_MAX_LENGTH}}}$"
_ALPHANUMERIC = re.compile(ALPHANUMERIC_PATTERN)


class InvalidSender(ValueError):
    """Neither an E.164 number nor an alphanumeric sender ID."""


def normalize_sender(value: str) -> tuple[str, str]:
    """(`value` normalised, its SenderNumber.Kind), or InvalidSender with a message fit for an API user."""
    if _ALPHANUMERIC.fullmatch(value):
        return value, SenderNumber.Kind.ALPHANUMERIC
    try:
        return normalize_phone(value), SenderNumber.Kind.PHONE
    except InvalidPhoneNumber:
        raise InvalidSender(
            "Enter an E.164 phone number ('+' then 8 to 15 digits) or an alphanumeric sender ID (1 to "
            f"{ALPHANUMERIC_MAX_LENGTH} letters, digits and spaces, at least one letter)."
        ) from None
