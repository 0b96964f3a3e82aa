"""The one phone-number normaliser, shared by the create serializer and the search filters.

Written here rather than taken from `phonenumbers`: the contract asks for a syntactic E.164 check only (`+` and
8 to 15 digits after stripping punctuation), not per-country numbering plans that would reject test numbers.
"""

import re

MIN_DIGITS = 8
MAX_DIGITS = 15
E164_MAX_LENGTH = MAX_DIGITS + 1

_PUNCTUATION = re.compile(r"[\s\-.()\[\]]")
_E164 = re.compile(rf"\+[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}")


class InvalidPhoneNumber(ValueError):
    """The value is not an E.164 number, even after stripping spaces, dashes, dots and brackets."""


def normalize_phone(value: str) -> str:
    """`value` in E.164 (`+15551234567`), or InvalidPhoneNumber with a message fit for an API user."""
    candidate = _PUNCTUATION.sub("", value)
    if not _E164.fullmatch(candidate):
        raise InvalidPhoneNumber(
            f"Enter a phone number in E.164 form: '+' then {MIN_DIGITS} to {MAX_DIGITS} digits "
            "(spaces, dashes, dots and brackets are ignored)."
        )
    return candidate
