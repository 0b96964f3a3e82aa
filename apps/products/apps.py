from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "apps.products"
    label = "products"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from . import checks, schema  # noqa: F401  (registration on import: system checks, OpenAPI extension)
