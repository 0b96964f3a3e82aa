"""The API: Django REST framework, simplejwt, drf-spectacular, django-filter, CORS, the browsable API's sign-in."""

from datetime import timedelta
from typing import Any

from config.settings.env import env
from config.settings.security import throttle_rates
from config.settings.service import SERVICE_NAME, SERVICE_VERSION

# --- REST framework -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.users.authentication.CachedUserJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "apps.core.http.renderers.BrowsableAPIRenderer",
    ],
    # Bodies are JSON for API clients (the image upload alone takes multipart); the form parsers read the browsable
    # API's HTML forms from a signed-in browser session only and answer 415 to anyone else (apps/core/http/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.http.parsers.JSONParser",
        "apps.core.http.parsers.BrowserMultiPartParser",
        "apps.core.http.parsers.BrowserFormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.http.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.http.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.http.throttling.AnonRateThrottle",
        "apps.core.http.throttling.UserRateThrottle",
    ],
    # Read in security.py (THROTTLE_RATE_*).
    "DEFAULT_THROTTLE_RATES": throttle_rates,
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    # Our throttles take apps.core.observability.context's address (TRUSTED_PROXIES); DRF's own reads REMOTE_ADDR.
    "NUM_PROXIES": 0,
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_REFRESH_MINUTES", default=60 * 24)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Every sign-in writes last_login, which the password-reset token covers: a sign-in ends every emailed link.
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Every token names who issued it and for whom; one without both, or with others, is refused.
    "ISSUER": env("JWT_ISSUER", default=SERVICE_NAME),
    "AUDIENCE": env("JWT_AUDIENCE", default=SERVICE_NAME),
}
JWT_SIGNING_KEY = env("JWT_SIGNING_KEY", default="")
if JWT_SIGNING_KEY:
    SIMPLE_JWT["SIGNING_KEY"] = JWT_SIGNING_KEY  # otherwise simplejwt signs with the final SECRET_KEY

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Django REST monolith",
    "DESCRIPTION": "Users, catalog and messaging in one Django REST service. The prose reference is `docs/api.md` "
    "in the service's repository; every 4xx body is the `Error` shape. Sign in with `POST /api/v1/auth/login/` and "
    "paste the access token into **Authorize** (bearer).",
    "VERSION": SERVICE_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No "valid" badge: on any host but localhost Swagger UI would send the schema's URL to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The sidecar's bundle, served by apps.core.views.redoc_bundle with its one outside image made inline.
    "REDOC_DIST": "/api/redoc/dist",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema's request bodies: JSON, and multipart where a view lists DRF's own parser (the image upload). The
    # browser-session form parsers are left out: with them every body would be offered in three encodings, and a
    # generated client would send forms the API refuses.
    # Answers are JSON: the HTML page `/` gives a browser (apps.core.views.ServiceHomeRenderer) is no contract.
    "RENDERER_WHITELIST": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    "PARSER_WHITELIST": [
        "apps.core.http.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.http.schema.postprocess_for_generated_clients",
    ],
    # What a delivery receipt reports (apps.messages.receipts.views), named apart from a message's own statuses.
    "ENUM_NAME_OVERRIDES": {
        "ReceiptStatusEnum": ["delivered", "undelivered"],
        # A message's `error_code` is a delivery outcome, not an error answer of the API (those are `Error`).
        "FailureReasonEnum": "apps.messages.backends.errors.ERROR_CODES",
        "OptOutSourceEnum": "apps.messages.models.OptOut.Source",
        # An inbound message's `direction` kept its first name when outbound messages got theirs
        # (MessageDirectionEnum), so a client generated before then still compiles.
        "DirectionEnum": ["inbound"],
    },
}

# The browsable API's sign-in (/api-auth/login/) lands on the caller's own account unless `next` says otherwise.
# No LOGOUT_REDIRECT_URL: the admin's sign-out would follow it too; the browsable API's names its own page.
LOGIN_REDIRECT_URL = "/api/v1/users/me/"

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# Only the API is called from other origins' pages; the probes, the admin and the account pages never answer them.
CORS_URLS_REGEX = r"^/api/"
# Response headers a page on an allowed origin may read beside the safelisted ones: the request id, the ETag its
# next If-Match names, how long to wait after a 429 or 503, a new message's address and a replayed create's mark.
CORS_EXPOSE_HEADERS = ["X-Request-ID", "ETag", "Retry-After", "Location", "Idempotent-Replayed"]
