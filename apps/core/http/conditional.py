"""Conditional requests (RFC 9110 §13): `ETag`, `If-None-Match` → 304 on reads, `If-Match` → 412 on writes.

Django's own helpers parse the headers (`parse_etags`, `quote_etag`) and tag whole bodies
(`ConditionalGetMiddleware`); this module adds tags computed before any query (from a cache version) and the
precondition error the services raise under their row lock.
"""

import hashlib
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotModified
from django.middleware.http import ConditionalGetMiddleware
from django.utils.decorators import decorator_from_middleware
from django.utils.http import parse_etags, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status

from apps.core.exceptions import ApplicationError
from apps.core.http.schema import ERROR

View = Callable[..., HttpResponseBase]

# Django's middleware as a view decorator: it tags the rendered body (a hash of it) and answers 304 to a
# matching If-None-Match. For reads with no cheaper version than their own body.
conditional_get: Callable[[View], View] = decorator_from_middleware(ConditionalGetMiddleware)


class PreconditionFailed(ApplicationError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    code = "precondition_failed"
    default_detail = "The resource changed since it was read (If-Match does not match its current ETag)."


def make_etag(*parts: object) -> str:
    """A strong, quoted entity tag from the parts that decide a representation."""
    digest = hashlib.blake2b("\x1f".join(str(part) for part in parts).encode(), digest_size=16).hexdigest()
    return quote_etag(digest)


def _tags(header: str) -> list[str]:
    return parse_etags(header) if header else []


def if_none_match_hits(request: HttpRequest, etag: str) -> bool:
    """Whether the request's If-None-Match names `etag` or is `*` (weak comparison, as RFC 9110 asks for GET)."""
    return "*" in _if_none_match_tags(request) or if_none_match_names(request, etag)


def if_none_match_names(request: HttpRequest, etag: str) -> bool:
    """Whether the request's If-None-Match names `etag` itself. For a tag computed before the read: `*` says
    nothing until the read is known to answer at all (a malformed query is a 400, not a 304)."""
    return _weak(etag) in {_weak(tag) for tag in _if_none_match_tags(request)}


def _if_none_match_tags(request: HttpRequest) -> list[str]:
    return _tags(request.META.get("HTTP_IF_NONE_MATCH", ""))  # not request.headers: a warm read builds nothing else


def not_modified(etag: str) -> HttpResponseNotModified:
    response = HttpResponseNotModified()
    response["ETag"] = etag
    return response


def with_etag(response: HttpResponseBase, etag: str) -> HttpResponseBase:
    response["ETag"] = etag
    return response


def if_match_header(request: HttpRequest) -> str | None:
    """The request's If-Match, or None when it has none (an unconditional write)."""
    value = request.headers.get("If-Match", "").strip()
    return value or None


def require_match(if_match: str | None, current: str) -> None:
    """Raise PreconditionFailed unless `if_match` (None: no condition) names `current` (strong comparison)."""
    if if_match is None:
        return
    tags = _tags(if_match)
    if "*" in tags or current in _strong(tags):
        return
    raise PreconditionFailed()


def _weak(tag: str) -> str:
    return tag.removeprefix("W/")


def _strong(tags: Iterable[str]) -> set[str]:
    return {tag for tag in tags if not tag.startswith("W/")}


# --- the OpenAPI description of the headers and answers above ----------------------------------------------------

ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="The entity tag of this answer: send it back in If-None-Match (reads) or If-Match (writes).",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="ETags the caller already holds: when one is current the answer is a 304 with no body.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Write only if the product's current ETag (from a detail read or a write answer) is among these; "
        "otherwise 412 and nothing changes. Without the header the write is unconditional."
    ),
)
# A read that answers an ETag (a hash of the body) and a 304 with no body to an If-None-Match naming it.
CONDITIONAL_READ = [IF_NONE_MATCH, ETAG_HEADER]
NOT_MODIFIED = OpenApiResponse(description="Not modified: the If-None-Match tag is current. No body.")
PRECONDITION_FAILED = OpenApiResponse(
    ERROR,
    description="If-Match names no current ETag: someone changed the product since it was read. Nothing changed.",
)
