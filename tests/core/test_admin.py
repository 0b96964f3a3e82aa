"""The core admin: the audit trail and the outbox are for reading; nothing there is edited or deleted by staff."""

import pytest
from django.test import Client

from apps.core.models import OutboxEvent
from apps.core.outbox.events import Priority, publish_event


@pytest.fixture
def site(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_staff_cannot_delete_or_change_a_pending_outbox_event(site) -> None:
    publish_event("user.deactivated", {"user_id": 1}, priority=Priority.HIGH, aggregate_type="user", aggregate_id="1")
    event = OutboxEvent.objects.get()
    url = f"/admin/core/outboxevent/{event.pk}/"

    assert site.get(f"{url}change/").status_code == 200  # it can be read
    assert site.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    response = site.post("/admin/core/outboxevent/", {"action": "delete_selected", "_selected_action": [event.pk]})
    assert response.status_code == 200  # the changelist again: the action does not exist
    assert site.post(f"{url}change/", {"event_type": "changed"}).status_code == 403
    assert OutboxEvent.objects.get().event_type == "user.deactivated"
