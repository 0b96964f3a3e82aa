"""The browsable API's renderer: DRF's, with an HTML form for PATCH-only views too, edit forms that start from the
object shown, no HTML form where its body would be refused, and keeping what a person sent when the API refused it."""

import json
from collections.abc import Mapping
from typing import Any

from django.http import Http404, QueryDict
from rest_framework import renderers
from rest_framework.exceptions import APIException
from rest_framework.request import Request, is_form_media_type
from rest_framework.utils.serializer_helpers import ReturnDict

from apps.core.http.parsers import BrowserFormParser, BrowserMultiPartParser, is_browser_session

WRITE_METHODS = ("POST", "PUT", "PATCH")


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

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Request) -> Any:
        if method in WRITE_METHODS and not _form_body_read(view, request):
            return None
        return super().get_rendered_html_form(self._naming_its_object(data, view, method), view, method, request)

    def _naming_its_object(self, data: Any, view: Any, method: str) -> Any:
        """The shown data with the serializer of the object it shows, which DRF fills the edit form from.

        A read built without a serializer (the catalog's cached rows) names none, and DRF then draws the PUT or
        PATCH form empty: a person who edits one field sends the others blank, or the first category of the list.
        """
        response = (getattr(self, "renderer_context", None) or {}).get("response")
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        if (
            method not in ("PUT", "PATCH")
            or getattr(data, "serializer", None) is not None
            or not isinstance(data, dict)
            or response is None
            or response.status_code != 200  # noqa: PLR2004 - HTTP 200
            or lookup not in getattr(view, "kwargs", {})
        ):
            return data
        try:
            instance = view.get_object()
        except (Http404, APIException):  # gone since, or no longer allowed: DRF's empty form then
            return data
        return ReturnDict(data, serializer=view.get_serializer(instance=instance))

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


def _form_body_read(view: Any, request: Request) -> bool:
    """Whether a form body from this request would be read: the browser-only form parsers read a signed-in
    session's alone, so anyone else's HTML form could only be answered 415 (the raw-data box, JSON, still works)."""
    browser_only = (BrowserFormParser, BrowserMultiPartParser)
    form_parsers = [parser for parser in view.parser_classes if is_form_media_type(parser.media_type)]
    return any(not issubclass(parser, browser_only) for parser in form_parsers) or is_browser_session(request)
