from django.urls import path
from rest_framework.routers import SimpleRouter

from .callbacks.views import CallbackSecretView, CallbackSettingsView
from .delivery.views import AccountMessageListView, MessageViewSet
from .inbound.views import InboundGatewayView, InboundMessageViewSet
from .optouts.views import MessagingSettingsView, OptOutViewSet
from .receipts.views import DeliveryReceiptView
from .senders.views import SenderNumberListView

router = SimpleRouter()
router.register("messages", MessageViewSet, basename="message")
router.register("accounts/me/opt-outs", OptOutViewSet, basename="opt-out")
router.register("inbound-messages", InboundMessageViewSet, basename="inbound-message")

urlpatterns = [
    path("accounts/me/status-callback/", CallbackSettingsView.as_view(), name="callback-settings"),
    path("accounts/me/status-callback/secret/", CallbackSecretView.as_view(), name="callback-secret"),
    path("accounts/me/numbers/", SenderNumberListView.as_view(), name="sender-numbers"),
    path("accounts/me/messaging/", MessagingSettingsView.as_view(), name="messaging-settings"),
    path("messages/receipts/<str:backend>/", DeliveryReceiptView.as_view(), name="message-receipt"),
    path("messages/inbound/<str:backend>/", InboundGatewayView.as_view(), name="message-inbound"),
    path("accounts/<str:account_id>/messages/", AccountMessageListView.as_view(), name="account-messages"),
    *router.urls,
]
