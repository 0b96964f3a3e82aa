"""Schema fuzzing: every operation of `/api/schema/`, driven by schemathesis through the WSGI app in-process, as an
anonymous client, as a user and as an admin.

Each answer must be no 5xx, have a status code, a content type and a body that the schema documents for that
operation. Run alone with `pytest -m fuzz`. The run is bounded and derandomized (a fixed seed), so CI sees the same
requests every time.
"""

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.users.models import User
from tests.quality.conftest import World
from tests.users.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation and role: the coverage phase (boundary and invalid values, deterministic), the schema's examples,
# and at most this many generated cases. Enough to find shape and status mistakes; small enough for a few minutes.
MAX_EXAMPLES = 12
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20250609,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    }
)
# Signing out or changing the password would end the session the rest of the run uses.
KEEPS_THE_TOKEN = r"^/api/v1/auth/(logout|password/change)/$"

application = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)


@pytest.fixture(autouse=True)
def _one_connection_for_the_test() -> Iterator[None]:
    """The WSGI handler closes the database connection after every request, as a server should; here the test's
    transaction must outlive each request (Django's test client makes the same exception)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


def _real_ids(world: World) -> dict[str, list[Any]]:
    """Values of each path parameter that name a row: the caller's own, another account's, deleted ones."""
    return {
        "/api/v1/products/{id}/": [p.pk for p in world.products] + [world.deleted_product.pk],
        "/api/v1/users/{id}/": [u.pk for u in world.users()],
        "/api/v1/inbound-messages/{message_id}/": [world.inbound.message_id],
        "{message_id}": [m.message_id for ms in world.messages.values() for m in ms],
        "{account_id}": [str(u.account_id) for u in world.users()],
        "/api/v1/accounts/me/opt-outs/{id}/": [o.pk for o in world.opt_outs],
    }


def _real_bodies(world: World) -> dict[str, Callable[[int], dict[str, Any]]]:
    """Body fields that must name a row or a secret to get past validation, by operation."""
    return {
        "POST /api/v1/auth/login/": lambda n: {"email": world.users()[n % 3].email, "password": DEFAULT_PASSWORD},
        "POST /api/v1/auth/refresh/": lambda n: {"refresh": str(RefreshToken.for_user(world.users()[n % 3]))},
        "POST /api/v1/products/": lambda n: {"category": world.categories[n % 2].slug},
        "PATCH /api/v1/products/{id}/": lambda n: {"category": world.categories[n % 2].slug},
        "POST /api/v1/messages/": lambda n: (
            {"account_id": str(world.users()[n % 3].account_id)} if n % 4 else {"in_reply_to": world.inbound.message_id}
        ),
        "POST /api/v1/accounts/me/opt-outs/": lambda n: (
            {"recipient_number": f"+4420794609{n % 100:02d}"} | ({"sender_number": None} if n % 3 else {})
        ),
    }


@pytest.fixture
def aim_at_rows(world: World) -> Callable[[Any], None]:
    """Every other case gets real ids in its path and real references in its body instead of generated ones (in
    turn, so the run stays deterministic): generated ids alone would only ever see 404s and 400s."""
    path_pools = _real_ids(world)
    bodies = _real_bodies(world)
    turn = itertools.count()

    def aim(case: Any) -> None:
        n = next(turn)
        if n % 2:
            return
        n //= 2
        for name in case.path_parameters or {}:
            pool = next(
                (ids for where, ids in path_pools.items() if case.path.startswith(where) or where == f"{{{name}}}"), []
            )
            if pool:
                case.path_parameters[name] = pool[n % len(pool)]
        real_body = bodies.get(f"{case.method} {case.path}")
        if real_body is not None and isinstance(case.body, dict):
            case.body.update(real_body(n))

    return aim


@pytest.fixture
def user_headers(world: World) -> dict[str, str]:
    return _bearer(world.user)


@pytest.fixture
def admin_headers(world: World) -> dict[str, str]:
    return _bearer(world.admin)


def _fuzz(case: Any, aim_at_rows: Callable[[Any], None], headers: dict[str, str] | None = None) -> None:
    aim_at_rows(case)
    case.call_and_validate(headers=headers, checks=CHECKS)


FIXTURE_SCOPED = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@schema.parametrize()
@FIXTURE_SCOPED
def test_as_anonymous(case, aim_at_rows) -> None:
    _fuzz(case, aim_at_rows)


@schema.exclude(path_regex=KEEPS_THE_TOKEN).parametrize()
@FIXTURE_SCOPED
def test_as_user(case, user_headers, aim_at_rows) -> None:
    _fuzz(case, aim_at_rows, user_headers)


@schema.exclude(path_regex=KEEPS_THE_TOKEN).parametrize()
@FIXTURE_SCOPED
def test_as_admin(case, admin_headers, aim_at_rows) -> None:
    _fuzz(case, aim_at_rows, admin_headers)
