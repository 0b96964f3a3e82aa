"""A dependency that cannot be reached: the errors that mean it, the 503 a request gets, the backoff a task takes.

A database outage is not a bug of the request: it answers 503 with `Retry-After` and a body naming the database,
and is logged as one warning line, with no traceback (the traceback would repeat for every request of the outage).
"""

import logging
import random
from typing import Any, TypeVar

from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu.exceptions import OperationalError as BrokerOperationalError
from rest_framework.request import Request

logger = logging.getLogger(__name__)

DATABASE_ERRORS: tuple[type[Exception], ...] = (DatabaseOperationalError, InterfaceError)
OUTAGE_ERRORS: tuple[type[Exception], ...] = (*DATABASE_ERRORS, BrokerOperationalError)
# PostgreSQL's SQLSTATE classes of an unreachable or unwilling server: connection exception, insufficient
# resources, operator intervention (shutdown, cannot connect now, statement timeout).
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
# SQLite's: the file is locked past the busy timeout, or cannot be opened or read.
OUTAGE_SQLITE_ERRORS = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR"})
RETRY_AFTER_SECONDS = 5
OUTAGE_RETRY_MAX_SECONDS = 10.0

ResponseType = TypeVar("ResponseType", bound=HttpResponse)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says a dependency cannot be reached (retry later), not that the work itself is wrong: an
    IntegrityError, a missing table or a deadlock is not an outage."""
    if isinstance(exc, InterfaceError | BrokerOperationalError):
        return True
    if not isinstance(exc, DatabaseOperationalError):
        return False
    driver_error = exc.__cause__
    sqlstate = getattr(driver_error, "sqlstate", None)
    if sqlstate:
        return str(sqlstate)[:2] in OUTAGE_SQLSTATE_CLASSES
    sqlite_error = getattr(driver_error, "sqlite_errorname", None)
    if sqlite_error:
        return str(sqlite_error) in OUTAGE_SQLITE_ERRORS
    return True  # no code at all: the connection itself failed (refused, reset, closed by the server)


DATABASE_UNAVAILABLE_BODY = {
    "detail": "The database is unavailable. Retry shortly.",
    "code": "database_unavailable",
    "service": "database",
}


def database_unavailable(exc: Exception, request: HttpRequest | Request) -> dict[str, Any]:
    """Log the outage once for this request (a warning, no traceback) and give the 503's body and headers."""
    logger.warning("Database unavailable during %s %s: %s", request.method, request.path, str(exc).strip()[:300])
    return {"data": DATABASE_UNAVAILABLE_BODY, "status": 503, "headers": {"Retry-After": str(RETRY_AFTER_SECONDS)}}


def mark_logged(response: ResponseType) -> ResponseType:
    # Django logs every 5xx as an error ("Service Unavailable: ..."); the warning above already says it.
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own flag, read by log_response  # noqa: SLF001 - our own marker on the exception
    return response


def database_unavailable_response(exc: Exception, request: HttpRequest) -> JsonResponse:
    """The 503 for a database outage met outside a DRF view (a middleware, the admin): from the 500 handler."""
    answer = database_unavailable(exc, request)
    return mark_logged(JsonResponse(answer["data"], status=answer["status"], headers=answer["headers"]))


def outage_countdown(retries: int) -> float:
    """Seconds before a task retries after an outage: 1, 2, 4, 8, then every 10 s, each with jitter (half to
    all of it), so the work resumes within seconds of the dependency's return without a thundering herd."""
    ceiling = min(2.0**retries, OUTAGE_RETRY_MAX_SECONDS)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (spreads retries; not a secret)
