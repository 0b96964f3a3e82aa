"""What a verified OpenID Connect identity means for our accounts: found, linked or created, then signed in.

The protocol is in `client`; it knows nothing of our users.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from rest_framework import status

from apps.core.background.queueing import enqueue_on_commit
from apps.core.exceptions import ApplicationError, Conflict
from apps.core.observability import audit

from .. import events
from ..auth.services import InvalidCredentials, auth_issue_tokens, user_revoke_sessions
from ..models import EMAIL_MAX_LENGTH, OidcIdentity, User
from ..signals import account_claimed
from ..tasks import send_verification_email_task
from . import client as oidc


class OidcEmailUnverified(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "oidc_email_unverified"
    default_detail = (
        "An account with this email already exists, and the provider does not say the email is verified. "
        "Sign in with your password instead."
    )


def auth_oidc_sign_in(
    *, provider_id: str, code: str, redirect_uri: str, code_verifier: str, nonce: str | None = None
) -> dict[str, str]:
    """Sign in with an authorization code from an OpenID Connect provider; answers our own token pair.

    The code is exchanged and the ID token verified first, outside any transaction (no row stays locked while the
    provider answers); then the account is found, linked or created in one transaction.
    """
    provider = oidc.get_provider(provider_id)
    claims = oidc.verified_claims(
        provider=provider, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier, nonce=nonce
    )
    return auth_oidc_issue_tokens(claims=claims)


@transaction.atomic(durable=True)
def auth_oidc_issue_tokens(*, claims: oidc.OidcClaims) -> dict[str, str]:
    """Tokens for the person a verified ID token names.

    The account is the one already linked to (provider, subject); else the one whose email the provider says is
    verified, which is then linked; else a new one (verified when the provider says the email is). An existing
    account whose email the provider does not vouch for is refused: anyone can claim an email at some provider.
    """
    user = _oidc_account(claims=claims)
    if not user.is_active:
        raise InvalidCredentials("This account is deactivated.")
    return auth_issue_tokens(user=user, via=f"oidc:{claims.provider}")


def _oidc_account(*, claims: oidc.OidcClaims) -> User:
    # Each attempt in a savepoint: when a concurrent first sign-in of the same person wins the race on the unique
    # (provider, subject) or email, this one fails cleanly, and the second attempt finds what the winner made.
    try:
        with transaction.atomic():
            return _oidc_find_link_or_create(claims=claims)
    except IntegrityError:
        pass
    try:
        with transaction.atomic():
            return _oidc_find_link_or_create(claims=claims)
    except IntegrityError:
        raise Conflict("Another sign-in of this account is in progress; try again.") from None


def _oidc_find_link_or_create(*, claims: oidc.OidcClaims) -> User:
    identity = (
        OidcIdentity.objects.select_related("user").filter(provider=claims.provider, subject=claims.subject).first()
    )
    if identity is not None:
        if claims.email and claims.email != identity.email and len(claims.email) <= EMAIL_MAX_LENGTH:
            identity.email = claims.email
            identity.save(update_fields=["email"])
        return identity.user
    email = _oidc_email(claims)
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is None:
        user = _oidc_create_user(claims=claims, email=email)
    elif not claims.email_verified:
        raise OidcEmailUnverified()
    elif not user.is_verified:
        _oidc_claim_unverified_account(user=user, claims=claims)
    identity = OidcIdentity.objects.create(
        provider=claims.provider, subject=claims.subject, user=user, email=claims.email
    )
    audit.record(
        actor=user,
        action="auth.oidc_linked",
        target=identity,
        changes={"provider": claims.provider, "subject": claims.subject, "email": claims.email},
    )
    return user


def _oidc_email(claims: oidc.OidcClaims) -> str:
    if not claims.email:
        raise oidc.OidcSignInFailed("The provider shared no email address; the `email` scope is needed.")
    try:
        if len(claims.email) > EMAIL_MAX_LENGTH:
            raise ValidationError("too long")
        validate_email(claims.email)
    except ValidationError as exc:
        raise oidc.OidcSignInFailed("The provider's email address is not valid.") from exc
    return claims.email


def _oidc_create_user(*, claims: oidc.OidcClaims, email: str) -> User:
    # No password: this person signs in through the provider (a password reset can add one later).
    user = User.objects.create_user(
        email=email, password=None, full_name=claims.name, is_verified=claims.email_verified
    )
    audit.record(
        actor=user,
        action="user.registered",
        target=user,
        changes={"email": [None, user.email], "via": f"oidc:{claims.provider}", "is_verified": user.is_verified},
    )
    events.user_registered(user)
    if not user.is_verified:
        enqueue_on_commit(send_verification_email_task, user.pk)
    return user


def _oidc_claim_unverified_account(*, user: User, claims: oidc.OidcClaims) -> None:
    """The provider proves the email; the account's owner never did. Whoever chose its password may not own the
    email (an account registered in advance to catch the real owner's later sign-in), so the password is cleared
    and its sessions revoked before the owner is let in; a password reset to the email restores one. Other apps
    clear what the pre-registrant set up (`account_claimed`)."""
    user.set_unusable_password()
    user.is_verified = True
    user.save(update_fields=["password", "is_verified"])
    revoked = user_revoke_sessions(user=user)
    audit.record(
        actor=user,
        action="user.verified",
        target=user,
        changes={
            "is_verified": [False, True],
            "via": f"oidc:{claims.provider}",
            "password_cleared": True,
            "revoked_refresh_tokens": revoked,
        },
    )
    account_claimed.send(sender=User, user=user)
