from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AccountMessageListView, MessageViewSet

router = SimpleRouter()
router.register("messages", MessageViewSet, basename="message")

urlpatterns = [
    path("accounts/<str:account_id>/messages/", AccountMessageListView.as_view(), name="account-messages"),
    *router.urls,
]
