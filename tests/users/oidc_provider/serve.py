"""Start one test provider: `python -m tests.users.oidc_provider.serve`, configured by its environment.

IDP_PORT, IDP_ISSUER (http://127.0.0.1:<port>/o), IDP_DATABASE (a SQLite file of its own), IDP_RSA_PRIVATE_KEY
(PEM) and IDP_SEED (JSON: the client to register and the people who can sign in), optionally
IDP_PUBLISHED_JWKS_URI. It migrates its database, registers the client and the people, then serves until it is
stopped.
"""

import json
import os
from typing import Any


def seed(data: dict[str, Any]) -> None:
    from django.contrib.auth.models import Group, User
    from oauth2_provider.models import Application

    from tests.users.oidc_provider.validator import VERIFIED_GROUP

    verified = Group.objects.get_or_create(name=VERIFIED_GROUP)[0]
    for person in data["people"]:
        user = User.objects.create_user(
            username=person["username"],
            password=person["password"],
            email=person["email"],
            first_name=person.get("first_name", ""),
            last_name=person.get("last_name", ""),
        )
        if person.get("email_verified"):
            user.groups.add(verified)
    # A public client (a single-page app's registration): no secret, PKCE required, RS256 ID tokens, and no
    # consent screen (a first-party app).
    Application.objects.create(
        name="django-rest-monolith",
        client_id=data["client_id"],
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(data["redirect_uris"]),
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.users.oidc_provider.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    seed(json.loads(os.environ["IDP_SEED"]))
    call_command("runserver", f"127.0.0.1:{os.environ['IDP_PORT']}", use_reloader=False, skip_checks=True)


if __name__ == "__main__":
    main()
