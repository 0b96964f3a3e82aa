"""Log files, for deployments that ask for them with LOG_DIR (stdout is the default)."""

from logging.handlers import WatchedFileHandler
from pathlib import Path
from typing import Any


class FolderWatchedFileHandler(WatchedFileHandler):
    """The standard library's WatchedFileHandler (it reopens a file that logrotate moved), making LOG_DIR first:
    the folder is made when logging is configured, not when the settings are imported."""

    def __init__(self, filename: str, *args: Any, **kwargs: Any) -> None:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(filename, *args, **kwargs)
