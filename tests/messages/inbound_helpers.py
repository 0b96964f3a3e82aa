"""Shared by the inbound tests: the gateway's signed POST, an account that owns a number, and the events a receiver
got."""

import json
from typing import Any

from apps.messages import signatures
from apps.messages.models import SenderNumber

INBOUND_URL = "/api/v1/messages/inbound/http/"
INBOUND_MESSAGES_URL = "/api/v1/inbound-messages/"
INBOUND_SEARCH_URL = "/api/v1/inbound-messages/search/"
STATUS_CALLBACK_URL = "/api/v1/accounts/me/status-callback/"
GATEWAY_SECRET = "gateway-shared-secret"
OUR_NUMBER = "+15550009001"
CUSTOMER = "+447700900123"


def own_number(account_id: Any, value: str = OUR_NUMBER, inbound_url: str = "") -> SenderNumber:
    return SenderNumber.objects.create(account_id=account_id, value=value, kind="phone", inbound_url=inbound_url)


def inbound_body(gateway_id: str, body: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {"from": CUSTOMER, "to": OUR_NUMBER, "body": body, "gateway_message_id": gateway_id, **extra}


def post_inbound(
    client: Any, payload: dict[str, Any], *, secret: str = GATEWAY_SECRET, now: float | None = None
) -> Any:
    body = json.dumps(payload).encode()
    headers = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in signatures.signed_headers(secret=secret, body=body, now=now).items()
    }
    return client.post(INBOUND_URL, body, content_type="application/json", **headers)
