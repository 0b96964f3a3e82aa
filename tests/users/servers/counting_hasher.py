"""Argon2, with every password check appended as one line to the file PASSWORD_CHECKS_FILE names: the count is
read by the test, across every server process (an O_APPEND write of one line is atomic)."""

import os

from django.contrib.auth.hashers import Argon2PasswordHasher


class CountingArgon2PasswordHasher(Argon2PasswordHasher):
    def verify(self, password: str, encoded: str) -> bool:
        descriptor = os.open(os.environ["PASSWORD_CHECKS_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, f"{os.getpid()}\n".encode())
        finally:
            os.close(descriptor)
        return super().verify(password, encoded)
