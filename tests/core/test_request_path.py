"""The lean request path keeps what the stock one answered: the same security headers, the probe's answer, and
the errors in the log."""

import logging

import pytest
from csp.constants import NONCE, NONE, SELF
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory, override_settings

from apps.core.http.middleware import PrebuiltPolicyCSPMiddleware


def _headers(middleware_class: type, view, path: str = "/somewhere/") -> dict[str, str]:
    request = RequestFactory().get(path)
    middleware = middleware_class(view)
    response = middleware(request)
    return {name: value for name, value in response.items() if "Content-Security-Policy" in name}


def _plain(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


def test_the_prebuilt_policy_is_the_one_django_csp_builds() -> None:
    ours = _headers(PrebuiltPolicyCSPMiddleware, _plain)
    assert ours == _headers(CSPMiddleware, _plain)
    assert "frame-ancestors 'none'" in ours["Content-Security-Policy"]


def test_a_changed_setting_changes_the_prebuilt_policy() -> None:
    before = _headers(PrebuiltPolicyCSPMiddleware, _plain)
    policy = {"DIRECTIVES": {"default-src": [NONE]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=policy):
        changed = _headers(PrebuiltPolicyCSPMiddleware, _plain)
    assert changed == {
        "Content-Security-Policy": "default-src 'none'",
        "Content-Security-Policy-Report-Only": "default-src 'none'",
    }
    assert _headers(PrebuiltPolicyCSPMiddleware, _plain) == before


def test_a_view_with_its_own_policy_or_none_keeps_it() -> None:
    exempt = csp_exempt()(_plain)
    updated = csp_update({"img-src": [SELF, "https://images.example.com"]})(_plain)

    assert _headers(PrebuiltPolicyCSPMiddleware, exempt) == {}
    ours = _headers(PrebuiltPolicyCSPMiddleware, updated)
    assert ours == _headers(CSPMiddleware, updated)
    assert "https://images.example.com" in ours["Content-Security-Policy"]


def test_a_view_that_used_the_nonce_gets_it_in_the_policy() -> None:
    def uses_nonce(request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")  # type: ignore[attr-defined]

    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"script-src": [SELF, NONCE]}}):
        request = RequestFactory().get("/page/")
        response = PrebuiltPolicyCSPMiddleware(uses_nonce)(request)
    assert isinstance(response, HttpResponse)
    nonce = request._csp_nonce  # type: ignore[attr-defined]
    directives = set(response["Content-Security-Policy"].split("; "))
    assert directives == {"default-src 'self'", f"script-src 'self' 'nonce-{nonce}'"}


def test_an_excluded_prefix_gets_no_policy() -> None:
    policy = {"DIRECTIVES": {"default-src": [SELF]}, "EXCLUDE_URL_PREFIXES": ["/excluded/"]}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        assert _headers(PrebuiltPolicyCSPMiddleware, _plain, "/excluded/page/") == {}
        other = _headers(PrebuiltPolicyCSPMiddleware, _plain, "/other/")
    assert other == {"Content-Security-Policy": "default-src 'self'"}


def test_every_answer_of_the_service_carries_the_policy(api_client, db) -> None:
    for path in ("/health/live/", "/", "/api/v1/products/"):
        assert "default-src 'self'" in api_client.get(path)["Content-Security-Policy"]


def test_the_probe_answers_get_and_head_and_refuses_other_methods(api_client) -> None:
    got = api_client.get("/health/live/")
    assert (got.status_code, got.json(), got["Content-Type"]) == (200, {"status": "ok"}, "application/json")
    assert got["X-Request-ID"]
    assert api_client.head("/health/live/").status_code == 200
    refused = api_client.post("/health/live/", {}, format="json")
    assert refused.status_code == 405
    assert refused.json() == {"detail": 'Method "POST" not allowed.', "code": "method_not_allowed"}


def test_the_probe_is_in_the_schema(api_client, db) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert set(schema["paths"]["/health/live/"]) == {"get"}


@pytest.mark.django_db
def test_a_client_error_writes_no_log_line_and_a_server_error_does(api_client, caplog, settings) -> None:
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("django.request").setLevel(logging.ERROR)  # what LOGGING configures; caplog lowered it
        assert api_client.get("/api/v1/products/").status_code == 401
        assert api_client.get("/api/v1/no-such-thing/").status_code == 404
    assert [r for r in caplog.records if r.name == "django.request"] == []
    assert settings.LOGGING["loggers"]["django.request"]["level"] == "ERROR"
