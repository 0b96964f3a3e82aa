"""Shapes of the users API. Input serializers validate only; every write happens in a service."""

from typing import Any

from rest_framework import serializers

from apps.core.models import AuditEvent

from .models import User, normalize_email, validate_full_name
from .validators import password_problems

USER_FIELDS = ("id", "email", "full_name", "role", "account_id", "is_verified", "date_joined")


PASSWORD_MAX_LENGTH = 4096  # bounds the hashing work one request can ask for


def password_field() -> serializers.CharField:
    # Spaces are part of a password: never trim them.
    return serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=PASSWORD_MAX_LENGTH, style={"input_type": "password"}
    )


class UserSerializer(serializers.ModelSerializer):
    """A user, as every endpoint answers it. Read-only: writes use the input serializers below."""

    class Meta:
        model = User
        fields = USER_FIELDS
        read_only_fields = USER_FIELDS


class UserProfileSerializer(serializers.ModelSerializer):
    """What a user may change about themselves: only `full_name`."""

    class Meta:
        model = User
        fields = USER_FIELDS
        read_only_fields = tuple(field for field in USER_FIELDS if field != "full_name")


class UserAdminUpdateSerializer(serializers.ModelSerializer):
    """What an admin may change about any user."""

    class Meta:
        model = User
        fields = ("full_name", "role", "is_active")


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = password_field()
    full_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", validators=[validate_full_name]
    )

    def validate_email(self, value: str) -> str:
        email = normalize_email(value)
        if User.objects.filter(email__iexact=email).exists():
            raise serializers.ValidationError("A user with this email already exists.", code="unique")
        return email

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An unsaved user lets the similarity validator compare the password with the email and name.
        candidate = User(email=attrs["email"], full_name=attrs.get("full_name", ""))
        if problems := password_problems(attrs["password"], candidate):
            raise serializers.ValidationError({"password": problems})
        return attrs


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = password_field()
    otp = serializers.CharField(
        required=False,
        max_length=64,
        write_only=True,
        help_text="Only for an account with two-factor authentication: a code of its authenticator app, or one of "
        "its recovery codes (each works once).",
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class UidTokenSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)


class PasswordResetConfirmSerializer(UidTokenSerializer):
    new_password = password_field()


class PasswordChangeSerializer(serializers.Serializer):
    old_password = password_field()
    new_password = password_field()


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class UserActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ("action", "object_type", "object_id", "created_at", "ip_address")
        read_only_fields = fields


class AcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class OidcProviderSerializer(serializers.Serializer):
    """An OpenID Connect provider a client can send its users to."""

    id = serializers.CharField(help_text="The `{provider}` of `POST /api/v1/auth/oidc/{provider}/`.")
    name = serializers.CharField(help_text="What to call it on a sign-in button.")
    authorization_endpoint = serializers.URLField(
        help_text="Where to send the browser, from the provider's discovery document."
    )
    client_id = serializers.CharField(help_text="The `client_id` of the authorization request.")
    scopes = serializers.ListField(
        child=serializers.CharField(), help_text="The `scope` of the authorization request, space-joined."
    )


class OidcSignInSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=2048, help_text="The authorization code the provider redirected with.")
    redirect_uri = serializers.CharField(
        max_length=2048, help_text="The `redirect_uri` of the authorization request, exactly as sent."
    )
    # RFC 7636, 4.1: 43 to 128 characters.
    code_verifier = serializers.CharField(
        min_length=43, max_length=128, help_text="The PKCE verifier whose S256 challenge the request carried."
    )
    nonce = serializers.CharField(
        max_length=512,
        required=False,
        allow_blank=True,
        help_text="The `nonce` of the authorization request, if it had one; the ID token must carry the same.",
    )


class MfaStatusSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(read_only=True, help_text="Whether sign-ins of this account ask for a code.")
    recovery_codes_left = serializers.IntegerField(read_only=True)


class MfaSetupSerializer(serializers.Serializer):
    otpauth_uri = serializers.CharField(
        read_only=True, help_text="The `otpauth://totp/…` URI an authenticator app takes (as a QR code or text)."
    )
    secret = serializers.CharField(read_only=True, help_text="The same key in base32, to type in by hand.")


class MfaCodeSerializer(serializers.Serializer):
    otp = serializers.CharField(max_length=64, help_text="A code of the authenticator app.")


class MfaRecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Codes that each sign in once in place of the app's code. Shown this once only: keep them safe.",
    )


class MfaDisableSerializer(serializers.Serializer):
    otp = serializers.CharField(
        required=False, max_length=64, help_text="A current code of the authenticator app, or a recovery code."
    )
    password = serializers.CharField(
        required=False, write_only=True, trim_whitespace=False, max_length=PASSWORD_MAX_LENGTH
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("otp") and not attrs.get("password"):
            raise serializers.ValidationError("Send `otp` (a current code or a recovery code) or `password`.")
        return attrs
