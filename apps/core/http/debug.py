"""What Django's debug page (`DEBUG=true` only) may show: no environment, and no credential in any value."""

import os
import re
from collections.abc import ItemsView
from types import FrameType
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

# `scheme://user:password@host`: the part before the host is the credential.
URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
# A secret written inside a string, as JSON settings (OIDC_PROVIDERS) carry them: `"client_secret": "…"`.
QUOTED_SECRET = re.compile(r"""(["'][^"']*(?:secret|password|token|key)[^"']*["']\s*:\s*)["'][^"']*["']""", re.I)
# What the page needs to tell one request from another; the rest of a WSGI environ under runserver is the process
# environment, with every credential the service was started with.
REQUEST_META_KEYS = frozenset(
    {"REQUEST_METHOD", "PATH_INFO", "SCRIPT_NAME", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_ADDR",
     "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.url_scheme"}
)  # fmt: skip


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: credentials inside URLs and JSON strings are starred in every setting, header and
    local variable, and the request's META is its headers and request line only, never the environment."""

    hidden_settings = re.compile("API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL|PRIVATE", re.I)

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        return redact(cleansed) if isinstance(cleansed, str) else cleansed

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        if not hasattr(request, "META"):
            return {}
        return {
            key: self.cleanse_setting(key, value)
            for key, value in request.META.items()
            if key.startswith("HTTP_") or key in REQUEST_META_KEYS
        }

    def get_traceback_frame_variables(self, request: HttpRequest, tb_frame: FrameType) -> ItemsView[str, Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return {name: self._cleanse_variable(request, name, value) for name, value in variables}.items()

    def _cleanse_variable(self, request: HttpRequest, name: str, value: Any) -> Any:
        if value is os.environ:
            return self.cleansed_substitute
        if request is not None and value is getattr(request, "META", None):  # the WSGI handler's `environ`
            return self.get_safe_request_meta(request)
        return self.cleanse_setting(name, value)


def redact(text: str) -> str:
    return QUOTED_SECRET.sub(
        rf"\1\"{SafeExceptionReporterFilter.cleansed_substitute}\"", URL_CREDENTIALS.sub("********@", text)
    )
