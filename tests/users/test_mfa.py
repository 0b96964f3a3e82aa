"""Two-factor authentication: enrolment through the API and the admin, and sign-ins that then ask for a code.

Codes are computed with django-otp's own TOTP from the device's key. A time step's code is accepted once (django-otp
keeps the last step used), so `code_for` gives the first step the device still accepts: the current one, or the
next once the current one is spent (the device accepts one step either side of its clock).
"""

import re
import time
from base64 import b32decode
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from apps.core.models import AuditEvent
from apps.users.mfa import services
from apps.users.models import User

from .factories import DEFAULT_PASSWORD, UserFactory

LOGIN = "/api/v1/auth/login/"
SETUP = "/api/v1/auth/2fa/setup/"
CONFIRM = "/api/v1/auth/2fa/confirm/"
TWO_FA = "/api/v1/auth/2fa/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"
ENROL = "/admin/mfa/enrol/"
STOPPED_CLOCK = 3_600_000.0 + 10  # ten seconds into a window of any rate up to an hour

pytestmark = pytest.mark.django_db

OTP_REQUIRED = {
    "detail": "This account has two-factor authentication: send `otp`, a code of the authenticator app or a "
    "recovery code.",
    "code": "otp_required",
}
FORM_OTP_REQUIRED = (
    "This account has two-factor authentication: enter a code of your authenticator app, or a recovery code."
)
OTP_INVALID = {"detail": "The code is wrong, expired or already used.", "code": "otp_invalid"}


def totp_at(key: bytes, step: int) -> str:
    totp = TOTP(key)
    totp.time = step * 30
    return f"{totp.token():06d}"


def code_for(user: User) -> str:
    """A code the user's authenticator shows that the device has not accepted yet."""
    device = TOTPDevice.objects.get(user=user)
    now = TOTP(device.bin_key, device.step, device.t0, device.digits)
    now.time = time.time()
    return totp_at(device.bin_key, max(now.t(), device.last_t + 1))


def wrong_code(user: User) -> str:
    right = {code_for(user)}
    return next(code for code in ("000000", "111111", "222222") if code not in right)


def enrol(client: APIClient) -> list[str]:
    """Enrol through the API as an app would: read the secret off the otpauth URI, confirm its current code."""
    setup = client.post(SETUP)
    assert setup.status_code == 200, setup.content
    uri = setup.json()["otpauth_uri"]
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    assert secret == setup.json()["secret"]
    now = TOTP(b32decode(secret))
    response = client.post(CONFIRM, {"otp": totp_at(b32decode(secret), now.t())})
    assert response.status_code == 200, response.content
    return response.json()["recovery_codes"]


def sign_in(client: APIClient, user: User, **extra: str):
    return client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD, **extra})


def actions(user: User) -> list[str]:
    return list(AuditEvent.objects.filter(object_id=str(user.pk)).order_by("pk").values_list("action", flat=True))


@pytest.fixture
def enrolled(user, user_client) -> tuple[User, list[str]]:
    return user, enrol(user_client)


@pytest.fixture
def stopped_clock(monkeypatch) -> None:
    """The rate windows (DRF's throttle clock) stand still ten seconds into one, so no test straddles two."""
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: STOPPED_CLOCK)


# --- API ------------------------------------------------------------------------------------------------------


def test_setup_answers_an_unconfirmed_authenticator(user, user_client) -> None:
    response = user_client.post(SETUP)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"otpauth_uri", "secret"}
    assert body["otpauth_uri"].startswith(f"otpauth://totp/django-rest-monolith%3A{user.email.replace('@', '%40')}?")
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    assert b32decode(body["secret"]) == device.bin_key
    assert sign_in(APIClient(), user).status_code == 200  # nothing asked for until it is confirmed


def test_a_wrong_first_code_confirms_nothing(user, user_client) -> None:
    user_client.post(SETUP)

    response = user_client.post(CONFIRM, {"otp": wrong_code(user)})

    assert (response.status_code, response.json()) == (400, {"otp": [OTP_INVALID["detail"]]})
    assert TOTPDevice.objects.get(user=user).confirmed is False
    assert actions(user)[-1] == "auth.otp_failed"
    assert sign_in(APIClient(), user).status_code == 200


def test_confirm_without_setup_is_a_conflict(user, user_client) -> None:
    response = user_client.post(CONFIRM, {"otp": "123456"})
    assert response.status_code == 409
    assert response.json()["code"] == "otp_not_set_up"


def test_confirm_answers_ten_recovery_codes_once(enrolled, user_client) -> None:
    user, codes = enrolled
    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[a-z2-7]{8}", code) for code in codes)
    assert user_client.get(TWO_FA).json() == {"enabled": True, "recovery_codes_left": 10}
    assert "auth.mfa_enabled" in actions(user)
    again = user_client.post(SETUP)
    assert again.status_code == 409
    assert again.json()["code"] == "otp_already_enabled"


def test_sign_in_without_a_code_is_refused_for_an_enrolled_user(enrolled, api_client) -> None:
    user, _codes = enrolled

    response = sign_in(api_client, user)

    assert (response.status_code, response.json()) == (401, OTP_REQUIRED)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_sign_in_with_the_right_code_answers_tokens(enrolled, api_client) -> None:
    user, _codes = enrolled

    response = sign_in(api_client, user, otp=code_for(user))

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    assert actions(user)[-1] == "auth.login"


def test_a_wrong_code_is_refused_and_audited(enrolled, api_client, settings) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user, _codes = enrolled

    response = sign_in(api_client, user, otp=wrong_code(user))

    assert (response.status_code, response.json()) == (401, OTP_INVALID)
    failure = AuditEvent.objects.filter(action="auth.otp_failed", object_id=str(user.pk)).get()
    assert failure.changes == {"kind": "totp"}
    assert "auth.login" not in actions(user)


def test_a_wrong_password_with_the_right_code_is_still_wrong(enrolled, api_client) -> None:
    user, _codes = enrolled
    response = api_client.post(LOGIN, {"email": user.email, "password": "not-it-at-all", "otp": code_for(user)})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_a_code_is_accepted_once(enrolled, api_client, settings) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user, _codes = enrolled
    code = code_for(user)
    assert sign_in(api_client, user, otp=code).status_code == 200

    response = sign_in(api_client, user, otp=code)

    assert (response.status_code, response.json()) == (401, OTP_INVALID)


def test_a_recovery_code_signs_in_once(enrolled, api_client, user_client, settings) -> None:
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    user, codes = enrolled

    first = sign_in(api_client, user, otp=codes[3].upper())  # as read aloud or typed: case does not matter
    again = sign_in(api_client, user, otp=codes[3])

    assert first.status_code == 200, first.content
    assert (again.status_code, again.json()) == (401, OTP_INVALID)
    assert user_client.get(TWO_FA).json() == {"enabled": True, "recovery_codes_left": 9}
    used = AuditEvent.objects.filter(action="auth.recovery_code_used", object_id=str(user.pk)).get()
    assert used.changes == {"recovery_codes_left": 9}
    assert sign_in(api_client, user, otp=codes[4]).status_code == 200


def test_wrong_codes_are_limited_per_user(enrolled, api_client, settings, stopped_clock) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own backoff off: the per-user limit alone
    settings.OTP_THROTTLE_RATE = "3/min"
    user, _codes = enrolled
    for _attempt in range(3):
        assert sign_in(api_client, user, otp=wrong_code(user)).status_code == 401

    response = sign_in(APIClient(), user, otp=code_for(user))  # the right code, from another client

    assert response.status_code == 429
    assert response.json() == {"detail": "Too many wrong codes. Try again in 50 seconds.", "code": "otp_throttled"}
    assert response["Retry-After"] == "50"
    assert actions(user).count("auth.otp_failed") == 3


def test_a_right_code_does_not_spend_the_limit(enrolled, api_client, settings, stopped_clock) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_THROTTLE_RATE = "2/min"
    user, _codes = enrolled
    assert sign_in(api_client, user, otp=code_for(user)).status_code == 200
    assert sign_in(api_client, user, otp=wrong_code(user)).status_code == 401
    assert sign_in(api_client, user, otp=wrong_code(user)).status_code == 401
    assert sign_in(api_client, user, otp=wrong_code(user)).status_code == 429


def test_django_otp_backs_off_after_a_wrong_code(enrolled, api_client, settings) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 30
    user, _codes = enrolled
    assert sign_in(api_client, user, otp=wrong_code(user)).status_code == 401

    response = sign_in(api_client, user, otp=code_for(user))

    assert response.status_code == 429
    assert response.json()["code"] == "otp_throttled"
    assert 25 <= int(response["Retry-After"]) <= 31


def test_disable_with_a_code_turns_it_off(enrolled, api_client, user_client) -> None:
    user, _codes = enrolled

    response = user_client.delete(TWO_FA, {"otp": code_for(user)})

    assert response.status_code == 204
    assert user_client.get(TWO_FA).json() == {"enabled": False, "recovery_codes_left": 0}
    assert not StaticToken.objects.filter(device__user=user).exists()
    assert sign_in(api_client, user).status_code == 200
    assert actions(user)[-2:] == ["auth.mfa_disabled", "auth.login"]


def test_disable_with_the_password(enrolled, user_client) -> None:
    assert user_client.delete(TWO_FA, {"password": DEFAULT_PASSWORD}).status_code == 204


def test_disable_refuses_a_wrong_code(enrolled, user_client, settings) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user, _codes = enrolled

    response = user_client.delete(TWO_FA, {"otp": wrong_code(user)})

    assert (response.status_code, response.json()) == (400, {"otp": [OTP_INVALID["detail"]]})
    assert services.mfa_enabled(user=user)


def test_disable_refuses_a_wrong_password_or_no_proof(enrolled, user_client) -> None:
    user, _codes = enrolled

    wrong = user_client.delete(TWO_FA, {"password": "not-the-password"})
    nothing = user_client.delete(TWO_FA, {})

    assert (wrong.status_code, wrong.json()) == (400, {"password": ["The password is not correct."]})
    assert nothing.status_code == 400
    assert nothing.json() == {"non_field_errors": ["Send `otp` (a current code or a recovery code) or `password`."]}
    assert services.mfa_enabled(user=user)
    assert actions(user)[-1] == "auth.otp_failed"


def test_disable_by_password_is_a_password_door_behind_the_login_guard(
    enrolled, api_client, user_client, login_rate
) -> None:
    user, _codes = enrolled
    login_rate("3/min")
    for n in range(3):  # this address spends the login limit on other accounts
        api_client.post("/api/v1/auth/login/", {"email": f"someone{n}@example.com", "password": "guess"})

    wrong = user_client.delete(TWO_FA, {"password": "not-the-password"})
    right = user_client.delete(TWO_FA, {"password": DEFAULT_PASSWORD})

    assert wrong.status_code == right.status_code == 429
    assert 1 <= int(right["Retry-After"]) <= 60
    assert services.mfa_enabled(user=user)


def test_wrong_passwords_to_disable_count_as_failed_sign_ins(enrolled, api_client, user_client, login_rate) -> None:
    user, _codes = enrolled
    login_rate("3/min")
    for n in range(3):
        assert user_client.delete(TWO_FA, {"password": f"guess-{n}"}).status_code == 400

    right = api_client.post("/api/v1/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD})

    assert right.status_code == 429


def test_another_users_code_does_not_sign_in(enrolled, api_client, settings) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user, _codes = enrolled
    other = UserFactory()
    enrol_other = APIClient()
    enrol_other.force_authenticate(other)
    enrol(enrol_other)

    response = sign_in(api_client, user, otp=code_for(other))

    assert response.status_code == 401


# --- Races with another request of the same user -------------------------------------------------------------


def test_a_setup_that_replaces_the_authenticator_during_its_confirmation(user, user_client, monkeypatch) -> None:
    """A second setup (another tab, a double click) lands after the confirmation read the pending authenticator:
    the code came from the replaced one, so it is a wrong code (400), never a 500."""
    assert user_client.post(SETUP).status_code == 200
    first = TOTPDevice.objects.get(user=user)
    code = code_for(user)
    read = services.mfa_totp_device

    def read_then_setup(*, user: User, confirmed: bool = True) -> TOTPDevice | None:
        device = read(user=user, confirmed=confirmed)
        services.mfa_setup(user=user)
        return device

    monkeypatch.setattr(services, "mfa_totp_device", read_then_setup)

    response = user_client.post(CONFIRM, {"otp": code})

    assert (response.status_code, response.json()) == (400, {"otp": [OTP_INVALID["detail"]]})
    replacement = TOTPDevice.objects.get(user=user)
    assert (replacement.pk != first.pk, replacement.confirmed) == (True, False)
    assert not services.mfa_enabled(user=user)


def test_a_setup_that_replaces_the_authenticator_after_its_code_was_checked(user, user_client, monkeypatch) -> None:
    """The code was right for the authenticator a second setup then replaced: nothing is turned on with a secret
    the user no longer holds, and the answer is a 400 on `otp`, never a 500."""
    user_client.post(SETUP)
    code = code_for(user)
    check = services._check

    def check_then_setup(**kwargs):
        device = check(**kwargs)
        services.mfa_setup(user=kwargs["user"])
        return device

    monkeypatch.setattr(services, "_check", check_then_setup)

    response = user_client.post(CONFIRM, {"otp": code})

    assert (response.status_code, response.json()) == (400, {"otp": [OTP_INVALID["detail"]]})
    assert not services.mfa_enabled(user=user)
    assert not StaticToken.objects.filter(device__user=user).exists()


def test_two_confirmations_at_once_turn_it_on_once(user, user_client, monkeypatch) -> None:
    """Another confirmation (a code of the next time step) turned it on after this one's code was checked: this one
    is a 409 and the recovery codes the first answered stay the ones in force."""
    user_client.post(SETUP)
    code = code_for(user)
    check = services._check
    first_answer: list[str] = []

    def check_then_confirm_elsewhere(**kwargs):
        device = check(**kwargs)
        first_answer.extend(services._enable(user=kwargs["user"], device_id=device.pk)[1])
        return device

    monkeypatch.setattr(services, "_check", check_then_confirm_elsewhere)

    response = user_client.post(CONFIRM, {"otp": code})

    assert response.status_code == 409
    assert response.json()["code"] == "otp_already_enabled"
    in_force = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert in_force == set(first_answer)
    assert len(in_force) == 10


def test_a_sign_in_while_the_second_factor_is_turned_off(enrolled, api_client, monkeypatch) -> None:
    """The sign-in read the authenticator, then the user turned two-factor off elsewhere: a 401 the client can
    retry, never a 500."""
    user, _codes = enrolled
    code = code_for(user)
    read = services.mfa_totp_device

    def read_then_disable(*, user: User, confirmed: bool = True) -> TOTPDevice | None:
        device = read(user=user, confirmed=confirmed)
        services.mfa_disable(user=user, password=DEFAULT_PASSWORD)
        return device

    monkeypatch.setattr(services, "mfa_totp_device", read_then_disable)

    response = sign_in(api_client, user, otp=code)

    assert (response.status_code, response.json()) == (401, OTP_INVALID)
    monkeypatch.undo()
    assert sign_in(api_client, user).status_code == 200


# --- The admin ------------------------------------------------------------------------------------------------


def admin_sign_in(client: Client, user: User, **extra: str):
    return client.post(ADMIN_LOGIN, {"username": user.email, "password": DEFAULT_PASSWORD, **extra})


@pytest.fixture
def enrolled_admin(admin_user, auth_client) -> User:
    enrol(auth_client(admin_user))
    return admin_user


def test_admin_sign_in_of_an_enrolled_staff_member_asks_for_the_code(enrolled_admin) -> None:
    client = Client()

    response = admin_sign_in(client, enrolled_admin)

    assert response.status_code == 200  # the form again
    assert FORM_OTP_REQUIRED in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_admin_sign_in_with_the_code(enrolled_admin) -> None:
    client = Client()

    response = admin_sign_in(client, enrolled_admin, otp=code_for(enrolled_admin))

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_admin_sign_in_with_a_wrong_code_is_refused_and_counted(enrolled_admin, settings, stopped_clock) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_THROTTLE_RATE = "2/min"
    client = Client()
    for _attempt in range(2):
        refused = admin_sign_in(client, enrolled_admin, otp=wrong_code(enrolled_admin))
        assert OTP_INVALID["detail"] in refused.content.decode()

    response = admin_sign_in(client, enrolled_admin, otp=code_for(enrolled_admin))

    assert "Too many wrong codes" in response.content.decode()
    assert client.get("/admin/").status_code == 302
    assert actions(enrolled_admin).count("auth.otp_failed") == 2


def test_the_admin_refuses_an_enrolled_staff_session_without_the_code(enrolled_admin) -> None:
    client = Client()
    client.force_login(enrolled_admin)  # a password-only session (another sign-in page, an old session)

    response = client.get("/admin/")

    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")


def test_without_the_requirement_staff_without_a_device_sign_in_with_the_password(admin_user, settings) -> None:
    settings.ADMIN_REQUIRE_2FA = False
    client = Client()

    response = admin_sign_in(client, admin_user)

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_when_required_the_admin_refuses_a_password_only_staff_session(admin_user, settings) -> None:
    settings.ADMIN_REQUIRE_2FA = True
    client = Client()
    client.force_login(admin_user)

    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/users/user/").status_code == 302
    response = client.get("/admin/login/?next=/admin/")
    assert (response.status_code, response["Location"]) == (302, ENROL)


def test_when_required_staff_without_a_device_are_sent_to_enrol(admin_user, settings) -> None:
    settings.ADMIN_REQUIRE_2FA = True
    client = Client()

    signed_in = admin_sign_in(client, admin_user)
    assert (signed_in.status_code, signed_in["Location"]) == (302, ENROL)

    page = client.get(ENROL)
    assert page.status_code == 200
    secret = re.search(r'<code id="mfa-secret">([A-Z2-7=]+)</code>', page.content.decode())
    assert secret is not None
    assert 'src="data:image/svg+xml;base64,' in page.content.decode()
    assert secret.group(0) in client.get(ENROL).content.decode()  # reloading shows the same secret
    key = b32decode(secret.group(1))
    now = TOTP(key)

    wrong = client.post(ENROL, {"otp": wrong_code(admin_user)})
    assert OTP_INVALID["detail"] in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the backoff after that wrong code
    confirmed = client.post(ENROL, {"otp": totp_at(key, now.t())})

    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", confirmed.content.decode())
    assert sorted(codes) == sorted(StaticToken.objects.filter(device__user=admin_user).values_list("token", flat=True))
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200  # this session is verified by the code it confirmed
    assert client.get(ENROL)["Location"] == "/admin/"  # enrolled: nothing more to set up


def test_staff_sent_to_enrol_may_sign_out_instead(admin_user, settings) -> None:
    # The page hides the admin's header (no "Log out"), and the admin's own log-out sends a session it refuses back
    # to the index and so here: without an authenticator at hand, staff could not end the session.
    settings.ADMIN_REQUIRE_2FA = True
    client = Client(enforce_csrf_checks=True)
    login_page = client.get(ADMIN_LOGIN)
    assert login_page.status_code == 200
    token = client.cookies["csrftoken"].value
    signed_in = client.post(
        ADMIN_LOGIN, {"username": admin_user.email, "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert (signed_in.status_code, signed_in["Location"]) == (302, ENROL)
    page = client.get(ENROL).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" id="mfa-sign-out-form">', page)
    assert form is not None

    signed_out = client.post(form.group(1), {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert (signed_out.status_code, signed_out["Location"]) == (302, "/admin/login/")
    assert "_auth_user_id" not in client.session
    assert client.get(ENROL)["Location"].startswith("/admin/login/")
    assert not TOTPDevice.objects.filter(user=admin_user, confirmed=True).exists()


def test_the_enrolment_page_is_for_signed_in_staff_only(user, settings) -> None:
    settings.ADMIN_REQUIRE_2FA = True
    assert Client().get(ENROL)["Location"].startswith("/admin/login/")
    client = Client()
    client.force_login(user)
    assert client.get(ENROL)["Location"] == "/admin/login/"
    assert not TOTPDevice.objects.filter(user=user).exists()


# --- The browsable API's sign-in, whose session the API accepts -----------------------------------------------


def test_the_browsable_api_sign_in_asks_an_enrolled_user_for_the_code(enrolled) -> None:
    user, _codes = enrolled
    client = Client()

    refused = client.post("/api-auth/login/", {"username": user.email, "password": DEFAULT_PASSWORD})

    assert refused.status_code == 200  # the form again
    assert FORM_OTP_REQUIRED in refused.content.decode()
    assert client.get("/api/v1/users/me/").status_code == 401  # no session signed in
    signed_in = client.post(
        "/api-auth/login/", {"username": user.email, "password": DEFAULT_PASSWORD, "otp": code_for(user)}
    )
    assert signed_in.status_code == 302
    assert client.get("/api/v1/users/me/").json()["email"] == user.email


def test_the_browsable_api_sign_in_of_a_user_without_a_device_takes_the_password(user) -> None:
    client = Client()
    assert client.post("/api-auth/login/", {"username": user.email, "password": DEFAULT_PASSWORD}).status_code == 302
