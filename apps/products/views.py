"""The catalog API (docs/api.md "Catalog"): categories, products, prices, availability, price history and images."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.http.api import ValidatedInputMixin
from apps.core.http.conditional import (
    CONDITIONAL_READ,
    ETAG_HEADER,
    IF_MATCH,
    NOT_MODIFIED,
    PRECONDITION_FAILED,
    if_match_header,
)
from apps.core.http.middleware import request_body_limit
from apps.core.http.pagination import page_of
from apps.core.http.permissions import IsAdminOrReadOnly
from apps.core.http.schema import ERROR
from apps.users.request_user import request_user

from . import selectors, services
from .cache import CachedReadsMixin, cached_read
from .filters import ORDERING_FIELDS, ProductFilter
from .models import Category, Product
from .serializers import (
    CategorySerializer,
    PriceChangeSerializer,
    ProductAvailabilityInput,
    ProductImageInput,
    ProductPriceInput,
    ProductSerializer,
    product_read_data,
)
from .validators import MAX_IMAGE_UPLOAD_BODY_BYTES

NOT_FOUND = OpenApiResponse(ERROR, description="No such product, or it was deleted.")
ORDERING_PARAMETER = OpenApiParameter(
    "ordering",
    OpenApiTypes.STR,
    many=True,
    explode=True,
    style="form",
    enum=[f"{sign}{field}" for field in ORDERING_FIELDS for sign in ("", "-")],
    description="Sort keys, the first one first: `name`, `price` or `created_at`, each also with `-` for "
    "descending; default `-created_at`. Repeat the parameter (`?ordering=name&ordering=-price`) or give a comma "
    "list (`?ordering=name,-price`): both mean the same.",
)
# Reads answer an ETag and a 304 to a current If-None-Match; writes to one product take If-Match (412 if stale).
CONDITIONAL_WRITE = [IF_MATCH, ETAG_HEADER]


@extend_schema_view(
    list=extend_schema(summary="List categories", responses={200: CategorySerializer(many=True)}),
    create=extend_schema(
        summary="Create a category",
        request=CategorySerializer,
        responses={201: CategorySerializer},
    ),
)
class CategoryViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Product categories, ordered by slug. Any signed-in user reads them; only an admin creates one (a taken
    slug is a 400)."""

    serializer_class = CategorySerializer
    permission_classes = [IsAdminOrReadOnly]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[Category]:
        return selectors.category_list()

    def perform_create(self, serializer: serializers.BaseSerializer[Category]) -> None:
        serializer.instance = services.category_create(**serializer.validated_data, by=request_user(self.request))


@extend_schema_view(
    list=extend_schema(
        summary="List products",
        parameters=[ORDERING_PARAMETER, *CONDITIONAL_READ],
        responses={200: ProductSerializer(many=True), 304: NOT_MODIFIED},
    ),
    retrieve=extend_schema(
        summary="Get a product",
        parameters=CONDITIONAL_READ,
        responses={200: ProductSerializer, 304: NOT_MODIFIED, 404: NOT_FOUND},
    ),
    create=extend_schema(summary="Create a product", responses={201: ProductSerializer}),
    partial_update=extend_schema(
        summary="Change a product",
        parameters=CONDITIONAL_WRITE,
        responses={200: ProductSerializer, 404: NOT_FOUND, 412: PRECONDITION_FAILED},
    ),
    destroy=extend_schema(
        summary="Delete a product",
        parameters=[IF_MATCH],
        responses={
            204: None,
            404: NOT_FOUND,
            412: PRECONDITION_FAILED,
        },
    ),
)
class ProductViewSet(
    CachedReadsMixin,
    ValidatedInputMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The product catalog. Any signed-in user reads it; only an admin writes.

    Lists are paginated and filtered by `search`, `category`, `min_price`, `max_price`, `is_available` and
    `ordering`. List and detail reads are served from a cache that every write makes stale at once. Deleting a
    product is a soft delete: it disappears from every read, its row and price history stay.
    """

    serializer_class = ProductSerializer
    permission_classes = [IsAdminOrReadOnly]
    filterset_class = ProductFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.product_list()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # The list's filters must not turn a product detail (or its sub-resources) into a 404 or a 400.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    @cached_read(detail=False)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Page of live products, newest first unless `ordering` says otherwise."""
        rows = selectors.product_rows(self.filter_queryset(self.get_queryset()))
        page = page_of(self, rows)
        return self.get_paginated_response(product_read_data(page, request=request))

    @cached_read(detail=True)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One live product; 404 when missing or deleted."""
        row = selectors.product_rows(self.get_queryset()).filter(pk=kwargs[self.lookup_field]).first()
        if row is None:
            raise NotFound()
        return Response(product_read_data([row], request=request)[0], headers={"ETag": selectors.product_etag(row)})

    def perform_create(self, serializer: serializers.BaseSerializer[Product]) -> None:
        """Create a product (admin). `is_available` defaults to true, `currency` to the service default."""
        serializer.instance = services.product_create(**serializer.validated_data, by=request_user(self.request))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change any writable product fields (admin). A new price is recorded in the price history."""
        product = self.get_object()
        data = self.get_valid_data(request, instance=product, partial=True)
        product = services.product_update(
            product=product, data=data, by=request_user(request), if_match=if_match_header(request)
        )
        return self._product_response(product)

    def perform_destroy(self, instance: Product) -> None:
        services.product_soft_delete(
            product=instance, by=request_user(self.request), if_match=if_match_header(self.request)
        )

    @extend_schema(
        summary="Change a product's price",
        request=ProductPriceInput,
        parameters=CONDITIONAL_WRITE,
        responses={200: ProductSerializer, 404: NOT_FOUND, 412: PRECONDITION_FAILED},
    )
    @action(detail=True, methods=["patch"], serializer_class=ProductPriceInput)
    def price(self, request: Request, pk: str | None = None) -> Response:
        """Set the price (admin). The change (old and new price, who, when) goes into the price history and the
        audit log."""
        data = self.get_valid_data(request)
        product = services.product_change_price(
            product=self.get_object(),
            new_price=data["price"],
            by=request_user(request),
            if_match=if_match_header(request),
        )
        return self._product_response(product)

    @extend_schema(
        summary="Make a product available or unavailable",
        request=ProductAvailabilityInput,
        parameters=CONDITIONAL_WRITE,
        responses={200: ProductSerializer, 404: NOT_FOUND, 412: PRECONDITION_FAILED},
    )
    @action(detail=True, methods=["patch"], serializer_class=ProductAvailabilityInput)
    def availability(self, request: Request, pk: str | None = None) -> Response:
        """Set `is_available` (admin); the body's `is_available` is required and must be a boolean."""
        data = self.get_valid_data(request)
        product = services.product_set_availability(
            product=self.get_object(),
            is_available=data["is_available"],
            by=request_user(request),
            if_match=if_match_header(request),
        )
        return self._product_response(product)

    @extend_schema(
        summary="A product's price history",
        responses={200: PriceChangeSerializer(many=True), 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="price-history",
        serializer_class=PriceChangeSerializer,
        filter_backends=[],
    )
    def price_history(self, request: Request, pk: str | None = None) -> Response:
        """Page of the product's price changes, newest first; 404 for a missing or deleted product."""
        changes = selectors.product_price_history(product=self.get_object())
        page = page_of(self, changes)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Upload a product's image",
        request={"multipart/form-data": ProductImageInput},
        parameters=CONDITIONAL_WRITE,
        responses={200: ProductSerializer, 404: NOT_FOUND, 412: PRECONDITION_FAILED},
    )
    @request_body_limit(MAX_IMAGE_UPLOAD_BODY_BYTES)
    @action(detail=True, methods=["put"], serializer_class=ProductImageInput, parser_classes=[MultiPartParser])
    def image(self, request: Request, pk: str | None = None) -> Response:
        """Upload the product image (admin): multipart field `image`, a PNG, JPEG or WebP of at most 5 MB. The
        answer's `image_url` is its absolute URL. Anything else is a 400."""
        data = self.get_valid_data(request)
        product = services.product_set_image(
            product=self.get_object(), image=data["image"], by=request_user(request), if_match=if_match_header(request)
        )
        return self._product_response(product)

    def _product_response(self, product: Product) -> Response:
        """The written product, with the ETag its next conditional write (If-Match) names."""
        etag = selectors.product_current_etag(product_pk=product.pk)
        headers = {"ETag": etag} if etag is not None else None
        return Response(ProductSerializer(product, context=self.get_serializer_context()).data, headers=headers)
