"""The local settings with a password hasher that counts its checks, for servers the login-guard tests start."""

from config.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["tests.users.servers.counting_hasher.CountingArgon2PasswordHasher"]
