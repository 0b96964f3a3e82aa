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
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.core.cache import batch as cache_batch
from apps.core.cache.versioned import RedisVersionedCache
from apps.core.http.conditional import (
    if_none_match_hits,
    if_none_match_names,
    make_etag,
    not_modified,
    with_etag,
)
from apps.core.http.throttling import FixedWindowRateThrottle
from apps.users.authentication import (
    BatchedAuthenticationReadsMixin,
    CachedUserJWTAuthentication,
    batched_token_user,
    bearer_token,
    token_cache_keys,
    token_user_pk,
)

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
    view, kept with the entry). Most warm reads never get here: `CachedReadsMixin` answers them before DRF.
    """

    def decorator(view_method: View) -> View:
        @wraps(view_method)
        def wrapper(viewset: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.accepted_renderer.format != "json":
                return view_method(viewset, request, *args, **kwargs)
            entry_key = _entry_key(request, detail=detail)
            version, entry = catalog_reads.lookup(entry_key, request=request)
            content_type = _content_type(request.accepted_renderer)
            answer = _answer_from_cache(request, entry_key, version, entry, detail=detail, content_type=content_type)
            if answer is not None:
                return answer
            products_cache_misses_total.inc()
            response = view_method(viewset, request, *args, **kwargs)
            if not isinstance(response, Response) or response.status_code != 200:  # noqa: PLR2004 - HTTP 200
                return response
            # A detail read tags its product's row (what If-Match on a write compares); a list, its version.
            etag = response.get("ETag") if detail else _list_etag(version, entry_key)
            if etag is None:
                return response
            if if_none_match_hits(request, etag):
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


def _answer_from_cache(
    request: HttpRequest, entry_key: str, version: int, entry: Any, *, detail: bool, content_type: str
) -> HttpResponseBase | None:
    """A 304 or the cached body with its ETag; None when the read must be computed."""
    if not detail:
        # Only a tag this list answered before proves its query sound; `*` waits for an answer that exists.
        list_etag = _list_etag(version, entry_key)
        if if_none_match_names(request, list_etag):
            return not_modified(list_etag)
    if entry is None:
        return None
    products_cache_hits_total.inc()
    etag, body = entry
    if if_none_match_hits(request, etag):
        return not_modified(etag)
    return with_etag(HttpResponse(body, content_type=content_type), etag)


def _list_etag(version: int, entry_key: str) -> str:
    return make_etag(version, entry_key)


class CachedReadsMixin(BatchedAuthenticationReadsMixin):
    """For a viewset whose list and retrieve are `cached_read`: a warm read is answered before DRF's dispatch.

    The fast path: a plain JSON GET with a bearer token is batched before DRF: the token's user, the rate-limit
    counters, the catalog version and the cached body, in one round trip. When they show the user current and
    allowed and the body current, the answer is that body (or a 304) with the headers the viewset would add,
    without DRF's request wrapping, negotiation and classes: a sixth of a warm read's CPU (README, "What each
    mechanism bought"). Anything else goes on to the viewset unchanged, which takes the batch's answers (nothing
    is asked or counted twice) and decides as it always does: no token, another media type, a miss, an uncached,
    refused or limited user, a version read over an unchecked connection, the in-process cache.
    """

    @classmethod
    def as_view(cls, actions: dict[str, Any] | None = None, **initkwargs: Any) -> Any:
        view = super().as_view(actions, **initkwargs)  # type: ignore[misc]
        read = (actions or {}).get("get")
        if read not in ("list", "retrieve"):
            return view
        fast_path = WarmReadFastPath(cls, actions or {}, initkwargs, detail=read == "retrieve")

        @wraps(view)  # keeps what DRF, CSRF and the schema read off the view (cls, actions, csrf_exempt)
        def view_answering_warm_reads_first(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            answer = fast_path.answer(request)
            return answer if answer is not None else view(request, *args, **kwargs)

        return view_answering_warm_reads_first


class WarmReadFastPath:
    """A viewset route's warm JSON reads, answered before DRF (see CachedReadsMixin)."""

    def __init__(self, view_class: Any, actions: dict[str, Any], initkwargs: dict[str, Any], *, detail: bool) -> None:
        self.detail = detail
        # Only a view that takes our tokens, and whose every limit is a counter the batch can bump, is answered here.
        self.applies = any(
            issubclass(a, CachedUserJWTAuthentication) for a in view_class.authentication_classes
        ) and all(issubclass(t, FixedWindowRateThrottle) for t in view_class.throttle_classes)
        self.throttle_classes = view_class.throttle_classes
        self.permission_classes = view_class.permission_classes
        renderer = view_class.renderer_classes[0]
        self.media_type, self.content_type = renderer.media_type, _content_type(renderer)
        # What DRF's dispatch adds to each answer of this route (Allow, Vary), from a view bound as its own is.
        self.view = view_class(**initkwargs)
        for method, action in {"head": actions["get"], **actions}.items():
            setattr(self.view, method, getattr(self.view, action))
        self.headers = self.view.default_response_headers

    def answer(self, request: HttpRequest) -> HttpResponseBase | None:
        """The warm read's answer, or None: the viewset answers."""
        token = bearer_token(request) if self.applies and self._plain_json_get(request) else None
        user_pk = token_user_pk(token) if token is not None else None
        if token is None or user_pk is None:
            return None
        limits = [
            (t, counter) for t in (c() for c in self.throttle_classes) if (counter := t.counter_for_user(user_pk))
        ]
        entry_key = _make_entry_key(request, self.media_type, detail=self.detail)
        keys = [*token_cache_keys(token, user_pk), *catalog_reads.prefetch_keys(entry_key)]
        if not cache_batch.prefetch(request, get=keys, bump=[counter for _, counter in limits]):
            return None
        user = batched_token_user(request, token, user_pk)
        if user is None or not self._allows(request, user, limits):
            return None
        found = catalog_reads.batched_lookup(request, entry_key)
        if found is None:
            return None
        answer = _answer_from_cache(request, entry_key, *found, detail=self.detail, content_type=self.content_type)
        if answer is not None:
            for header, value in self.headers.items():
                if header == "Vary":  # added to, as DRF does
                    patch_vary_headers(answer, [name.strip() for name in value.split(",")])
                else:
                    answer[header] = value
        return answer

    def _plain_json_get(self, request: HttpRequest) -> bool:
        """A GET that DRF answers in this route's JSON (`?format=api` asks for the browsable API)."""
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        asks_json = accept in ("*/*", self.media_type) and api_settings.URL_FORMAT_OVERRIDE not in request.GET
        return request.method == "GET" and asks_json

    def _allows(self, request: HttpRequest, user: Any, limits: list[tuple[Any, tuple[str, int]]]) -> bool:
        """The view's own permission classes, asked with this user; its rate limits, by the batch's counts."""
        drf_request = Request(request)
        drf_request.user = user  # on the Django request too, as DRF's authentication leaves it
        if not all(permission().has_permission(drf_request, self.view) for permission in self.permission_classes):
            return False
        return all(
            (count := cache_batch.peek_count(request, key)) is not None and count <= throttle.num_requests
            for throttle, (key, _) in limits
        )


def _entry_key(request: Request, *, detail: bool) -> str:
    return _make_entry_key(request, request.accepted_media_type, detail=detail)


def _make_entry_key(request: HttpRequest | Request, media_type: str, *, detail: bool) -> str:
    # Pagination links and image URLs are absolute, so scheme and host are part of what was rendered. A detail
    # read ignores its query string; a list's is normalised: empty parameters are absent, and parameters are
    # sorted by name only, so the values of a repeated one keep their order (`ordering` depends on it).
    query_params = request.query_params if isinstance(request, Request) else request.GET
    pairs = [(k, v) for k, vs in query_params.lists() for v in vs if v]
    query = "" if detail else urlencode(sorted(pairs, key=lambda pair: pair[0]))
    raw = f"{media_type}|{request.scheme}://{request.get_host()}{request.path}?{query}"
    return catalog_reads.entry_key(hashlib.blake2b(raw.encode(), digest_size=16).hexdigest())


def _content_type(renderer: Any) -> str:
    return f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type
