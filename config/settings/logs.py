"""LOGGING: JSON lines on stdout, and files for logrotate in LOG_DIR; every line carries its request's id."""

from pathlib import Path
from typing import Any

from config.settings.env import env

# apps.core.http.middleware.RequestContextMiddleware resolves each request's id into django-guid's context, where its
# log filter (`request_id` in LOGGING below) and get_guid() read it; django-guid's own middleware is not used.

# Logs go to stdout, where the container runtime or systemd collects them. Files only when LOG_DIR names a folder:
# WatchedFileHandler reopens a file that logrotate moved, so every gunicorn and Celery process can write the same
# file safely (a RotatingFileHandler per process would rotate it under the others).
LOG_DIR = env("LOG_DIR", default="")
LOG_LEVEL = env("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env("LOG_FORMAT", default="json")
_log_formatter = "json" if LOG_FORMAT == "json" else "plain"


def _log_file(name: str, **options: str) -> dict[str, object]:
    return {
        "class": "apps.core.observability.logs.FolderWatchedFileHandler",
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
        "drop_server_socket": {"()": "apps.core.observability.logs.DropServerSocket"},
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
