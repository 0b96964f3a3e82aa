"""The browsable API's renderer: DRF's, with an HTML form for PATCH-only views too, and keeping what a person sent
when the API refused it."""

import json
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import renderers
from rest_framework.request import Request


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """After a 4xx to a JSON body sent from the raw-data box, the box shows that body again (DRF refills it with the
    serializer's starting values, so a person's edits were lost with the error)."""

    def get_context(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> dict[str, Any]:
        context = super().get_context(data, accepted_media_type, renderer_context)
        view, request = renderer_context["view"], renderer_context["request"]
        # DRF draws an HTML form for POST and PUT only; a view that updates by PATCH alone would offer raw JSON only.
        if not context["put_form"] and "PUT" not in view.allowed_methods and "PATCH" in view.allowed_methods:
            context["put_form"] = self.get_rendered_html_form(data, view, "PATCH", request)
            context["html_form_method"] = "PATCH" if context["put_form"] else None
        return context

    def get_raw_data_form(self, data: Any, view: Any, method: str, request: Request) -> Any:
        form = super().get_raw_data_form(data, view, method, request)
        sent = self._refused_json_body(method, request)
        if form is not None and sent is not None:
            form.initial["_content"] = sent
        return form

    def _refused_json_body(self, method: str, request: Request) -> str | None:
        response = (getattr(self, "renderer_context", None) or {}).get("response")
        if response is None or response.status_code < 400 or request.method != method:  # noqa: PLR2004 - HTTP 4xx
            return None
        try:
            body = request.data
        except Exception:  # noqa: BLE001 - an unparsable body: DRF's own starting values then
            return None
        if isinstance(body, QueryDict) or not isinstance(body, dict | list):
            return None
        return json.dumps(body, indent=4, ensure_ascii=False, default=str)
