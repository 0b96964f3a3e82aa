"""The Django admin for messages: staff admins only, read-only, searchable, and a retry action via the service."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils.formats import date_format
from django.utils.timezone import localtime

from apps.core.models import AuditEvent
from apps.messages.backends import locmem
from apps.messages.models import Message
from tests.users.factories import UserFactory

from .factories import MessageFactory

CHANGELIST = "/admin/messaging/message/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_an_admin_sees_every_accounts_messages(staff_client) -> None:
    messages = [MessageFactory(), MessageFactory()]

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    for message in messages:
        assert message.message_id in response.content.decode()


def test_a_plain_user_is_sent_to_the_login_page(user) -> None:
    client = Client()
    client.force_login(user)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("term", "found"),
    [("+1 (555) 000-0001", "first"), ("+442000000002", "second"), ("FIRST_ID", "first"), ("ACCOUNT", "second")],
)
def test_search_by_number_message_id_or_account(staff_client, term, found) -> None:
    first = MessageFactory(sender_number="+15550000001", receiver_number="+442000000001")
    second = MessageFactory(sender_number="+15550000002", receiver_number="+442000000002")
    term = term.replace("FIRST_ID", first.message_id.upper()).replace("ACCOUNT", str(second.account_id))

    response = staff_client.get(CHANGELIST, {"q": term})

    shown = {first: "first", second: "second"}
    content = response.content.decode()
    assert [name for message, name in shown.items() if message.message_id in content] == [found]


def test_filter_by_status(staff_client) -> None:
    sent, queued = MessageFactory(status="sent"), MessageFactory()

    content = staff_client.get(CHANGELIST, {"status__exact": "sent"}).content.decode()

    assert sent.message_id in content
    assert queued.message_id not in content


def test_a_message_is_read_only(staff_client) -> None:
    message = MessageFactory(body="original")

    page = staff_client.get(f"{CHANGELIST}{message.pk}/change/")
    staff_client.post(f"{CHANGELIST}{message.pk}/change/", {"body": "edited", "status": "sent"})

    assert page.status_code == 200
    assert 'name="body"' not in page.content.decode()
    message.refresh_from_db()
    assert (message.body, message.status) == ("original", "queued")
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403


def test_retry_failed_messages_queues_them_again_and_delivers(
    staff_client, admin_user, django_capture_on_commit_callbacks
) -> None:
    failed = MessageFactory(status="failed", attempts=6, last_error="gateway down")
    sent = MessageFactory(status="sent", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            CHANGELIST, {"action": "retry_failed_messages", "_selected_action": [failed.pk, sent.pk]}, follow=True
        )

    assert "1 failed message(s) queued for delivery again." in response.content.decode()
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 7)
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert [sms.message_id for sms in locmem.outbox] == [failed.message_id]
    audit = AuditEvent.objects.get(action="message.retried")
    assert (audit.actor_id, audit.object_id, audit.changes) == (
        admin_user.pk,
        failed.message_id,
        {"status": ["failed", "queued"]},
    )


def test_a_superuser_is_an_admin_here_too(db) -> None:
    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    MessageFactory(status="failed")

    assert client.get(CHANGELIST).status_code == 200
    assert Message.objects.count() == 1


def test_the_next_attempt_is_shown_only_while_one_is_due(staff_client) -> None:
    due = datetime(2031, 5, 4, 3, 2, tzinfo=UTC)
    queued = MessageFactory(status=Message.Status.QUEUED, next_attempt_at=due)
    sent = MessageFactory(status=Message.Status.SENT, next_attempt_at=due)
    shown = date_format(localtime(due), "DATETIME_FORMAT")

    queued_page = staff_client.get(f"{CHANGELIST}{queued.pk}/change/").content.decode()
    sent_page = staff_client.get(f"{CHANGELIST}{sent.pk}/change/").content.decode()

    assert "Next attempt at" in queued_page
    assert shown in queued_page
    assert "Next attempt at" in sent_page
    assert "None: the message is sent." in sent_page
    assert shown not in sent_page
