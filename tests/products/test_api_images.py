"""`PUT /products/{id}/image/`: real PNG, JPEG and WebP files only, at most 5 MB, stored through the storage API."""

import pytest
from django.core.files.storage import default_storage

from apps.core.models import AuditEvent
from apps.products.models import Product
from apps.products.validators import MAX_IMAGE_BYTES
from tests.products.conftest import image_bytes, product_url, upload

pytestmark = pytest.mark.django_db


def put_image(client, product, content: bytes, name: str = "photo.png"):
    return client.put(product_url(product, "image/"), {"image": upload(content, name)}, format="multipart")


@pytest.mark.parametrize(("image_format", "extension"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_a_real_image_is_stored_and_linked(admin_client, product, image_format, extension) -> None:
    content = image_bytes(image_format)

    response = put_image(admin_client, product, content, name="../../etc/passwd")

    assert response.status_code == 200
    product.refresh_from_db()
    assert product.image.name.startswith(f"products/{product.pk}/")
    assert product.image.name.endswith(f".{extension}")
    assert response.json()["image_url"] == f"http://testserver/media/{product.image.name}"
    with default_storage.open(product.image.name) as stored:
        assert stored.read() == content
    assert AuditEvent.objects.filter(action="product.image_changed", object_id=str(product.pk)).exists()


def test_replacing_an_image_removes_the_old_file_after_commit(admin_client, product, committed) -> None:
    put_image(admin_client, product, image_bytes())
    old_name = Product.objects.get(pk=product.pk).image.name
    assert old_name is not None

    with committed():
        response = put_image(admin_client, product, image_bytes("JPEG"))

    assert response.status_code == 200
    assert not default_storage.exists(old_name)
    new_name = Product.objects.get(pk=product.pk).image.name
    assert new_name is not None
    assert default_storage.exists(new_name)


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"this is not really a png" * 10, "fake.png"),
        (b"GIF89a not even a gif", "fake.gif"),
        (b"", "empty.png"),
        (image_bytes("GIF"), "real.gif"),
        (image_bytes("BMP"), "real.bmp"),
        (image_bytes("PNG")[:40], "truncated.png"),
    ],
)
def test_anything_but_a_real_png_jpeg_or_webp_is_400(admin_client, product, content, name) -> None:
    response = put_image(admin_client, product, content, name)

    assert response.status_code == 400
    assert list(response.json()) == ["image"]
    product.refresh_from_db()
    assert not product.image


def test_an_image_over_5_mb_is_400(admin_client, product) -> None:
    content = image_bytes() + b"\0" * MAX_IMAGE_BYTES  # a valid PNG with trailing padding: only the size is wrong

    response = put_image(admin_client, product, content)

    assert response.status_code == 400
    assert response.json() == {"image": ["The image must be at most 5 MB."]}


def test_an_image_of_exactly_5_mb_is_fine(admin_client, product) -> None:
    content = image_bytes()
    assert put_image(admin_client, product, content + b"\0" * (MAX_IMAGE_BYTES - len(content))).status_code == 200


def test_no_file_is_400(admin_client, product) -> None:
    multipart = admin_client.put(product_url(product, "image/"), {}, format="multipart")
    assert multipart.status_code == 400
    assert list(multipart.json()) == ["image"]


def test_the_upload_takes_multipart_only(admin_client, product) -> None:
    as_json = admin_client.put(product_url(product, "image/"), {"image": "aGVsbG8="}, format="json")
    assert as_json.status_code == 415
    assert as_json.json() == {
        "detail": 'Unsupported media type "application/json" in request.',
        "code": "unsupported_media_type",
    }


def test_image_of_a_deleted_product_is_404(admin_client, product) -> None:
    admin_client.delete(product_url(product))
    assert put_image(admin_client, product, image_bytes()).status_code == 404
