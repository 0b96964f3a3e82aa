"""Domain errors and the one DRF exception handler that maps every error to API.md's JSON shapes."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_guid import get_guid
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler, set_rollback

from .outages import DATABASE_ERRORS, database_unavailable, is_outage, mark_logged

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A broken domain rule. Subclasses carry their HTTP status and a stable machine-readable code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "application_error"
    default_detail: str = "The request breaks a rule of the service."

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        super().__init__(self.detail)


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_detail = "The request conflicts with the current state."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_ERRORS) and is_outage(exc):
        return mark_logged(Response(**database_unavailable(exc, context["request"])))
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response({"detail": exc.detail, "code": exc.code, **exc.extra}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is not None:
        return response

    set_rollback()
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
    return Response(
        {"detail": "Internal server error.", "request_id": get_guid()},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
