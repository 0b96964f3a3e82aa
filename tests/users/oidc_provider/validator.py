"""The provider's claims: email, whether it is verified (membership of a group), and the name."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

VERIFIED_GROUP = "email-verified"


class ClaimsValidator(OAuth2Validator):
    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "email": user.email,
            "email_verified": user.groups.filter(name=VERIFIED_GROUP).exists(),
            "name": user.get_full_name(),
        }
