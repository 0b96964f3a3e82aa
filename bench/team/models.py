"""The service's tables as a stock project would map them (unmanaged: the service migrates them)."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.utils import timezone
from ulid import ULID


class User(AbstractBaseUser):
    email = models.EmailField(unique=True)
    account_id = models.UUIDField(default=uuid.uuid4, unique=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "email"
    objects: models.Manager["User"] = models.Manager()

    class Meta:
        managed = False
        db_table = "users_user"

    def __str__(self) -> str:
        return self.email


class Category(models.Model):
    slug = models.SlugField()
    name = models.CharField(max_length=100)

    objects: models.Manager["Category"] = models.Manager()

    class Meta:
        managed = False
        db_table = "products_category"

    def __str__(self) -> str:
        return self.slug


class Product(models.Model):
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, db_constraint=False)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    stock = models.IntegerField()
    is_available = models.BooleanField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True)

    objects: models.Manager["Product"] = models.Manager()

    class Meta:
        managed = False
        db_table = "products_product"

    def __str__(self) -> str:
        return self.name


def new_message_id() -> str:
    return str(ULID()).lower()


class Message(models.Model):
    message_id = models.CharField(max_length=26, default=new_message_id)
    account_id = models.UUIDField()
    sender_number = models.CharField(max_length=16)
    receiver_number = models.CharField(max_length=16)
    body = models.CharField(max_length=1600)
    status = models.CharField(max_length=12, default="queued")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(default="")
    error_code = models.CharField(max_length=32, default="")
    provider_message_id = models.CharField(max_length=128, default="")
    status_callback = models.CharField(max_length=2000, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The service's columns a row needs (no database default): what a team that never heard of them would store.
    encoding = models.CharField(max_length=5, default="GSM-7")
    segments = models.PositiveSmallIntegerField(default=1)
    redact_body_after_send = models.BooleanField(default=False)
    backend = models.CharField(max_length=64, default="")
    auto_reply = models.CharField(max_length=20, default="")
    in_reply_to = models.CharField(max_length=26, default="")

    objects: models.Manager["Message"] = models.Manager()

    class Meta:
        managed = False
        db_table = "messaging_message"

    def __str__(self) -> str:
        return self.message_id
