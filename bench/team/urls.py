from rest_framework.routers import SimpleRouter

from .views import MessageViewSet, ProductViewSet

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")
router.register("messages", MessageViewSet, basename="message")
urlpatterns = router.urls
