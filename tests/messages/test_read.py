"""Reads: list, retrieve, search and the account path, each scoped to the caller (an admin: every account)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from apps.messages.filters import MAX_LIST_VALUES
from apps.messages.models import Message
from apps.messages.pagination import DEFERRED_JOIN_FROM_OFFSET

from .factories import MessageFactory
from .helpers import MESSAGES_URL, SEARCH_URL, account_messages_url, detail_url, message_json, page

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def mine(user):
    """Three of the user's messages, oldest first, from two senders to two receivers."""
    return [
        MessageFactory(
            account_id=user.account_id,
            sender_number="+15550000001",
            receiver_number="+442000000001",
            created_at=T0,
        ),
        MessageFactory(
            account_id=user.account_id,
            sender_number="+15550000002",
            receiver_number="+442000000001",
            created_at=T0 + timedelta(minutes=1),
            status="sent",
        ),
        MessageFactory(
            account_id=user.account_id,
            sender_number="+15550000001",
            receiver_number="+442000000002",
            created_at=T0 + timedelta(minutes=2),
        ),
    ]


@pytest.fixture
def theirs(other_user):
    """The other user's messages, with the very same numbers as the user's and newer."""
    return [
        MessageFactory(
            account_id=other_user.account_id,
            sender_number="+15550000001",
            receiver_number="+442000000001",
            created_at=T0 + timedelta(minutes=5),
        ),
        MessageFactory(
            account_id=other_user.account_id,
            sender_number="+15550000002",
            receiver_number="+442000000002",
            created_at=T0 + timedelta(minutes=6),
        ),
    ]


def newest_first(messages):
    return [message_json(m) for m in sorted(messages, key=lambda m: (m.created_at, m.pk), reverse=True)]


# --- list -----------------------------------------------------------------------------------------------------


def test_list_is_the_callers_messages_newest_first(user_client, mine, theirs) -> None:
    response = user_client.get(MESSAGES_URL)

    assert response.status_code == 200
    assert response.json() == page(newest_first(mine))


def test_list_orders_ties_by_id(user_client, user) -> None:
    same_time = [MessageFactory(account_id=user.account_id, created_at=T0) for _ in range(3)]

    response = user_client.get(MESSAGES_URL)

    assert [m["message_id"] for m in response.json()["results"]] == [m.message_id for m in reversed(same_time)]


def test_list_for_an_admin_is_every_account(admin_client, mine, theirs) -> None:
    response = admin_client.get(MESSAGES_URL)

    assert response.json() == page(newest_first(mine + theirs))


def test_an_admin_may_filter_the_list_by_account(admin_client, other_user, mine, theirs) -> None:
    response = admin_client.get(MESSAGES_URL, {"account_id": str(other_user.account_id)})

    assert response.json() == page(newest_first(theirs))


def test_a_user_filtering_by_another_account_sees_nothing(user_client, other_user, mine, theirs) -> None:
    response = user_client.get(MESSAGES_URL, {"account_id": str(other_user.account_id)})

    assert response.status_code == 200
    assert response.json() == page([])


def test_list_with_a_malformed_account_filter_is_400(admin_client) -> None:
    response = admin_client.get(MESSAGES_URL, {"account_id": "nope"})

    assert response.status_code == 400
    assert response.json() == {"account_id": ["Enter a valid UUID."]}


def test_list_pages(user_client, user) -> None:
    messages = [MessageFactory(account_id=user.account_id, created_at=T0 + timedelta(seconds=i)) for i in range(5)]

    first = user_client.get(MESSAGES_URL, {"page_size": 2}).json()
    last = user_client.get(MESSAGES_URL, {"page_size": 2, "page": 3}).json()

    assert first == page(
        newest_first(messages)[:2], count=5, next_="http://testserver/api/v1/messages/?page=2&page_size=2"
    )
    assert last["results"] == newest_first(messages)[4:]
    assert last["next"] is None
    assert user_client.get(MESSAGES_URL, {"page": 4, "page_size": 2}).status_code == 404


def test_list_needs_authentication(api_client) -> None:
    assert api_client.get(MESSAGES_URL).status_code == 401


# --- retrieve -------------------------------------------------------------------------------------------------


def test_retrieve_own_message(user_client, mine) -> None:
    response = user_client.get(detail_url(mine[0].message_id))

    assert response.status_code == 200
    assert response.json() == message_json(mine[0])


def test_retrieve_another_accounts_message_is_404_not_403(user_client, theirs) -> None:
    response = user_client.get(detail_url(theirs[0].message_id))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_retrieve_an_unknown_message_is_the_same_404(user_client, theirs) -> None:
    unknown = user_client.get(detail_url("0" * 26))
    malformed = user_client.get(detail_url("not-a-message-id"))

    assert unknown.status_code == malformed.status_code == 404
    assert unknown.json() == {"detail": "Not found.", "code": "not_found"}
    assert malformed.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_admin_retrieves_any_message(admin_client, theirs) -> None:
    response = admin_client.get(detail_url(theirs[0].message_id))

    assert response.status_code == 200
    assert response.json() == message_json(theirs[0])


# --- the account path (the seed service's GET /v1/get/messages/{account_id}) ------------------------------------


def test_get_an_accounts_messages(user_client, user, mine, theirs) -> None:
    response = user_client.get(account_messages_url(user.account_id))

    assert response.status_code == 200
    assert response.json() == page(newest_first(mine))


def test_the_account_path_takes_an_uppercase_uuid(user_client, user, mine) -> None:
    response = user_client.get(account_messages_url(str(user.account_id).upper()))

    assert response.json() == page(newest_first(mine))


def test_another_accounts_path_is_404(user_client, other_user, theirs) -> None:
    existing = user_client.get(account_messages_url(other_user.account_id))
    unknown = user_client.get(account_messages_url(uuid.uuid4()))

    assert existing.status_code == unknown.status_code == 404
    assert existing.json() == unknown.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_malformed_account_id_in_the_path_is_404(user_client) -> None:
    response = user_client.get(account_messages_url("12345"))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_admin_reads_any_account(admin_client, other_user, mine, theirs) -> None:
    response = admin_client.get(account_messages_url(other_user.account_id))

    assert response.json() == page(newest_first(theirs))


def test_an_admin_gets_an_empty_page_for_an_account_without_messages(admin_client, mine) -> None:
    response = admin_client.get(account_messages_url(uuid.uuid4()))

    assert response.status_code == 200
    assert response.json() == page([])


def test_own_account_without_messages_is_an_empty_page(user_client, user, theirs) -> None:
    response = user_client.get(account_messages_url(user.account_id))

    assert response.json() == page([])


# --- search ---------------------------------------------------------------------------------------------------


def test_search_by_message_id(user_client, mine, theirs) -> None:
    response = user_client.get(SEARCH_URL, {"message_id": mine[1].message_id})

    assert response.status_code == 200
    assert response.json() == page([message_json(mine[1])])


def test_search_by_a_list_of_message_ids(user_client, mine, theirs) -> None:
    ids = f"{mine[0].message_id}, {mine[2].message_id},,{theirs[0].message_id}"

    response = user_client.get(SEARCH_URL, {"message_id": ids})

    assert response.json() == page(newest_first([mine[0], mine[2]]))


def test_search_by_sender(user_client, mine, theirs) -> None:
    response = user_client.get(SEARCH_URL, {"sender_number": "+15550000001"})

    assert response.json() == page(newest_first([mine[0], mine[2]]))


def test_search_by_receiver(user_client, mine, theirs) -> None:
    response = user_client.get(SEARCH_URL, {"receiver_number": "+442000000001"})

    assert response.json() == page(newest_first([mine[0], mine[1]]))


def test_search_numbers_are_normalised_like_the_body(user_client, mine) -> None:
    response = user_client.get(SEARCH_URL, {"sender_number": "+1 (555) 000-0002"})

    assert response.json() == page([message_json(mine[1])])


def test_search_takes_an_unencoded_plus(user_client, mine) -> None:
    response = user_client.get(f"{SEARCH_URL}?sender_number=+15550000002")

    assert response.json() == page([message_json(mine[1])])


def test_search_by_a_list_of_numbers(user_client, mine) -> None:
    response = user_client.get(SEARCH_URL, {"receiver_number": "+442000000002,+44 20 0000 0001"})

    assert response.json() == page(newest_first(mine))


def test_search_parameters_are_anded(user_client, mine, theirs) -> None:
    response = user_client.get(
        SEARCH_URL, {"sender_number": "+15550000001", "receiver_number": "+442000000001", "status": "queued"}
    )

    assert response.json() == page([message_json(mine[0])])


def test_search_by_status(user_client, mine) -> None:
    response = user_client.get(SEARCH_URL, {"status": "sent"})

    assert response.json() == page([message_json(mine[1])])


def test_search_by_creation_time(user_client, mine) -> None:
    response = user_client.get(
        SEARCH_URL,
        {"created_after": (T0 + timedelta(minutes=1)).isoformat(), "created_before": "2024-05-01T12:02:00Z"},
    )

    assert response.json() == page([message_json(mine[1])])


def test_search_without_parameters_lists_the_callers_messages(user_client, mine, theirs) -> None:
    response = user_client.get(SEARCH_URL)

    assert response.json() == page(newest_first(mine))


def test_empty_search_parameters_count_as_absent(user_client, mine) -> None:
    response = user_client.get(
        SEARCH_URL, {"message_id": "", "sender_number": "", "status": "", "created_after": "", "receiver_number": ","}
    )

    assert response.json() == page(newest_first(mine))


def test_search_never_finds_another_accounts_messages(user_client, mine, theirs) -> None:
    by_id = user_client.get(SEARCH_URL, {"message_id": ",".join(m.message_id for m in theirs)})
    by_number = user_client.get(SEARCH_URL, {"sender_number": "+15550000002", "receiver_number": "+442000000002"})

    assert by_id.json() == page([])
    assert by_number.json() == page([])


def test_an_admin_searches_every_account(admin_client, mine, theirs) -> None:
    response = admin_client.get(SEARCH_URL, {"sender_number": "+15550000002"})

    assert response.json() == page(newest_first([mine[1], theirs[1]]))


def test_search_by_an_alphanumeric_sender_id(user_client, user, mine) -> None:
    shop = MessageFactory(account_id=user.account_id, sender_number="My Shop", created_at=T0 + timedelta(minutes=3))

    response = user_client.get(f"{SEARCH_URL}?sender_number=My%20Shop")

    assert response.status_code == 200
    assert response.json() == page([message_json(shop)])


def test_search_by_senders_of_both_kinds_with_an_unencoded_plus(user_client, user, mine) -> None:
    shop = MessageFactory(account_id=user.account_id, sender_number="MyShop", created_at=T0 + timedelta(minutes=3))

    # The '+' of the number arrives as a space; the sender ID after the comma keeps its leading digit.
    response = user_client.get(f"{SEARCH_URL}?sender_number=MyShop,+15550000002, 1Shop")

    assert response.json() == page(newest_first([shop, mine[1]]))


@pytest.mark.parametrize("sender", ["My-Shop", "TwelveLetter", "12345", "My_Shop"])
def test_search_by_a_sender_the_create_would_refuse_is_400(user_client, sender) -> None:
    response = user_client.get(SEARCH_URL, {"sender_number": f"MyShop,{sender}"})

    assert response.status_code == 400
    assert list(response.json()) == ["sender_number"]
    assert sender in response.json()["sender_number"][0]
    assert "alphanumeric sender ID" in response.json()["sender_number"][0]


@pytest.mark.parametrize("parameter", ["sender_number", "receiver_number"])
@pytest.mark.parametrize("number", ["15550000001", "+1555abc0001", "+1234567", "+1234567890123456"])
def test_search_with_a_number_that_does_not_normalise_is_400(user_client, parameter, number) -> None:
    response = user_client.get(SEARCH_URL, {parameter: f"+15550000001,{number}"})

    assert response.status_code == 400
    assert list(response.json()) == [parameter]
    assert number in response.json()[parameter][0]


@pytest.mark.parametrize("parameter", ["created_after", "created_before"])
@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "2024-05-01T25:00:00Z"])
def test_search_with_a_malformed_date_is_400(user_client, parameter, value) -> None:
    response = user_client.get(SEARCH_URL, {parameter: value})

    assert response.status_code == 400
    assert response.json() == {parameter: ["Enter a valid date/time."]}


def test_search_takes_any_offset_python_reads_and_compares_in_utc(user_client, mine) -> None:
    # +23:44 is valid ISO 8601 but outside PostgreSQL's range of offsets; in UTC it is an ordinary time.
    response = user_client.get(SEARCH_URL, {"created_before": "4345-03-24T15:18:00+23:44"})

    assert response.status_code == 200
    assert response.json() == page(newest_first(mine))


@pytest.mark.parametrize("parameter", ["created_after", "created_before"])
def test_search_with_a_time_past_the_calendar_in_utc_is_400(user_client, parameter) -> None:
    response = user_client.get(SEARCH_URL, {parameter: "9999-12-31T23:59:00-05:00"})

    assert response.status_code == 400
    assert response.json() == {parameter: ["Enter a valid date/time."]}


def test_search_with_an_unknown_status_is_400(user_client) -> None:
    response = user_client.get(SEARCH_URL, {"status": "lost"})

    assert response.status_code == 400
    assert response.json() == {"status": ["Select a valid choice. lost is not one of the available choices."]}


@pytest.mark.parametrize("parameter", ["message_id", "sender_number", "receiver_number"])
def test_search_lists_take_at_most_100_values(user_client, mine, parameter) -> None:
    values = [f"+1555{n:07d}" for n in range(MAX_LIST_VALUES + 1)]

    at_limit = user_client.get(SEARCH_URL, {parameter: ",".join(values[:MAX_LIST_VALUES])})
    over = user_client.get(SEARCH_URL, {parameter: ",".join(values)})

    assert at_limit.status_code == 200
    assert over.status_code == 400
    assert over.json() == {parameter: ["Give at most 100 comma-separated values; 101 were given."]}


def test_search_needs_authentication(api_client) -> None:
    assert api_client.get(SEARCH_URL).status_code == 401


def test_pages_either_side_of_the_deferred_join_continue_each_other(
    user_client, user, django_capture_on_commit_callbacks
) -> None:
    Message.objects.bulk_create(MessageFactory.build_batch(DEFERRED_JOIN_FROM_OFFSET + 30, account_id=user.account_id))
    first_deferred_page = DEFERRED_JOIN_FROM_OFFSET // 20 + 1
    pages = (first_deferred_page - 1, first_deferred_page, first_deferred_page + 1)

    def newest_first() -> list[str]:
        mine = Message.objects.filter(account_id=user.account_id).order_by("-created_at", "-id")
        return list(mine.values_list("message_id", flat=True))

    def read_pages() -> list[str]:
        seen = []
        for number in pages:
            body = user_client.get(MESSAGES_URL, {"page": number, "page_size": 20}).json()
            assert body["count"] == len(newest_first())
            seen += [row["message_id"] for row in body["results"]]
        return seen

    start = (first_deferred_page - 2) * 20
    assert read_pages() == newest_first()[start : start + 60]  # the last plain page, then two by deferred join

    with django_capture_on_commit_callbacks(execute=True):
        MessageFactory(account_id=user.account_id)  # the newest: every page starts one message later
    assert read_pages() == newest_first()[start : start + 60]


def test_every_read_shows_the_status_callback_null_when_none(user_client, user, mine) -> None:
    hooked = MessageFactory(
        account_id=user.account_id,
        created_at=T0 + timedelta(minutes=3),
        status_callback="https://hooks.example.com/status",
    )
    paths = [
        MESSAGES_URL,
        f"{SEARCH_URL}?sender_number={hooked.sender_number},{mine[0].sender_number}",
        account_messages_url(user.account_id),
    ]
    for path in paths:
        shown = {row["message_id"]: row["status_callback"] for row in user_client.get(path).json()["results"]}
        assert shown[hooked.message_id] == "https://hooks.example.com/status", path
        assert shown[mine[0].message_id] is None, path

    assert user_client.get(detail_url(hooked.message_id)).json()["status_callback"] == hooked.status_callback
    assert user_client.get(detail_url(mine[0].message_id)).json()["status_callback"] is None
