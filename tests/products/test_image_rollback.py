"""An image stored for a transaction that rolls back is deleted again, on the file system and on S3 (moto)."""

import pytest
from django.core.files.storage import default_storage
from django.db import transaction

from apps.products.models import Product
from apps.products.services import product_set_image
from apps.users.models import User
from tests.core.test_aws import aws_settings, bucket, moto  # noqa: F401 (fixtures)

from .conftest import image_bytes, upload

pytestmark = pytest.mark.django_db(transaction=True)


class LaterStepFailed(Exception):
    pass


@pytest.fixture(params=["filesystem", "s3"])
def storage(request, settings, tmp_path):
    if request.param == "s3":
        request.getfixturevalue("bucket")
    else:
        settings.MEDIA_ROOT = str(tmp_path / "media")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        }
    return default_storage


def _set_image_then_fail(product: Product, by: User, content: bytes, name: str = "photo.png") -> str:
    """Store an image in a transaction whose later step fails; returns the name the file was stored under."""
    stored: list[str] = []

    def transaction_that_fails() -> None:
        with transaction.atomic():
            product_set_image(product=product, image=upload(content, name), by=by)
            name_stored = Product.objects.get(pk=product.pk).image.name
            assert name_stored is not None
            stored.append(name_stored)
            assert default_storage.exists(stored[0]), "stored before the transaction ends"
            raise LaterStepFailed("a later step of the same transaction fails")

    with pytest.raises(LaterStepFailed):
        transaction_that_fails()
    return stored[0]


def test_an_image_stored_in_a_transaction_that_rolls_back_is_deleted(storage, product, admin_user) -> None:
    stored = _set_image_then_fail(product, admin_user, image_bytes())

    assert Product.objects.get(pk=product.pk).image.name == ""
    assert not storage.exists(stored), "no orphan file"


def test_an_image_whose_transaction_commits_is_kept(storage, product, admin_user) -> None:
    with transaction.atomic():
        product_set_image(product=product, image=upload(image_bytes()), by=admin_user)

    stored = Product.objects.get(pk=product.pk).image.name
    assert stored
    assert storage.exists(stored)
    assert storage.open(stored).read() == image_bytes()


def test_a_rolled_back_replacement_keeps_the_image_it_would_have_replaced(storage, product, admin_user) -> None:
    product_set_image(product=product, image=upload(image_bytes()), by=admin_user)
    first = Product.objects.get(pk=product.pk).image.name

    second = _set_image_then_fail(product, admin_user, image_bytes("JPEG"), "photo.jpg")

    assert Product.objects.get(pk=product.pk).image.name == first
    assert storage.exists(first)
    assert not storage.exists(second)
