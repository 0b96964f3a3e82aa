"""A small JSON client for tests that talk to a server process over real HTTP."""

import json
import urllib.error
import urllib.request
from typing import Any


def json_call(
    base: str, method: str, path: str, body: dict | None = None, token: str | None = None, timeout: float = 30
) -> tuple[int, Any]:
    """`method` `base+path` with a JSON body and an optional bearer token; returns (status, decoded body)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
        base + path, method=method, headers=headers, data=json.dumps(body).encode() if body is not None else None
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
