import uuid
from typing import Any

import factory

from apps.messages.models import Message
from apps.messages.pagination import forget_account_counts
from tests.helpers.factories import ModelFactory


class MessageFactory(ModelFactory[Message]):
    class Meta:
        model = Message

    account_id = factory.LazyFunction(uuid.uuid4)
    sender_number = factory.Sequence(lambda n: f"+1555{n:07d}")
    receiver_number = factory.Sequence(lambda n: f"+4420{n:07d}")
    body = factory.Faker("sentence")

    @classmethod
    def _create(cls, model_class: type[Message], *args: Any, **kwargs: Any) -> Message:
        # Stands for a message the create service inserted, which makes its account's cached counts stale.
        message: Message = super()._create(model_class, *args, **kwargs)
        forget_account_counts({message.account_id})
        return message
