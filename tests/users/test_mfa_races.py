"""Two-factor enrolment under real parallel requests on PostgreSQL: setups started at once (a double click, two
tabs) leave one authenticator waiting for confirmation, never several of which the confirmation checks the oldest."""

import threading
from base64 import b32encode
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from .factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SETUP = "/api/v1/auth/2fa/setup/"
THREADS = 6


def test_parallel_setups_leave_one_authenticator_waiting() -> None:
    user = UserFactory()
    barrier = threading.Barrier(THREADS)

    def setup():
        try:
            client = APIClient()
            client.force_authenticate(user)
            barrier.wait(timeout=10)
            return client.post(SETUP)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = [future.result(timeout=30) for future in [pool.submit(setup) for _ in range(THREADS)]]

    assert [answer.status_code for answer in answers] == [200] * THREADS
    waiting = TOTPDevice.objects.get(user=user, confirmed=False)
    assert b32encode(waiting.bin_key).decode() in {answer.json()["secret"] for answer in answers}
