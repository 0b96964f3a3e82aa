import unicodedata
import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

EMAIL_MAX_LENGTH = 254  # RFC 5321 limits a forward path to 256 characters, the angle brackets included


def normalize_email(email: str) -> str:
    """The stored form of an email: trimmed and lowercased, so uniqueness is case-insensitive."""
    return (email or "").strip().lower()


def validate_full_name(value: str) -> None:
    """A name is one line of visible text. It goes into the emails we send: a newline, a control character or a
    bidirectional override would let anyone who registers write their own text into our mail."""
    if any(unicodedata.category(character)[0] == "C" or character in "\u2028\u2029" for character in value):
        raise ValidationError("Enter a name without line breaks or control characters.", code="invalid_full_name")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email=normalize_email(username or ""))

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email is required")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_superuser", True)
        extra.setdefault("is_verified", True)
        extra["role"] = User.Role.ADMIN
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        USER = "user", "User"
        ADMIN = "admin", "Admin"

    email = models.EmailField(max_length=EMAIL_MAX_LENGTH, unique=True)
    full_name = models.CharField(max_length=150, blank=True, validators=[validate_full_name])
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    account_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    is_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, editable=False)
    date_joined = models.DateTimeField(default=timezone.now)
    token_generation = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Bumped when every session of the account is revoked: tokens issued under an older one are refused.",
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(role__in=["user", "admin"]), name="users_role_valid"),
        ]
        indexes = [models.Index(fields=["role"], name="users_role_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    # The role is the one switch for admin rights, in the API and in /admin/ alike: an active admin holds every
    # model permission, as a superuser does, so granting the role needs no separate group or permission setup.
    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return (self.is_active and self.is_admin) or super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        return (self.is_active and self.is_admin) or super().has_module_perms(app_label)

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A superuser is an admin, and staff status (the Django admin) follows the role.
        self.email = normalize_email(self.email)
        if self.is_superuser:
            self.role = self.Role.ADMIN
        self.is_staff = self.role == self.Role.ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and ("role" in update_fields or "is_superuser" in update_fields):
            kwargs["update_fields"] = {*update_fields, "role", "is_staff"}
        super().save(*args, **kwargs)


class OidcIdentity(models.Model):
    """A user's account at an OpenID Connect provider: its `sub` there is how that provider's sign-ins find them."""

    provider = models.CharField(max_length=64, help_text="The provider's id in OIDC_PROVIDERS.")
    subject = models.CharField(max_length=255, help_text="The provider's `sub` claim: stable, never reassigned.")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="oidc_identities")
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH, blank=True, help_text="The email the provider last gave.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = "OpenID Connect identity"
        verbose_name_plural = "OpenID Connect identities"
        constraints = [models.UniqueConstraint(fields=["provider", "subject"], name="users_oidc_provider_subject")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject}"


class RotatedRefreshToken(models.Model):
    """A refresh token that was traded for a new one. Presented again, it is a stolen copy (apps/users/auth).

    Kept apart from the blacklist, which also holds tokens signed out or revoked: those may come back from a
    client that missed the news, and are only refused. Deleted with its outstanding token (flushexpiredtokens).
    """

    token = models.OneToOneField("token_blacklist.OutstandingToken", on_delete=models.CASCADE, related_name="rotation")
    rotated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"rotated {self.token_id}"
