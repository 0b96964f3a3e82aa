from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from apps.core.views import ApiRootView, redoc_bundle

# What the browsable API's root (/api/v1/) lists: a name for each endpoint, and its URL name.
API_ROOT = {
    "auth/login": "auth-login",
    "auth/register": "auth-register",
    "users/me": "user-me",
    "users": "user-list",
    "categories": "category-list",
    "products": "product-list",
    "messages": "message-list",
    "accounts/me/status-callback": "callback-settings",
}

api_v1 = [
    path("", include("apps.users.urls")),
    path("", include("apps.products.urls")),
    path("", include("apps.messages.urls")),
]

urlpatterns = [
    path("", include("apps.core.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Both docs pages run under the Content-Security-Policy: Swagger UI's init script is served from its own URL
    # (the split view) and ReDoc's page has no inline script and no web fonts from a CDN.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/dist/bundles/redoc.standalone.js", redoc_bundle, name="redoc-bundle"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="docs/redoc.html"), name="redoc"),
    path("api/v1/", ApiRootView.as_view(api_root_dict=API_ROOT), name="api-root"),
    path("api/v1/", include(api_v1)),
    # The browsable API's "Log in" / "Log out" links (DRF looks them up in the `rest_framework` namespace).
    path("api-auth/", include("apps.users.browser.views")),
    # Where the verification and reset emails link to when no FRONTEND_URL is set.
    path("account/", include("apps.users.browser.urls")),
]

if settings.DEBUG and not settings.AWS_STORAGE_BUCKET_NAME:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "apps.core.views.json_bad_request"
handler403 = "apps.core.views.json_permission_denied"
handler404 = "apps.core.views.json_not_found"
handler500 = "apps.core.views.json_server_error"
