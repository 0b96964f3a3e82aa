"""The admin of inbound messages (read-only, with their parts) and a number's `inbound_url` (checked like a status
callback URL, audited)."""

import pytest
from django.test import Client

from apps.core.models import AuditEvent
from apps.messages.models import InboundMessage, SenderNumber, StatusCallback
from tests.users.factories import UserFactory

from .inbound_helpers import GATEWAY_SECRET, OUR_NUMBER, inbound_body, own_number, post_inbound

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/messaging/inboundmessage/"


@pytest.fixture
def staff_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def received(api_client, settings) -> InboundMessage:
    settings.SMS_GATEWAY_RECEIPT_SECRET = GATEWAY_SECRET
    own_number(UserFactory().account_id)
    post_inbound(api_client, inbound_body("gw-part-2", "world", reference="r", part=2, parts=2))
    post_inbound(api_client, inbound_body("gw-part-1", "hello ", reference="r", part=1, parts=2))
    return InboundMessage.objects.get()


def test_an_admin_sees_inbound_messages_and_their_parts_read_only(staff_client, received) -> None:
    listed = staff_client.get(CHANGELIST)
    page = staff_client.get(f"{CHANGELIST}{received.pk}/change/")
    change = staff_client.post(f"{CHANGELIST}{received.pk}/change/", {"body": "rewritten"})

    assert listed.status_code == 200
    assert received.message_id in listed.content.decode()
    assert page.status_code == 200
    assert "gw-part-1" in page.content.decode()
    assert "gw-part-2" in page.content.decode()
    assert change.status_code == 403
    assert InboundMessage.objects.get().body == "hello world"


def test_a_plain_user_is_sent_to_the_login_page(user, received) -> None:
    client = Client()
    client.force_login(user)

    assert client.get(CHANGELIST)["Location"].startswith("/admin/login/")


def test_an_inbound_event_is_listed_with_the_callbacks(staff_client, api_client, settings) -> None:
    settings.SMS_GATEWAY_RECEIPT_SECRET = GATEWAY_SECRET
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    own_number(UserFactory().account_id, inbound_url="http://127.0.0.1:9/hooks/inbound")
    post_inbound(api_client, inbound_body("gw-1"))
    event_id = StatusCallback.objects.get().event_id

    listed = staff_client.get("/admin/messaging/statuscallback/", {"q": InboundMessage.objects.get().message_id})

    assert event_id in listed.content.decode()
    assert "message.inbound" in listed.content.decode()


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hooks", "https://127.0.0.1/hooks", "ftp://example.com/", "https://10.0.0.8/hooks"],
)
def test_the_admin_refuses_an_unsafe_inbound_url(staff_client, user, url) -> None:
    number = own_number(user.account_id)

    response = staff_client.post(
        f"/admin/messaging/sendernumber/{number.pk}/change/",
        {"account_id": str(user.account_id), "value": OUR_NUMBER, "rate_per_second": "", "inbound_url": url},
    )

    assert response.status_code == 200  # the form again, with the error
    assert "inbound_url" in response.context["adminform"].form.errors
    assert SenderNumber.objects.get().inbound_url == ""


def test_the_admin_sets_an_inbound_url_audited(staff_client, user, settings) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    number = own_number(user.account_id)
    url = "http://127.0.0.1:8080/hooks/inbound"

    response = staff_client.post(
        f"/admin/messaging/sendernumber/{number.pk}/change/",
        {"account_id": str(user.account_id), "value": OUR_NUMBER, "rate_per_second": "", "inbound_url": url},
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert SenderNumber.objects.get().inbound_url == url
    assert AuditEvent.objects.get(action="sender_number.changed").changes["inbound_url"] == ["", url]
