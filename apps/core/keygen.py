"""Public identifiers: URL-safe, time-ordered, collision-resistant ULIDs, in lowercase Crockford base32.

python-ulid makes them: 48 bits of Unix milliseconds then 80 random bits, counted up within one millisecond so
that the keys one process makes in a row increase. Lowercase sorts the same as its uppercase (digits before
letters either way) and reads better in URLs.
"""

from ulid import ULID

KEY_LENGTH = 26


def new_key() -> str:
    """A 26-character key that sorts after the keys made before it (within one process, in one thread)."""
    return str(ULID()).lower()


def key_timestamp_ms(key: str) -> int:
    """The Unix milliseconds a key was made at."""
    return ULID.from_str(key.upper()).milliseconds
