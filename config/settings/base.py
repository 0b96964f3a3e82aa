"""The core Django settings shared by every environment; each concern's settings are a module of their own.

Every value that may differ between machines is read from the environment (or a `.env` file) through the one
django-environ reader of `env.py`. The modules imported below hold one concern each: `api.py` (DRF, simplejwt,
drf-spectacular, CORS), `celery.py`, `domain.py` (the apps' own settings), `logs.py`, `observability.py` (tracing,
Sentry, metrics), `security.py` (body limits, proxies, throttle rates, CSP), `service.py` (name and version) and
`storage.py` (static, media, S3). `local.py`, `test.py` and `production.py` only change what differs for their use.
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings.api import *  # noqa: F403
from config.settings.celery import *  # noqa: F403
from config.settings.domain import *  # noqa: F403
from config.settings.env import BASE_DIR, env
from config.settings.logs import *  # noqa: F403
from config.settings.observability import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.service import *  # noqa: F403
from config.settings.storage import *  # noqa: F403

# Empty here: local.py and test.py then use the random key of this checkout (config/keys.py), production refuses
# to start. No key that is written in the repository ever signs a session, a reset link or a JWT.
SECRET_KEY = env("SECRET_KEY", default="")
# Keys retired by a rotation: still accepted on sessions and reset links signed before it, never used to sign.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "apps.users.mfa.apps.MfaAdminConfig",  # django.contrib.admin, its site asking staff for a second factor
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
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "apps.core",
    "apps.users",
    "apps.products",
    "apps.messages",
]

MIDDLEWARE = [
    "apps.core.observability.metrics.RequestMetricsMiddleware",
    "apps.core.http.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.http.middleware.PrebuiltPolicyCSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "apps.core.http.middleware.PrivateCacheMiddleware",
    # Sessions, authentication and messages run only for requests that can use a session (browser.py).
    "apps.core.http.browser.BrowserSessionMiddleware",
    # Sliding session expiry (security.py); does nothing where the line above gave the request no session.
    "django_session_timeout.middleware.SessionTimeoutMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.http.middleware.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.core.http.browser.BrowserAuthenticationMiddleware",
    "apps.core.http.browser.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.http.middleware.JsonApiErrorsMiddleware",
]

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
# "pgbouncer" when DATABASE_URL points at PgBouncer in transaction mode (README, "Running a fleet"); empty: direct.
DATABASE_POOLER = env("DATABASE_POOLER", default="")
if DATABASE_POOLER not in {"", "pgbouncer"}:
    raise ImproperlyConfigured(f"DATABASE_POOLER must be empty or 'pgbouncer', not {DATABASE_POOLER!r}")
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
    # PgBouncer in transaction mode hands each transaction to any server connection: a server-side cursor (what
    # QuerySet.iterator() opens outside a transaction) would be looked for on a connection that never declared it.
    if DATABASE_POOLER == "pgbouncer":
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    # The server itself, past any pooler: `migrate_with_lock` takes its session advisory lock and migrates there.
    if env("DATABASE_DIRECT_URL", default=""):
        DATABASES["direct"] = {
            **env.db("DATABASE_DIRECT_URL"),
            "CONN_MAX_AGE": 0,
            "OPTIONS": {"connect_timeout": DATABASES["default"]["OPTIONS"]["connect_timeout"]},
            "TEST": {"MIRROR": "default"},
        }
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
# Every password check of authenticate() (API, admin and browsable API logins) behind the login guard.
AUTHENTICATION_BACKENDS = ["apps.users.login_guard.GuardedModelBackend"]
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

# --- Email ----------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="no-reply@localhost")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Running in a fleet ---------------------------------------------------------------------------------------
# Seconds a stopping gunicorn instance keeps serving while /health/ready/ answers 503, so the balancer takes it out
# of rotation before it stops accepting (config/gunicorn.py reads the same variable).
DRAIN_SECONDS = env.int("DRAIN_SECONDS", default=10)
# Set by config/gunicorn.py for its own workers (a file per instance that exists while it drains); empty elsewhere.
GUNICORN_DRAIN_FILE = env("GUNICORN_DRAIN_FILE", default="")
