"""The caller's activity history: what they did through the API shows there, and in nobody else's."""

from tests.users.factories import DEFAULT_PASSWORD

ACTIVITY = "/api/v1/users/me/activity/"
NEW_PASSWORD = "an-entirely-new-passphrase-77"
MESSAGE = {"sender_number": "+15551230001", "receiver_number": "+442079460958", "body": "Hello there"}


def test_sign_in_password_change_and_message_show_in_the_callers_history_only(user, other_user, login, bearer) -> None:
    other = bearer(login(other_user.email)["access"])
    client = bearer(login(user.email)["access"])
    changed = client.post(
        "/api/v1/auth/password/change/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 200
    client = bearer(changed.json()["access"])  # the change ends every other token of the account
    created = client.post("/api/v1/messages/", MESSAGE, format="json")
    assert created.status_code == 201, created.content
    message_id = created.json()["message_id"]

    mine = client.get(ACTIVITY).json()
    theirs = other.get(ACTIVITY).json()

    assert [(row["action"], row["object_type"], row["object_id"]) for row in mine["results"]] == [
        ("message.created", "messaging.message", message_id),
        ("auth.password_changed", "users.user", str(user.pk)),
        ("auth.login", "users.user", str(user.pk)),
    ]
    assert mine["count"] == 3
    assert [(row["action"], row["object_id"]) for row in theirs["results"]] == [("auth.login", str(other_user.pk))]
    assert theirs["count"] == 1
