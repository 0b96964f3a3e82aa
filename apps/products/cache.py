"""The catalog read cache: whole rendered list and detail bodies, made stale at once by any catalog write.

One version scope for the whole catalog (apps.core.cache.versioned, owned by the database, with a copy in Redis
read beside the body): a write replaces the version in its transaction, so every cached body in every process
stops matching once it commits, Redis outage or not. With the cache down every read goes to the database, and
nothing is stored.
"""

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from django.utils.http import urlencode
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.cache.versioned import RedisVersionedCache
from apps.core.http.conditional import if_none_match_hits, make_etag, not_modified, with_etag
from apps.users.authentication import BatchedAuthenticationReadsMixin

from .metrics import products_cache_hits_total, products_cache_misses_total

catalog_reads = RedisVersionedCache("products")

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def invalidate() -> None:
    """Make every cached catalog read stale once the current transaction commits (at once outside one)."""
    catalog_reads.invalidate()


def cached_read(*, detail: bool) -> Callable[[View], View]:
    """Serve a viewset's list or retrieve from the cache when warm, and store its 200 JSON answer when not.

    Runs after authentication, permissions and throttling (inside the viewset action), before any query or
    serializer. Only JSON renderings are cached; the browsable API always renders afresh. Every JSON answer
    carries an ETag, and a matching If-None-Match is a 304: a list's tag is its catalog version and entry (so a
    304 costs one primary-key read, the version's), a detail's is its product row's (`product_etag`, set by the
    view, kept with the entry).
    """

    def decorator(view_method: View) -> View:
        @wraps(view_method)
        def wrapper(viewset: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:  # noqa: PLR0911 - one early answer per reason a read is not cached
            if request.accepted_renderer.format != "json":
                return view_method(viewset, request, *args, **kwargs)
            entry_key = _entry_key(request, detail=detail)
            version, entry = catalog_reads.lookup(entry_key, request=request)
            list_etag = None if detail else make_etag(version, entry_key)
            if list_etag is not None and if_none_match_hits(request, list_etag):
                return not_modified(list_etag)
            if entry is not None:
                products_cache_hits_total.inc()
                etag, body = entry
                if if_none_match_hits(request, etag):
                    return not_modified(etag)
                return with_etag(HttpResponse(body, content_type=_content_type(request)), etag)
            products_cache_misses_total.inc()
            response = view_method(viewset, request, *args, **kwargs)
            if not isinstance(response, Response) or response.status_code != 200:  # noqa: PLR2004 - HTTP 200
                return response
            # A detail read tags its product's row (what If-Match on a write compares); a list, its version.
            etag = list_etag or response.get("ETag")
            if etag is None:
                return response
            if detail and if_none_match_hits(request, etag):
                return not_modified(etag)
            response["ETag"] = etag
            response.add_post_render_callback(
                lambda rendered: catalog_reads.store(
                    entry_key, version, (etag, rendered.content), timeout=settings.PRODUCTS_CACHE_TTL
                )
            )
            return response

        return cast(View, wrapper)  # the same call signature: wraps() keeps the view's

    return decorator


class BatchedCacheReadsMixin(BatchedAuthenticationReadsMixin):
    """For a viewset whose list and retrieve are `cached_read`: the catalog version and the cached body join the
    token's user and the user's rate-limit counter in the one Redis round trip made before authenticating, so a
    warm read asks Redis once instead of three times, and the database nothing."""

    def batched_cache_keys(self, request: Request, user_pk: int) -> list[str]:
        action = getattr(self, "action", None)
        if action in ("list", "retrieve") and request.accepted_renderer.format == "json":
            return catalog_reads.prefetch_keys(_entry_key(request, detail=action == "retrieve"))
        return []


def _entry_key(request: Request, *, detail: bool) -> str:
    # Asked twice per read (the batch, then the read itself): made once.
    key: str | None = getattr(request, "_catalog_entry_key", None)
    if key is None:
        key = _make_entry_key(request, detail=detail)
        request._catalog_entry_key = key  # type: ignore[attr-defined]  # noqa: SLF001 - the view class keeps its own entry key
    return key


def _make_entry_key(request: Request, *, detail: bool) -> str:
    # Pagination links and image URLs are absolute, so scheme and host are part of what was rendered. A detail
    # read ignores its query string; a list's is normalised: empty parameters are absent, and parameters are
    # sorted by name only, so the values of a repeated one keep their order (`ordering` depends on it).
    pairs = [(k, v) for k, vs in request.query_params.lists() for v in vs if v]
    query = "" if detail else urlencode(sorted(pairs, key=lambda pair: pair[0]))
    raw = f"{request.accepted_media_type}|{request.scheme}://{request.get_host()}{request.path}?{query}"
    return catalog_reads.entry_key(hashlib.blake2b(raw.encode(), digest_size=16).hexdigest())


def _content_type(request: Request) -> str:
    renderer = request.accepted_renderer
    return f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type
