import uuid

import factory

from apps.messages.models import Message
from tests.helpers.factories import ModelFactory


class MessageFactory(ModelFactory[Message]):
    class Meta:
        model = Message

    account_id = factory.LazyFunction(uuid.uuid4)
    sender_number = factory.Sequence(lambda n: f"+1555{n:07d}")
    receiver_number = factory.Sequence(lambda n: f"+4420{n:07d}")
    body = factory.Faker("sentence")
