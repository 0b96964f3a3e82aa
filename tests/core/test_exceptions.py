"""Every domain error comes out of the one handler as its declared status, `{"detail", "code"}` and the headers DRF
adds (apps/core/exceptions.py)."""

import pytest

from apps.core.exceptions import ApplicationError
from tests.core.urls_for_errors import application_errors

ERRORS = application_errors()
# Errors of a peer we depend on, not of the caller's request.
UPSTREAM_STATUSES = {502, 503, 504}


def test_the_domain_errors_are_all_found() -> None:
    assert {
        "apps.core.exceptions.Conflict",
        "apps.messages.acceptance.idempotency.IdempotencyConflict",
        "apps.products.services.ProductGone",
    } <= set(ERRORS)
    assert any(error.status_code == 401 for error in ERRORS.values())


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_every_application_error_is_its_declared_status(api_client, db, settings, name) -> None:
    settings.ROOT_URLCONF = "tests.core.urls_for_errors"
    error = ERRORS[name]
    assert 400 <= error.status_code < 500 or error.status_code in UPSTREAM_STATUSES, name
    assert error.code != ApplicationError.code, f"{name} needs a code of its own"

    response = api_client.get(f"/api/v1/test-raise/{name}/")

    assert response.status_code == error.status_code
    assert response.json() == {"detail": error.default_detail, "code": error.code}
    if error.status_code == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    else:
        assert "WWW-Authenticate" not in response


def test_the_codes_are_stable_and_distinct() -> None:
    codes = [error.code for error in ERRORS.values()]
    assert len(codes) == len(set(codes))
