import json
from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path, re_path
from oauth2_provider.views import ConnectDiscoveryInfoView


class DiscoveryView(ConnectDiscoveryInfoView):
    """django-oauth-toolkit's discovery document, with `jwks_uri` replaced when IDP_PUBLISHED_JWKS_URI is set."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        # The provider's own settings module (oidc_provider/settings.py), not the one the django-stubs plugin reads.
        published_jwks_uri: str = settings.IDP_PUBLISHED_JWKS_URI  # type: ignore[misc]
        if not published_jwks_uri:
            return response
        document = json.loads(response.content)
        document["jwks_uri"] = published_jwks_uri
        return JsonResponse(document)


urlpatterns = [
    path("accounts/login/", LoginView.as_view(template_name="login.html"), name="login"),
    re_path(r"^o/\.well-known/openid-configuration/?$", DiscoveryView.as_view()),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
