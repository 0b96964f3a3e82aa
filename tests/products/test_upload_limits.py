"""The image upload's own body limit: 5 MB of image (and its multipart framing), 413 beyond, before it is read."""

import pytest

from tests.products.conftest import image_bytes, product_url, upload

LIMIT = 1024 * 1024


@pytest.mark.django_db
def test_the_image_upload_takes_5_mb_and_no_more(admin_client, product) -> None:
    png = image_bytes()
    near_limit = upload(png + b"\0" * (5 * 1024 * 1024 - len(png)))
    accepted = admin_client.put(product_url(product, "image/"), {"image": near_limit}, format="multipart")
    over = admin_client.put(
        product_url(product, "image/"), {"image": upload(b"\0" * (5 * 1024 * 1024 + 100 * 1024))}, format="multipart"
    )

    assert accepted.status_code == 200, accepted.content
    assert over.status_code == 413
    assert over.json() == {
        "detail": f"The request body is larger than {5 * 1024 * 1024 + 64 * 1024} bytes.",
        "code": "request_too_large",
    }


@pytest.mark.django_db
def test_a_form_field_over_the_memory_limit_is_413_json(admin_client, product) -> None:
    # Within the image upload's body limit, but a form field (not a file) larger than DATA_UPLOAD_MAX_MEMORY_SIZE.
    response = admin_client.put(
        product_url(product, "image/"), {"image": upload(image_bytes()), "note": "x" * (LIMIT + 1)}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large.", "code": "request_too_large"}
