"""Public identifiers: URL-safe, time-ordered, collision-resistant (ULID layout, lowercase Crockford base32).

Written here rather than taken from a ULID package because we need monotonic ordering within one millisecond
in one process (python-ulid and friends order only by millisecond), and the whole thing is a few lines.
"""

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase: URL-safe and sorts like the number
_RANDOM_BITS = 80
_lock = threading.Lock()
_last_ms = 0
_last_random = 0

KEY_LENGTH = 26


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_key() -> str:
    """A 26-character key: 48 bits of Unix milliseconds then 80 random bits, increasing within one process."""
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            # Same (or an earlier, after a clock step) millisecond: keep order by counting up the random part.
            now_ms = _last_ms
            random_part = _last_random + 1
            if random_part >= 1 << _RANDOM_BITS:
                now_ms += 1
                random_part = secrets.randbits(_RANDOM_BITS - 1)
        else:
            random_part = secrets.randbits(_RANDOM_BITS - 1)  # headroom so increments rarely overflow
        _last_ms, _last_random = now_ms, random_part
    return _encode((now_ms << _RANDOM_BITS) | random_part, KEY_LENGTH)


def key_timestamp_ms(key: str) -> int:
    """The Unix milliseconds a key was made at."""
    value = 0
    for char in key.lower():
        value = value * 32 + _ALPHABET.index(char)
    return value >> _RANDOM_BITS
