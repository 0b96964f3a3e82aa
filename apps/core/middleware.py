from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django_guid import get_guid

from .context import client_ip, request_client_ip


class JsonApiErrorsMiddleware:
    """Under /api/, a 404 or 500 that Django rendered as HTML (unknown path, DEBUG pages) becomes JSON.

    Also records the client address for the audit trail of this request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = client_ip.set(request_client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            client_ip.reset(token)
        if request.path.startswith("/api/") and response.status_code in (404, 500) and not _is_json(response):
            detail = "Not found." if response.status_code == 404 else "Internal server error."
            body: dict[str, object] = {"detail": detail}
            if response.status_code == 500:
                body["request_id"] = get_guid()
            return JsonResponse(body, status=response.status_code)
        return response


def _is_json(response: HttpResponse) -> bool:
    return "json" in response.get("Content-Type", "")
