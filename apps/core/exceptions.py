"""Domain errors and the one DRF exception handler, built on DRF's own `exception_handler`.

Every 4xx body has one shape (the `Error` component of the schema): `{"detail", "code"}` for a broken rule or a
refused request, field name → list of messages for invalid input (`non_field_errors` where no field is to blame).
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_guid import get_guid
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler, set_rollback

from apps.core.background.outages import DATABASE_ERRORS, database_unavailable, is_outage, mark_logged

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A broken domain rule. Subclasses carry their HTTP status and a stable machine-readable code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "application_error"
    default_detail: str = "The request breaks a rule of the service."
    wait: int | None = None  # seconds, answered as `Retry-After` (a 429 or 503 that knows when to come back)

    def __init__(self, detail: str | None = None, *, extra: dict[str, str] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        super().__init__(self.detail)


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_detail = "The request conflicts with the current state."


class DomainAPIException(exceptions.APIException):
    """An ApplicationError as DRF's handler expects it: its status, and `{"detail", "code", **extra}`."""

    auth_header: str | None = None

    def __init__(self, error: ApplicationError) -> None:
        self.status_code = error.status_code
        self.wait = error.wait  # DRF's handler turns it into Retry-After
        super().__init__({"detail": error.detail, "code": error.code, **error.extra})


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_ERRORS) and is_outage(exc):
        return mark_logged(Response(**database_unavailable(exc, context["request"])))
    if isinstance(exc, ApplicationError):
        exc = _from_application_error(exc, context)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError("Too many fields in the query string or the form.")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()

    # DRF's handler sets WWW-Authenticate and Retry-After from the exception and marks the transaction for rollback.
    response = exception_handler(exc, context)
    if response is not None:
        _add_code(response, exc)
        return response

    set_rollback()
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
    return Response(
        {"detail": "Internal server error.", "code": "server_error", "request_id": get_guid()},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _add_code(response: Response, exc: Exception) -> None:
    """DRF answers `{"detail"}` alone for its own refusals (401, 403, 404, 405, 406, 415, 429): every refusal carries
    its stable code too, the exception's own (`not_authenticated`, `not_found`, `unsupported_media_type`, ...)."""
    data = response.data
    if isinstance(exc, exceptions.APIException) and isinstance(data, dict) and "detail" in data and "code" not in data:
        codes = exc.get_codes()
        if isinstance(codes, str):
            data["code"] = codes


def _from_application_error(error: ApplicationError, context: dict[str, Any]) -> DomainAPIException:
    exc = DomainAPIException(error)
    view, request = context.get("view"), context.get("request")
    if error.status_code == status.HTTP_401_UNAUTHORIZED and view is not None and request is not None:
        # APIView.handle_exception only sets this for DRF's own authentication errors; a 401 must always carry it.
        exc.auth_header = view.get_authenticate_header(request)
    return exc
