"""A small JSON client for talking to a server process over real HTTP (the soak, and the tests' server runs)."""

import json
import urllib.error
import urllib.request
from typing import Any

NO_ANSWER = 599  # the status reported when the server did not answer at all (refused, reset, timed out)


def json_call(
    base: str, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None, timeout: float = 30
) -> tuple[int, Any]:
    """`method` `base+path` with a JSON body and an optional bearer token; returns (status, decoded body or None).

    A server that does not answer gives (NO_ANSWER, None)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
        base + path, method=method, headers=headers, data=json.dumps(body).encode() if body is not None else None
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, _decoded(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _decoded(error.read())
    except OSError:
        return NO_ANSWER, None


def _decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return None
