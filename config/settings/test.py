"""The test suite: fast hashing, in-memory email, no debug toolbar of any kind."""

import os
import secrets

from config.keys import LOCAL_KEY_FILE, local_secret_key

# A prefix of its own for every test run (inherited by the servers and workers the tests start), so two runs on
# one broker vhost never take each other's tasks; set before any settings module is imported (celery.py reads it,
# and a value in `.env` does not replace it). conftest deletes its queues.
os.environ.setdefault("CELERY_QUEUE_PREFIX", f"test-{secrets.token_hex(4)}-")

from config.settings.api import REST_FRAMEWORK
from config.settings.base import *  # noqa: F403
from config.settings.base import SECRET_KEY
from config.settings.env import BASE_DIR, env

SECRET_KEY = SECRET_KEY or local_secret_key(BASE_DIR / LOCAL_KEY_FILE)

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "apps.messages.backends.locmem.LocmemBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests that exercise throttling set their own small rates; the rest must not trip over the defaults.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "anon": "100000/min",
        "user": "100000/min",
        "login": "100000/min",
        "receipts": "100000/min",
    },
}
MESSAGE_RETRY_BACKOFF_SECONDS = 0
CALLBACK_RETRY_BACKOFF_SECONDS = 0
CALLBACK_MAX_ATTEMPTS = 4
CALLBACK_TIMEOUT_SECONDS = 2.0
CALLBACK_SEND_IN_PROCESS = True
# Tasks run in-process in tests even when a broker is configured, so a test reads the email or sees the message
# sent right after the request. Tests that need the real broker or a real worker switch this off (see conftest),
# and a worker started by a test gets CELERY_TASK_ALWAYS_EAGER=false.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
