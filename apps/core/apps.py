from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.conf import settings

        from apps.core.observability.tracing import setup_error_reporting, setup_tracing

        setup_error_reporting()
        setup_tracing(service_name=settings.OTEL_SERVICE_NAME)
