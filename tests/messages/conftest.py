from collections.abc import Iterator

import pytest

from apps.messages.backends import locmem


@pytest.fixture(autouse=True)
def _empty_sms_outbox() -> Iterator[None]:
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def payload() -> dict[str, str]:
    return {"sender_number": "+15551230001", "receiver_number": "+442079460958", "body": "Hello there"}
