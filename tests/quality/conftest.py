"""A small, fixed world for the quality gates: one user, another user and an admin, each with messages, the user
with an owned number and an inbound message on it, and a catalog with live and deleted products, so requests that
name an id can hit real rows."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.messages.models import InboundMessage, Message, OptOut, SenderNumber
from apps.products.models import Category, PriceChange, Product
from apps.users.models import User
from tests.messages.factories import MessageFactory
from tests.products.factories import CategoryFactory, PriceChangeFactory, ProductFactory
from tests.users.factories import UserFactory


@dataclass
class World:
    user: User
    other_user: User
    admin: User
    categories: list[Category]
    products: list[Product]
    deleted_product: Product
    price_changes: list[PriceChange]
    inbound: InboundMessage
    messages: dict[str, list[Message]] = field(default_factory=dict)
    opt_outs: list[OptOut] = field(default_factory=list)  # the user's, then the other user's

    def users(self) -> list[User]:
        return [self.user, self.other_user, self.admin]


def _messages_for(user: User, count: int) -> list[Message]:
    return [
        MessageFactory(
            account_id=user.account_id,
            status=Message.Status.SENT if n % 2 else Message.Status.QUEUED,
            sent_at=timezone.now() if n % 2 else None,
            created_at=timezone.now() - timedelta(minutes=n),
        )
        for n in range(count)
    ]


@pytest.fixture
def world(db) -> World:
    user = UserFactory(full_name="Una User")
    other_user = UserFactory(full_name="Otto Other")
    admin = UserFactory(role="admin", full_name="Ada Admin")
    categories = [CategoryFactory(slug="tools", name="Tools"), CategoryFactory(slug="books", name="Books")]
    products = [
        ProductFactory(sku="HAM-001", name="Claw hammer", category=categories[0], price=Decimal("19.99")),
        ProductFactory(sku="SAW-002", name="Hand saw", category=categories[0], price=Decimal("24.50"), stock=0),
        ProductFactory(sku="BOK-003", name="Field guide", category=categories[1], is_available=False),
    ]
    deleted_product = ProductFactory(sku="OLD-004", name="Retired drill", category=categories[0])
    deleted_product.deleted_at = timezone.now()
    deleted_product.save(update_fields=["deleted_at"])
    price_changes = [PriceChangeFactory(product=products[0], changed_by=admin)]
    messages = {
        "user": _messages_for(user, 3),
        "other_user": _messages_for(other_user, 2),
        "admin": _messages_for(admin, 1),
    }
    SenderNumber.objects.create(account_id=user.account_id, value="+15550007001", kind="phone")
    inbound = InboundMessage.objects.create(
        account_id=user.account_id,
        backend="http",
        from_number="+447700900001",
        to_number="+15550007001",
        body="Hello",
        parts_received=1,
        status=InboundMessage.Status.COMPLETE,
        completed_at=timezone.now(),
    )
    return World(
        user=user,
        other_user=other_user,
        admin=admin,
        categories=categories,
        products=products,
        deleted_product=deleted_product,
        price_changes=price_changes,
        messages=messages,
        opt_outs=[
            OptOut.objects.create(account_id=owner.account_id, recipient_number="+442079460000", source="api")
            for owner in (user, other_user)
        ],
        inbound=inbound,
    )
