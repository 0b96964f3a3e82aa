from django.urls import path
from django.views.decorators.cache import cache_page

from .views import ProductViewSet, bare

product_list = ProductViewSet.as_view({"get": "list"})

urlpatterns = [
    path("bare/", bare),
    path("products/", product_list),
    path("cached/products/", cache_page(300)(product_list)),
]
