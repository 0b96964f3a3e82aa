"""Deployments. Refuses to start without ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL or a random SECRET_KEY of its
own; passes `check --deploy` cleanly."""

import ipaddress

from django.core.exceptions import ImproperlyConfigured

from config.keys import refuse_unsafe_key
from config.settings.api import JWT_SIGNING_KEY
from config.settings.base import *  # noqa: F403
from config.settings.base import REDIS_URL, SECRET_KEY_FALLBACKS
from config.settings.celery import CELERY_BROKER_URL
from config.settings.env import BASE_DIR, env
from config.settings.security import TRUSTED_PROXIES
from config.settings.storage import MEDIA_SINGLE_HOST, STORAGES

# No defaults here on purpose: a deployment that forgot them must not start with the local values.
SECRET_KEY = env.str("SECRET_KEY")
refuse_unsafe_key("SECRET_KEY", SECRET_KEY, repository=BASE_DIR)
for _fallback in SECRET_KEY_FALLBACKS:
    refuse_unsafe_key("SECRET_KEY_FALLBACKS", _fallback, repository=BASE_DIR)
if JWT_SIGNING_KEY:
    refuse_unsafe_key("JWT_SIGNING_KEY", JWT_SIGNING_KEY, repository=BASE_DIR)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set the ALLOWED_HOSTS environment variable")
# A wildcard takes any Host header, and the emails' links are built from it when FRONTEND_URL is unset: a reset asked
# for with a host of an attacker's choosing would mail the account's owner a link that hands its token to that host.
if "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS may not be '*': list the host names the service answers to")
DEBUG = False
# Unset, they fall back to an SQLite file and to running every task inside the request; a deployment must not.
for _name in ("DATABASE_URL", "CELERY_BROKER_URL"):
    if not env.str(_name):
        raise ImproperlyConfigured(f"Set the {_name} environment variable")
if CELERY_BROKER_URL.startswith("memory://"):  # an in-process queue that no worker reads: every task is lost
    raise ImproperlyConfigured("CELERY_BROKER_URL must name a real broker, not memory://")

# Throttle counters, the user cache and the catalog cache must be one for every process: with an in-process cache
# and several gunicorn workers the login limit multiplies and a deactivated user stays signed in on the others.
if not REDIS_URL and env.int("GUNICORN_WORKERS", default=2) > 1:
    raise ImproperlyConfigured("Set REDIS_URL: an in-process cache is not shared between GUNICORN_WORKERS > 1")

# Accounts send only from the numbers and sender IDs they own (README: a newcomer's `make run` allows any).
MESSAGES_ALLOW_ANY_SENDER = env.bool("MESSAGES_ALLOW_ANY_SENDER", default=False)

# The admin is the most powerful door: staff sign in with a second factor (enrolment at first sign-in).
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=True)

# Uploads written to one host's disk are missing on every other host of a fleet (and its image URLs 404 there).
if STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage" and not MEDIA_SINGLE_HOST:
    raise ImproperlyConfigured(
        "Media on the local filesystem is not shared between hosts: set AWS_STORAGE_BUCKET_NAME (S3), "
        "or MEDIA_SINGLE_HOST=true when this service runs on one host only"
    )

# A proxy network holding every address would let any client write its own X-Forwarded-For: every per-address
# limit (sign-in, links, the anonymous rate) would count whatever address the client chose.
if any(ipaddress.ip_network(net).prefixlen == 0 for net in TRUSTED_PROXIES):
    raise ImproperlyConfigured("TRUSTED_PROXIES may not hold every address (/0): list the balancers' networks")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The load balancer probes health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# No script of ours reads it (the admin's forms, the browsable API and Swagger UI take the token from the page), so
# none injected into a page may either.
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
