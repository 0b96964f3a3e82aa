from django.urls import path

from apps.core import views

urlpatterns = [
    path("", views.service_info, name="service-info"),
    path("health/", views.health_view, name="health"),
    path("health/live/", views.live_view, name="health-live"),
    path("health/ready/", views.ready_view, name="health-ready"),
    path("metrics", views.metrics_view, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
]
