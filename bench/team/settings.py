"""What a typical DRF team ships for the same endpoints, served beside the service as the bench's second yardstick.

The textbook stack over the service's own tables, in production shape: simplejwt bearer tokens (the service's
tokens verify here: same key, issuer and audience), IsAuthenticated, UserRateThrottle on Redis, a per-user
`cache_page` on the product list, django-filter with OrderingFilter, and a ModelViewSet create that hands delivery
to Celery with `transaction.on_commit(task.delay)`. Nothing of the service's own code is imported.
"""

import environ

env = environ.Env()

SECRET_KEY = env("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "django_filters",
    "bench.team",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "bench.team.urls"
WSGI_APPLICATION = "bench.team.wsgi.application"
AUTH_USER_MODEL = "team.User"
DATABASES = {"default": {**env.db("DATABASE_URL"), "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}}
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env("REDIS_URL"),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX") + "-team",
    }
}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": "100000000/min"},  # as high as the service's in the bench: counted, never hit
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
}
SIMPLE_JWT = {
    "AUTH_HEADER_TYPES": ("Bearer",),
    "ISSUER": "django-rest-monolith",
    "AUDIENCE": "django-rest-monolith",
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_DEFAULT_QUEUE = "team-bench"
CELERY_TASK_SERIALIZER = "json"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
