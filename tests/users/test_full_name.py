"""A name is one line of visible text everywhere it comes in: it is written into the emails we send."""

import pytest

from apps.users.oidc.client import OidcProvider, OidcSignInFailed, _claims

from .factories import UserFactory

REGISTER = "/api/v1/auth/register/"
ME = "/api/v1/users/me/"
REFUSED = {"full_name": ["Enter a name without line breaks or control characters."]}
BAD_NAMES = [
    "Ada\nYour account is locked: https://evil.example/",
    "Ada\r\nBcc: everyone",
    "Ada\u2028Lovelace",
    "Ada\u202eecalevol",  # a right-to-left override turns the text around
    "Ada\tLovelace",
    "Ada\x1b[31m Lovelace",  # a terminal escape
]
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", BAD_NAMES)
def test_register_refuses_a_name_with_line_breaks_or_control_characters(api_client, name) -> None:
    body = {"email": "new@example.com", "password": "a-long-enough-password-9", "full_name": name}
    response = api_client.post(REGISTER, body)
    assert response.status_code == 400
    assert response.json() == REFUSED


@pytest.mark.parametrize("name", BAD_NAMES)
def test_profile_update_refuses_it_too(user_client, user, name) -> None:
    response = user_client.patch(ME, {"full_name": name})
    assert response.status_code == 400
    assert response.json() == REFUSED
    user.refresh_from_db()
    assert user.full_name != name


@pytest.mark.parametrize("name", ["José Ñúñez-O'Brien", "李小龍", "Zoë 'Z' Saldaña", ""])
def test_names_in_any_script_are_accepted(user_client, name) -> None:
    response = user_client.patch(ME, {"full_name": name})
    assert response.status_code == 200
    assert response.json()["full_name"] == name


@pytest.mark.parametrize("name", BAD_NAMES)
def test_an_admin_cannot_set_it_either(admin_client, name) -> None:
    target = UserFactory()
    response = admin_client.patch(f"/api/v1/users/{target.pk}/", {"full_name": name})
    assert response.status_code == 400
    assert response.json() == REFUSED


def test_an_openid_connect_name_with_a_line_break_is_refused() -> None:
    provider = OidcProvider(
        id="acme", name="Acme", issuer="https://id.example", client_id="web", client_secret="", scopes=("openid",)
    )
    userinfo = {"sub": "42", "email": "ada@example.com", "email_verified": True, "name": BAD_NAMES[0]}
    with pytest.raises(OidcSignInFailed) as raised:
        _claims(provider, userinfo)
    assert raised.value.status_code == 400
    assert _claims(provider, {**userinfo, "name": "Ada Lovelace"}).name == "Ada Lovelace"
