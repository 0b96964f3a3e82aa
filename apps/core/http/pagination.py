from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import pagination
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.generics imports this module (DEFAULT_PAGINATION_CLASS)
    from rest_framework.generics import GenericAPIView


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M` (at most 100; zero, negative or junk falls back to 20). An empty `page` is page 1."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request: Request, paginator: object) -> str | int:
        return request.query_params.get(self.page_query_param) or 1


def page_of(view: "GenericAPIView[Any]", rows: Any) -> list[Any]:
    """The view's current page of `rows`. Every list here is paginated: a view without a paginator is a bug."""
    page = view.paginate_queryset(rows)
    if page is None:
        raise ImproperlyConfigured(f"{type(view).__name__} lists without a pagination_class")
    return page
