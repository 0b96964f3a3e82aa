"""Signing keys: a random key of this checkout for local work, and the rules a deployment's keys must pass.

No key that appears in the repository may sign anything: every copy of the code would share it, so anyone could
forge a session or an admin's JWT with it.
"""

import contextlib
import hashlib
import math
import os
import secrets
import tempfile
import zlib
from collections import Counter
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

LOCAL_KEY_FILE = ".secret_key"
MIN_KEY_LENGTH = 50
MIN_KEY_BITS = 128  # the key's characters, counted by how evenly they spread (Shannon entropy times length)
MIN_COMPRESSED_RATIO = 0.8  # a random key does not compress; a repeated pattern does
# SHA-256 of the keys earlier versions of the repository shipped (kept as hashes, so they appear nowhere in it).
RETIRED_KEY_HASHES = frozenset(
    {
        "cf1ce4d1989e0698159c469a3b9eda1998fee7214e417cd3b35fc644778f3929",  # settings/base.py's default
        "f3c05508601911c06e1e16386a97c369d3b56ef20178280d5b3d683e4be9b146",  # docker-compose.yml's fallback
        "5f99546d244167b47fa565e66b6c1c68445e887734b12df08645a644710e8580",  # the Dockerfile's build-time key
        "c15df69285fb5c7add7f8b70d9e2de4a6c06be5dd34c89f2fed4472fcddd4733",  # the tests' production key
        "015b54234f0ade74784dcc1b38405bc6ad92d867738dc0e0dabdb59fd460b159",  # the bench's key
    }
)
# Where a scan of the checkout does not look: installed packages, caches, runtime data, and the two files that hold
# this machine's own keys (neither is in the repository).
SKIPPED_DIRECTORIES = frozenset(
    {".git", ".venv", "venv", "node_modules", "__pycache__", "media", "logs", "staticfiles", "htmlcov", "results"}
)
SKIPPED_FILES = frozenset({".env", LOCAL_KEY_FILE})
MAX_SCANNED_FILE_BYTES = 2 * 1024 * 1024


def new_key() -> str:
    return secrets.token_urlsafe(50)


def local_secret_key(path: Path) -> str:
    """The key of this checkout: made at random on first use and kept in `path` (git-ignored), so sessions and
    tokens survive a restart of `make run`."""
    key = _read_key(path)
    if key:
        return key
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(new_key() + "\n")
        with contextlib.suppress(FileExistsError):  # another process made the file first: use its key
            os.link(temporary, path)  # atomic: the file appears whole or not at all
    finally:
        os.unlink(temporary)
    return _read_key(path)


def _read_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def refuse_unsafe_key(name: str, key: str, *, repository: Path) -> None:
    """Raise ImproperlyConfigured unless `key` is long, random-looking and found nowhere in the repository."""
    advice = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    if len(key) < MIN_KEY_LENGTH:
        raise ImproperlyConfigured(f"{name} must be at least {MIN_KEY_LENGTH} characters; {advice}")
    if key.startswith("django-insecure-") or not looks_random(key):
        raise ImproperlyConfigured(f"{name} is too uniform to be a random key; {advice}")
    if hashlib.sha256(key.encode()).hexdigest() in RETIRED_KEY_HASHES:
        raise ImproperlyConfigured(f"{name} is a key an earlier version of the repository shipped; {advice}")
    found = file_containing(key, repository)
    if found is not None:
        raise ImproperlyConfigured(
            f"{name} appears in the repository ({found.name}), so anyone can sign with it; {advice}"
        )


def looks_random(key: str) -> bool:
    counts = Counter(key)
    bits = -sum(count * math.log2(count / len(key)) for count in counts.values())
    compressed = len(zlib.compress(key.encode(), 9))
    return bits >= MIN_KEY_BITS and compressed >= MIN_COMPRESSED_RATIO * len(key.encode())


def file_containing(key: str, repository: Path) -> Path | None:
    """The first file of the checkout whose text contains `key`, if any."""
    needle = key.encode()
    for folder, directories, files in os.walk(repository):
        directories[:] = [
            name for name in directories if name not in SKIPPED_DIRECTORIES and not name.endswith("_cache")
        ]
        for name in files:
            if name in SKIPPED_FILES:
                continue
            path = Path(folder) / name
            try:
                if path.stat().st_size > MAX_SCANNED_FILE_BYTES:
                    continue
                if needle in path.read_bytes():
                    return path
            except OSError:
                continue
    return None
