"""Settings shared by every environment.

Every value that may differ between machines is read here from the environment (or a `.env` file) through
django-environ; `local.py`, `test.py` and `production.py` only change what differs for their use.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.config import Config as BotoConfig
from csp.constants import NONE, SELF, UNSAFE_INLINE
from kombu import Exchange, Queue

from config.settings.env import BASE_DIR, env

SERVICE_NAME = "django-rest-monolith"
SERVICE_VERSION = "0.1.0"

# Empty here: local.py and test.py then use the random key of this checkout (config/keys.py), production refuses
# to start. No key that is written in the repository ever signs a session, a reset link or a JWT.
SECRET_KEY = env("SECRET_KEY", default="")
# Keys retired by a rotation: still accepted on sessions and reset links signed before it, never used to sign.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "django_guid",
    "django_filters",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.users",
    "apps.products",
    "apps.messages",
]

MIDDLEWARE = [
    "apps.core.metrics.RequestMetricsMiddleware",
    "apps.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.PrebuiltPolicyCSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "apps.core.middleware.PrivateCacheMiddleware",
    # Sessions, authentication and messages run only for requests that can use a session (browser.py).
    "apps.core.browser.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.core.browser.BrowserAuthenticationMiddleware",
    "apps.core.browser.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.JsonApiErrorsMiddleware",
]

# Bytes a request body may have (a view may allow more: the image upload); larger ones get 413 before being read.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# How many reverse proxies in front of the service append to X-Forwarded-For. 0: the header is never read, the
# client is the socket's peer. Throttles, the audit trail and /metrics all take the address resolved from it.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# Where DEBUG is on, its pages show neither the environment nor a credential (apps/core/debug.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "apps.core.debug.RedactingExceptionReporterFilter"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # templates/ overrides a library's template (the browsable API's rest_framework/api.html).
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded database serves parallel clients: WAL lets readers run beside the one writer, IMMEDIATE
    # transactions take the write lock up front (no deadlock on lock upgrade), and the busy timeout makes a
    # writer wait for the lock instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.25)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="drm"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": CACHE_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": CACHE_SOCKET_TIMEOUT,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "drm"}}
# A Redis outage must not break requests: cache reads miss, writes are dropped, throttling fails open; each such
# failure is logged by django-redis (its logger `django_redis.cache`).
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- Auth -----------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
# Empty: the links in emails go to this service's own verification and reset pages, on the host they were asked on.
FRONTEND_URL = env("FRONTEND_URL", default="")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` gathers the admin's and the docs' assets for WhiteNoise to serve.
STATIC_ROOT = env("STATIC_ROOT", default="") or str(BASE_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = env("MEDIA_ROOT", default="") or str(BASE_DIR / "media")
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default="") or None
# Credentials and region: the standard AWS variables; unset keys leave boto3 its default chain (instance role, …).
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_SESSION_TOKEN = env("AWS_SESSION_TOKEN", default="") or None
AWS_REGION_NAME = env("AWS_DEFAULT_REGION", default="") or "us-east-1"
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="") or AWS_REGION_NAME
# The bucket stays private: image URLs are pre-signed and live longer than a cached product read
# (PRODUCTS_CACHE_TTL). A public bucket or a CDN sets AWS_QUERYSTRING_AUTH=false (and AWS_S3_CUSTOM_DOMAIN).
AWS_QUERYSTRING_AUTH = env.bool("AWS_QUERYSTRING_AUTH", default=True)
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=60 * 60 * 6)
AWS_S3_CUSTOM_DOMAIN = env("AWS_S3_CUSTOM_DOMAIN", default="") or None
AWS_S3_ADDRESSING_STYLE = env("AWS_S3_ADDRESSING_STYLE", default="") or None
AWS_S3_FILE_OVERWRITE = False
# Every call to AWS (S3 uploads in a request, SNS publishes in the relay) gives up after these many seconds.
AWS_CONNECT_TIMEOUT = env.float("AWS_CONNECT_TIMEOUT", default=3.0)
AWS_READ_TIMEOUT = env.float("AWS_READ_TIMEOUT", default=10.0)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# django-storages' boto3 client: bounded calls, and Signature Version 4 (every region takes it; v2 is retired).
AWS_S3_CLIENT_CONFIG = BotoConfig(
    connect_timeout=AWS_CONNECT_TIMEOUT,
    read_timeout=AWS_READ_TIMEOUT,
    retries={"mode": "standard", "max_attempts": 3},
    signature_version="s3v4",
    s3={"addressing_style": AWS_S3_ADDRESSING_STYLE},
)
if AWS_STORAGE_BUCKET_NAME:
    # django-storages reads the AWS_* settings above (bucket, endpoint, region, credentials, URL signing).
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}

# --- REST framework -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.users.authentication.CachedUserJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Bodies are JSON only (the image upload alone takes multipart): with form parsers too, the schema offers
    # every body in three encodings, and a generated client sends forms whose booleans the API refuses.
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttling.AnonRateThrottle",
        "apps.core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_RATE_ANON", default="60/min"),
        "user": env("THROTTLE_RATE_USER", default="600/min"),
        "login": env("THROTTLE_RATE_LOGIN", default="10/min"),
        "receipts": env("THROTTLE_RATE_RECEIPTS", default="6000/min"),
    },
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    # Unused by our throttles (they take apps.core.context's address), set for any DRF code that reads it.
    "NUM_PROXIES": NUM_PROXIES,
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
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.schema.postprocess_for_generated_clients",
    ],
    # What a delivery receipt reports (apps.messages.receipt_views), named apart from a message's own statuses.
    "ENUM_NAME_OVERRIDES": {"ReceiptStatusEnum": ["delivered", "undelivered"]},
}

# The browsable API's sign-in (/api-auth/login/) lands on the caller's own account unless `next` says otherwise.
LOGIN_REDIRECT_URL = "/api/v1/users/me/"
LOGOUT_REDIRECT_URL = "/api-auth/login/"

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])

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

# --- Request ids ----------------------------------------------------------------------------------------------
# apps.core.middleware.RequestContextMiddleware resolves each request's id into django-guid's context, where its
# log filter (LOGGING below) and get_guid() read it; django-guid's own middleware is not used.

# --- Metrics --------------------------------------------------------------------------------------------------
# Loopback only unless a deployment names its scraper's network, or gives the scraper a bearer token.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env("METRICS_TOKEN", default="")
PROMETHEUS_EXPORT_MIGRATIONS = False
# prometheus_client's multiprocess mode (gunicorn workers, Celery) writes into this folder from the first metric;
# apps.core makes it when Django starts (management commands run before gunicorn has made it).
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")

# --- Celery ---------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# No broker configured: every task runs in-process, right where it is enqueued (after the commit).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # With a host named: kombu warns "No hostname was supplied" when a bare memory:// connection is described.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Each worker process holds up to 4 unacknowledged tasks, so it never waits for the broker between two short tasks
# (1 left the processes idle between deliveries: about 7 % slower, measured with the bench's delivery case). With
# late acks a task a dead worker held goes back to the queue.
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
# Celery's Django fixup closes the database connection before and after every task unless this is set, and then a
# task spends more time connecting than working. It is set, and config/celery.py closes a connection at task
# boundaries only when Django would between requests (CONN_MAX_AGE passed, or it failed its health check).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish while the broker is down fails fast instead of retrying inside the web request.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "max_retries": 0,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if CELERY_BROKER_URL.startswith("sqs://"):
    # kombu's SQS transport (README, "Celery on SQS"): one SQS queue per Celery queue, named as above.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "region": AWS_REGION_NAME or "us-east-1",
        # Longer than the longest task (CELERY_TASK_TIME_LIMIT) and the longest retry countdown.
        "visibility_timeout": env.int("CELERY_SQS_VISIBILITY_TIMEOUT", default=3600),
        "wait_time_seconds": env.int("CELERY_SQS_WAIT_TIME_SECONDS", default=10),
        "polling_interval": 1,
    }
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
# Prefixes every queue and exchange name (tasks, control, events, domain events): deployments that share a
# RabbitMQ vhost (staging beside production, two test runs) never take each other's tasks.
CELERY_QUEUE_PREFIX = env("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_PREFIX}default"
CELERY_TASK_DEFAULT_EXCHANGE = CELERY_TASK_DEFAULT_QUEUE
CELERY_TASK_DEFAULT_ROUTING_KEY = CELERY_TASK_DEFAULT_QUEUE
CELERY_CONTROL_EXCHANGE = f"{CELERY_QUEUE_PREFIX}celery"
CELERY_EVENT_EXCHANGE = f"{CELERY_QUEUE_PREFIX}celeryev"
CELERY_TASK_QUEUE_MAX_PRIORITY = 10
CELERY_TASK_DEFAULT_PRIORITY = 5
# Every queue supports AMQP priorities; a worker started without -Q (`make worker`, docker-compose) consumes all.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name, queue_arguments={"x-max-priority": CELERY_TASK_QUEUE_MAX_PRIORITY})
    for name in (f"{CELERY_QUEUE_PREFIX}{queue}" for queue in ("critical", "default", "low"))
]
CELERY_TASK_ROUTES = {
    "apps.messages.tasks.*": {"queue": f"{CELERY_QUEUE_PREFIX}critical"},
    "apps.messages.callback_tasks.*": {"queue": f"{CELERY_QUEUE_PREFIX}default"},
    "apps.users.tasks.*": {"queue": f"{CELERY_QUEUE_PREFIX}low"},
    "apps.core.tasks.*": {"queue": f"{CELERY_QUEUE_PREFIX}default"},
}
CELERY_BEAT_SCHEDULE = {
    # The outbox sweeper: publishes whatever the on-commit trigger could not (broker down, worker crash).
    "relay-outbox": {"task": "apps.core.tasks.relay_outbox_task", "schedule": 5.0},
    "prune-outbox": {"task": "apps.core.tasks.prune_outbox_task", "schedule": 60.0 * 60 * 6},
    # Messages accepted while the broker was down stay `queued`; this re-enqueues them once it is back.
    "requeue-stale-messages": {"task": "apps.messages.tasks.requeue_stale_messages_task", "schedule": 30.0},
    # Idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS no longer count; this deletes them.
    "prune-idempotency-keys": {"task": "apps.messages.tasks.prune_idempotency_keys_task", "schedule": 60.0 * 60},
    # Status callbacks whose task was lost (broker down at the status change) or is overdue.
    "sweep-status-callbacks": {"task": "apps.messages.callback_tasks.sweep_status_callbacks_task", "schedule": 30.0},
}

# --- Email ----------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="no-reply@localhost")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Tracing and error reporting (apps/core/tracing.py): each off unless its variable is set ----------------------
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env("OTEL_SERVICE_NAME", default="django-rest-monolith")
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="")

# --- Domain settings ------------------------------------------------------------------------------------------
SMS_BACKEND = env("SMS_BACKEND", default="apps.messages.backends.console.ConsoleBackend")
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
# The gateway signs its delivery receipts with this; empty refuses every receipt (401).
SMS_GATEWAY_RECEIPT_SECRET = env("SMS_GATEWAY_RECEIPT_SECRET", default="")
# Status callbacks: hosts that may be reached over http and at any address (local work, tests; never in production).
CALLBACK_ALLOWED_HOSTS = env.list("CALLBACK_ALLOWED_HOSTS", default=[])
CALLBACK_TIMEOUT_SECONDS = env.float("CALLBACK_TIMEOUT_SECONDS", default=5.0)
# Backoff doubles from this base up to an hour; 30 attempts from 30 s is about a day, then the callback gives up.
CALLBACK_RETRY_BACKOFF_SECONDS = env.float("CALLBACK_RETRY_BACKOFF_SECONDS", default=30.0)
CALLBACK_MAX_ATTEMPTS = env.int("CALLBACK_MAX_ATTEMPTS", default=30)
MESSAGE_MAX_RETRIES = env.int("MESSAGE_MAX_RETRIES", default=5)
# Accepted messages go to the workers in batches of up to this many, each batch's sends in flight at once.
MESSAGE_DELIVERY_BATCH_SIZE = env.int("MESSAGE_DELIVERY_BATCH_SIZE", default=100)
MESSAGE_RETRY_BACKOFF_SECONDS = env.float("MESSAGE_RETRY_BACKOFF_SECONDS", default=2.0)
MESSAGE_REQUEUE_AFTER_SECONDS = env.int("MESSAGE_REQUEUE_AFTER_SECONDS", default=60)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
PRODUCTS_CACHE_TTL = env.int("PRODUCTS_CACHE_TTL", default=300)
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="USD")
EVENTS_BACKEND = env("EVENTS_BACKEND", default="amqp")
EVENTS_EXCHANGE = env("EVENTS_EXCHANGE", default=f"{CELERY_QUEUE_PREFIX}domain-events")
AWS_SNS_TOPIC_ARN = env("AWS_SNS_TOPIC_ARN", default="")
AWS_SNS_ENDPOINT_URL = env("AWS_SNS_ENDPOINT_URL", default="") or None
OIDC_PROVIDERS = env.json("OIDC_PROVIDERS", default=[])
# Seconds a provider's discovery document and keys are kept in the cache, and that one call to a provider may take.
OIDC_DISCOVERY_CACHE_SECONDS = env.int("OIDC_DISCOVERY_CACHE_SECONDS", default=60 * 60)
OIDC_HTTP_TIMEOUT = env.float("OIDC_HTTP_TIMEOUT", default=5.0)

# --- Logging --------------------------------------------------------------------------------------------------
# Logs go to stdout, where the container runtime or systemd collects them. Files only when LOG_DIR names a folder:
# WatchedFileHandler reopens a file that logrotate moved, so every gunicorn and Celery process can write the same
# file safely (a RotatingFileHandler per process would rotate it under the others).
LOG_DIR = env("LOG_DIR", default="")
LOG_LEVEL = env("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env("LOG_FORMAT", default="json")
_log_formatter = "json" if LOG_FORMAT == "json" else "plain"


def _log_file(name: str, **options: str) -> dict[str, object]:
    return {
        "class": "apps.core.logs.FolderWatchedFileHandler",
        "filename": str(Path(LOG_DIR) / name),
        "formatter": "json",
        "filters": ["request_id"],
        **options,
    }


_file_handlers = (
    {
        "app_file": _log_file("app.log"),
        "error_file": _log_file("error.log", level="ERROR"),
        "audit_file": _log_file("audit.log"),
    }
    if LOG_DIR
    else {}
)
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "django_guid.log_filters.CorrelationId", "correlation_id_field": "request_id"},
        "drop_server_socket": {"()": "apps.core.logs.DropServerSocket"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": _log_formatter,
            "filters": ["request_id"],
        },
        **_file_handlers,
    },
    "root": {"handlers": ["console", *(["app_file", "error_file"] if LOG_DIR else [])], "level": LOG_LEVEL},
    "loggers": {
        "audit": {"handlers": ["console", *(["audit_file"] if LOG_DIR else [])], "level": "INFO", "propagate": False},
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # Django logs every 4xx here as a warning: a client hammering a throttled sign-in would write a line per
        # attempt (and pay for it). 4xx answers are counted by status in /metrics; 5xx are still logged.
        "django.request": {"level": "ERROR"},
        "django.server": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
            "filters": ["drop_server_socket"],
        },
        "django_guid": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
    },
}
