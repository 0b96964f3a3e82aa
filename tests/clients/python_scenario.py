"""The first-hour scenario driven only through the client openapi-python-client generated from the served schema.

Run by tests/clients/test_generated_clients.py as `python -m tests.clients.python_scenario URL ADMIN_EMAIL
PASSWORD` with the generated package on PYTHONPATH; it exits non-zero at the first step that goes wrong.
"""

import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus

from django_rest_monolith_client import AuthenticatedClient, Client
from django_rest_monolith_client.api.auth import auth_login, auth_logout, auth_refresh, auth_register
from django_rest_monolith_client.api.categories import categories_create
from django_rest_monolith_client.api.messages import (
    accounts_me_messaging_partial_update,
    accounts_me_opt_outs_create,
    accounts_me_opt_outs_destroy,
    accounts_me_opt_outs_list,
    messages_cancel_create,
    messages_create,
    messages_list,
    messages_retrieve,
    messages_search_list,
)
from django_rest_monolith_client.api.products import (
    products_availability_partial_update,
    products_create,
    products_list,
    products_price_history_list,
    products_price_partial_update,
)
from django_rest_monolith_client.api.users import users_me_retrieve
from django_rest_monolith_client.models import (
    CategoryRequest,
    LoginRequest,
    MessageCreateRequest,
    OptOutInputRequest,
    PatchedMessagingSettingsRequest,
    PatchedProductAvailabilityInputRequest,
    PatchedProductPriceInputRequest,
    ProductRequest,
    ProductsListOrderingItem,
    RefreshInputRequest,
    RegisterRequest,
)


def expect(response, status: HTTPStatus):
    assert response.status_code == status, f"{status} expected, got {response.status_code}: {response.content!r}"
    return response.parsed


def main(base_url: str, admin_email: str, password: str) -> None:
    tag = f"py{uuid.uuid4().hex[:8]}"
    anonymous = Client(base_url=base_url, timeout=30)

    # register, login, me
    email = f"{tag}@example.com"
    body = RegisterRequest(email=email, password="a-long-client-password-5s", full_name="Py Client")
    registered = expect(auth_register.sync_detailed(client=anonymous, body=body), HTTPStatus.CREATED)
    assert registered.email == email
    assert registered.role.value == "user"
    login = LoginRequest(email=email, password="a-long-client-password-5s")
    tokens = expect(auth_login.sync_detailed(client=anonymous, body=login), HTTPStatus.OK)
    user = AuthenticatedClient(base_url=base_url, token=tokens.access, timeout=30)
    me = expect(users_me_retrieve.sync_detailed(client=user), HTTPStatus.OK)
    assert (me.id, me.email, me.account_id) == (registered.id, email, registered.account_id)

    # admin: a category and three products, one unavailable
    admin_login = LoginRequest(email=admin_email, password=password)
    admin_tokens = expect(auth_login.sync_detailed(client=anonymous, body=admin_login), HTTPStatus.OK)
    admin = AuthenticatedClient(base_url=base_url, token=admin_tokens.access, timeout=30)
    category = CategoryRequest(slug=f"{tag}-tools", name="Client tools")
    expect(categories_create.sync_detailed(client=admin, body=category), HTTPStatus.CREATED)
    created = {}
    for sku, name, price, available in [
        ("A", "Anvil", "10.00", True),
        ("B", "Brush", "10.00", True),
        ("C", "Chisel", "5.50", True),
        ("D", "Drill", "7.00", False),
    ]:
        request = ProductRequest(
            sku=f"{tag}-{sku}", name=name, category=category.slug, price=price, stock=3, is_available=available
        )
        product = expect(products_create.sync_detailed(client=admin, body=request), HTTPStatus.CREATED)
        assert product.is_available is available
        assert Decimal(product.price) == Decimal(price)
        created[sku] = product

    # price change and its history
    anvil = created["A"]
    new_price = PatchedProductPriceInputRequest(price="12.25")
    changed = expect(products_price_partial_update.sync_detailed(anvil.id, client=admin, body=new_price), HTTPStatus.OK)
    assert changed.price == "12.25"
    history = expect(products_price_history_list.sync_detailed(anvil.id, client=user), HTTPStatus.OK)
    assert [(h.old_price, h.new_price) for h in history.results] == [("10.00", "12.25")]

    # availability off and on
    brush = created["B"]
    for available in (False, True):
        body_ = PatchedProductAvailabilityInputRequest(is_available=available)
        answer = expect(
            products_availability_partial_update.sync_detailed(brush.id, client=admin, body=body_), HTTPStatus.OK
        )
        assert answer.is_available is available

    # filtered list, two-key ordering: price ascending, then name descending
    ordering = [ProductsListOrderingItem.PRICE, ProductsListOrderingItem.NAME_DESC]
    page = expect(
        products_list.sync_detailed(client=user, category=category.slug, is_available=True, ordering=ordering),
        HTTPStatus.OK,
    )
    assert [p.name for p in page.results] == ["Chisel", "Brush", "Anvil"], [p.name for p in page.results]
    assert page.count == 3
    reverse = [ProductsListOrderingItem.NAME, ProductsListOrderingItem.PRICE_DESC]
    page = expect(products_list.sync_detailed(client=user, category=category.slug, ordering=reverse), HTTPStatus.OK)
    assert [p.name for p in page.results] == ["Anvil", "Brush", "Chisel", "Drill"], [p.name for p in page.results]

    # a message with an Idempotency-Key, its replay, list, retrieve, search
    message = MessageCreateRequest(sender_number="+15550001111", receiver_number="+447700900123", body="Hello")
    key = f"{tag}-key"
    first = expect(messages_create.sync_detailed(client=user, body=message, idempotency_key=key), HTTPStatus.CREATED)
    assert first.status.value == "queued"
    assert str(first.account_id) == str(me.account_id)
    replay = messages_create.sync_detailed(client=user, body=message, idempotency_key=key)
    assert replay.status_code in (HTTPStatus.OK, HTTPStatus.CREATED), replay.content
    assert replay.parsed.message_id == first.message_id
    listed = expect(messages_list.sync_detailed(client=user), HTTPStatus.OK)
    assert [m.message_id for m in listed.results] == [first.message_id]
    one = expect(messages_retrieve.sync_detailed(first.message_id, client=user), HTTPStatus.OK)
    assert (one.body, one.receiver_number) == ("Hello", "+447700900123")
    found = expect(messages_search_list.sync_detailed(client=user, receiver_number="+44 7700 900123"), HTTPStatus.OK)
    assert [m.message_id for m in found.results] == [first.message_id]

    # a scheduled message: its segments, then canceled (twice: the same answer)
    send_at = datetime.now(UTC) + timedelta(minutes=10)
    later = MessageCreateRequest(
        sender_number="+15550001111", receiver_number="+447700900123", body="Later €", send_at=send_at
    )
    scheduled = expect(messages_create.sync_detailed(client=user, body=later), HTTPStatus.CREATED)
    assert (scheduled.status.value, scheduled.encoding.value, scheduled.segments) == ("scheduled", "GSM-7", 1)
    assert scheduled.send_at == send_at
    canceled = expect(messages_cancel_create.sync_detailed(scheduled.message_id, client=user), HTTPStatus.OK)
    assert canceled.status.value == "canceled"
    again_canceled = expect(messages_cancel_create.sync_detailed(scheduled.message_id, client=user), HTTPStatus.OK)
    assert again_canceled.status.value == "canceled"

    # an opt-out refuses a create to its recipient until it is taken back; the account's answer to HELP
    opted_out = OptOutInputRequest(recipient_number="+44 7700 900124")
    opt_out = expect(accounts_me_opt_outs_create.sync_detailed(client=user, body=opted_out), HTTPStatus.CREATED)
    assert (opt_out.recipient_number, opt_out.sender_number, opt_out.source.value) == ("+447700900124", None, "api")
    to_opted_out = MessageCreateRequest(sender_number="+15550001111", receiver_number="+447700900124", body="Hi")
    refused = messages_create.sync_detailed(client=user, body=to_opted_out)
    assert refused.status_code == HTTPStatus.FORBIDDEN, refused.content
    assert refused.parsed.code == "recipient_opted_out"
    opt_outs = expect(
        accounts_me_opt_outs_list.sync_detailed(client=user, recipient_number="+447700900124"), HTTPStatus.OK
    )
    assert [o.id for o in opt_outs.results] == [opt_out.id]
    expect(accounts_me_opt_outs_destroy.sync_detailed(opt_out.id, client=user), HTTPStatus.NO_CONTENT)
    expect(messages_create.sync_detailed(client=user, body=to_opted_out), HTTPStatus.CREATED)
    help_text = PatchedMessagingSettingsRequest(help_text="Client help.")
    texts = expect(accounts_me_messaging_partial_update.sync_detailed(client=user, body=help_text), HTTPStatus.OK)
    assert texts.help_text == "Client help."

    # refresh, then logout with the new refresh token; both are dead afterwards (a replay of the rotated one would
    # also revoke every session of the account, so it comes last)
    refreshed = expect(
        auth_refresh.sync_detailed(client=anonymous, body=RefreshInputRequest(refresh=tokens.refresh)), HTTPStatus.OK
    )
    assert refreshed.refresh != tokens.refresh
    user = AuthenticatedClient(base_url=base_url, token=refreshed.access, timeout=30)
    expect(
        auth_logout.sync_detailed(client=user, body=RefreshInputRequest(refresh=refreshed.refresh)),
        HTTPStatus.NO_CONTENT,
    )
    after = auth_refresh.sync_detailed(client=anonymous, body=RefreshInputRequest(refresh=refreshed.refresh))
    assert after.status_code == HTTPStatus.UNAUTHORIZED
    again = auth_refresh.sync_detailed(client=anonymous, body=RefreshInputRequest(refresh=tokens.refresh))
    assert again.status_code == HTTPStatus.UNAUTHORIZED
    assert again.parsed.code == "token_not_valid"
    print("python scenario: ok")


if __name__ == "__main__":
    main(*sys.argv[1:4])
