"""Log files, for deployments that ask for them with LOG_DIR (stdout is the default), and the filters of the log
configuration."""

import logging
from logging.handlers import WatchedFileHandler
from pathlib import Path
from typing import Any

from django.http import HttpRequest


class FolderWatchedFileHandler(WatchedFileHandler):
    """The standard library's WatchedFileHandler (it reopens a file that logrotate moved), making LOG_DIR first:
    the folder is made when logging is configured, not when the settings are imported."""

    def __init__(self, filename: str, *args: Any, **kwargs: Any) -> None:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(filename, *args, **kwargs)


class DropServerSocket(logging.Filter):
    """runserver's `django.server` lines carry the connection's socket as `request`; a JSON line would print its
    repr (addresses, file descriptor). The message already names the method, path and status."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(getattr(record, "request", None), HttpRequest):
            record.__dict__.pop("request", None)
        return True
