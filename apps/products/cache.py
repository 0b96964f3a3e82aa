"""The catalog read cache: whole rendered list and detail bodies, made stale at once by any catalog write.

Every entry is stored with the catalog version it was read under; one key holds the current version. A write
replaces that version (after its transaction commits), so every entry, in every process, stops matching at
once, without finding or deleting the entries (which Redis cannot do atomically across keys). The version is a
fresh unique key, never a counter: a counter that restarts (key evicted, Redis flushed) could come back to an
old value and revive old entries. A read fetches the version and its entry in one round trip (`get_many`).

When the cache is unavailable (Redis down: django-redis with IGNORE_EXCEPTIONS answers "missing" and drops
writes after short socket timeouts) every read goes to the database, and nothing is stored.
"""

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import transaction
from django.http import HttpResponse, HttpResponseBase
from django.utils.http import urlencode
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.keygen import new_key
from apps.core.metrics import products_cache_hits_total, products_cache_misses_total

CACHE_ALIAS = "default"
VERSION_KEY = "products:version"
ENTRY_PREFIX = "products:read:"

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def _backend() -> BaseCache:
    return caches[CACHE_ALIAS]


def invalidate() -> None:
    """Make every cached catalog read stale once the current transaction commits (at once outside one).

    Bumping before the commit would let a read in between cache the old rows under the new version.
    """
    transaction.on_commit(_replace_version)


def _replace_version() -> None:
    _backend().set(VERSION_KEY, new_key(), timeout=None)


def cached_read(*, detail: bool) -> Callable[[View], View]:
    """Serve a viewset's list or retrieve from the cache when warm, and store its 200 JSON answer when not.

    Runs after authentication, permissions and throttling (inside the viewset action), before any query or
    serializer. Only JSON renderings are cached; the browsable API always renders afresh.
    """

    def decorator(view_method: View) -> View:
        @wraps(view_method)
        def wrapper(viewset: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.accepted_renderer.format != "json":
                return view_method(viewset, request, *args, **kwargs)
            entry_key = _entry_key(request, detail=detail)
            version, body = _lookup(entry_key)
            if body is not None:
                products_cache_hits_total.inc()
                return HttpResponse(body, content_type=_content_type(request))
            products_cache_misses_total.inc()
            response = view_method(viewset, request, *args, **kwargs)
            if version is not None and isinstance(response, Response) and response.status_code == 200:
                response.add_post_render_callback(lambda rendered: _store(entry_key, version, rendered.content))
            return response

        return wrapper  # type: ignore[return-value]

    return decorator


def _lookup(entry_key: str) -> tuple[str | None, bytes | None]:
    """The current version (None: the cache cannot keep one) and the body cached under it, if any."""
    backend = _backend()
    found = backend.get_many([VERSION_KEY, entry_key])
    version = found.get(VERSION_KEY)
    if version is None:
        version = new_key()
        # `add`, not `set`: of two processes that both found no version, the first one's wins. A failed add
        # (the cache is down, or another process won) means this read must not store what it renders.
        return (version if backend.add(VERSION_KEY, version, timeout=None) else None), None
    entry = found.get(entry_key)
    if entry is not None and entry[0] == version:
        return version, entry[1]
    return version, None


def _store(entry_key: str, version: str, body: bytes) -> None:
    _backend().set(entry_key, (version, body), timeout=settings.PRODUCTS_CACHE_TTL)


def _entry_key(request: Request, *, detail: bool) -> str:
    # Pagination links and image URLs are absolute, so scheme and host are part of what was rendered. A detail
    # read ignores its query string; a list's is normalised (empty parameters are absent, order is irrelevant).
    query = "" if detail else urlencode(sorted((k, v) for k, vs in request.query_params.lists() for v in vs if v))
    raw = f"{request.accepted_media_type}|{request.scheme}://{request.get_host()}{request.path}?{query}"
    return ENTRY_PREFIX + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _content_type(request: Request) -> str:
    renderer = request.accepted_renderer
    return f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type
