from rest_framework import pagination
from rest_framework.request import Request


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M` (at most 100; zero, negative or junk falls back to 20). An empty `page` is page 1."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request: Request, paginator: object) -> str | int:
        return request.query_params.get(self.page_query_param) or 1
