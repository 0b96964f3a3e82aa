"""What a client may send and how it is told apart: body limits, proxies, throttle rates, CSP, debug redaction,
sessions."""

import ipaddress
import re

from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from config.settings.env import env
from config.settings.service import SERVICE_NAME

# Bytes a request body may have (a view may allow more: the image upload); larger ones get 413 before being read.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# The reverse proxies (CIDRs) whose X-Forwarded-For and X-Forwarded-Proto are believed, when the socket's peer is
# one of them (apps/core/observability/context.py). Empty: never read, the client is the socket's peer.
try:
    TRUSTED_PROXIES = [str(ipaddress.ip_network(net, strict=False)) for net in env.list("TRUSTED_PROXIES", default=[])]
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES must be comma-separated addresses or CIDRs: {exc}") from exc

# Admin and browsable-API sessions end after this long without a request, a working day (Django's two weeks by
# default). Sliding through django-session-timeout's middleware, which stores the last refresh in the session and
# refreshes it only when more than the grace period has passed: the session row (and its expire_date) is rewritten
# at most once per grace period, not on every request as SESSION_SAVE_EVERY_REQUEST would.
SESSION_COOKIE_AGE = env.int("ADMIN_SESSION_SECONDS", default=8 * 60 * 60)
SESSION_EXPIRE_SECONDS = SESSION_COOKIE_AGE
SESSION_EXPIRE_AFTER_LAST_ACTIVITY = True
SESSION_EXPIRE_AFTER_LAST_ACTIVITY_GRACE_PERIOD = 5 * 60

# Where DEBUG is on, its pages show neither the environment nor a credential (apps/core/http/debug.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "apps.core.http.debug.RedactingExceptionReporterFilter"


# DRF rate strings of the throttles (apps.core.http.throttling, the sign-in's and the receipts'). Lower case: no setting
# of its own, REST_FRAMEWORK (api.py) carries it as DEFAULT_THROTTLE_RATES.
def _rate(name: str, default: str) -> str:
    """A rate as DRF's throttles parse it (requests, a slash, a period starting s, m, h or d), checked at start:
    a malformed one would otherwise fail every request its throttle guards."""
    rate = env(name, default=default)
    if not re.fullmatch(r"[0-9]+/[smhd][a-z]*", rate):
        raise ImproperlyConfigured(f"{name} must be a rate such as 10/min (requests/s, min, hour or day): {rate!r}")
    return rate


throttle_rates = {
    "anon": _rate("THROTTLE_RATE_ANON", "60/min"),
    "user": _rate("THROTTLE_RATE_USER", "600/min"),
    "login": _rate("THROTTLE_RATE_LOGIN", "10/min"),
    "receipts": _rate("THROTTLE_RATE_RECEIPTS", "6000/min"),
}

# --- Second factor (django-otp) ------------------------------------------------------------------------------
# Staff need a TOTP code to use the admin, and one without an authenticator is sent to enrol at sign-in. Off by
# default so `make run`'s first superuser signs in with a password alone; production.py turns it on. Whoever has
# enrolled gives a code either way (admin and API sign-in).
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=False)
# Wrong codes (or passwords to turn 2FA off) per user per window, before 429; django-otp's backoff comes on top.
OTP_THROTTLE_RATE = _rate("THROTTLE_RATE_OTP", "5/min")
# django-otp's own backoff after consecutive wrong codes on a device: 1, 2, 4, … seconds times the factor.
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_TOTP_THROTTLE_FACTOR", default=1)
OTP_STATIC_THROTTLE_FACTOR = OTP_TOTP_THROTTLE_FACTOR
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default=SERVICE_NAME)

# --- Content-Security-Policy (django-csp) ----------------------------------------------------------------------
# On every page: scripts only from this origin, and nothing loaded from anywhere else. The admin, the browsable API
# and both docs pages run under it: Swagger UI gets its init script from a URL of its own (the split view in
# config/urls.py) and ReDoc's page has no inline script and no web fonts (apps/core/templates/docs/redoc.html). They
# still need inline styles, data: images (Swagger UI's icons) and a blob: worker (ReDoc's search).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Cookies, HSTS, the HTTPS redirect and the proxy's scheme header apply to deployments only: production.py.
