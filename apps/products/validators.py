"""Field rules shared by the model (admin forms) and the API serializers, so both reject the same input."""

from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# The upload's body limit: the image plus the multipart framing around it (the request body limit's exception).
MAX_IMAGE_UPLOAD_BODY_BYTES = MAX_IMAGE_BYTES + 64 * 1024
# Far above any product photo; bounds what a small, highly compressed file could make us decode.
MAX_IMAGE_PIXELS = 40_000_000
# Pillow format name -> the extension the stored file gets (the client's file name is never trusted).
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


def validate_positive_price(value: Decimal) -> None:
    if value is not None and value <= 0:
        raise ValidationError("Ensure this value is greater than 0.", code="min_value")


def validate_product_image(file: Any) -> str:
    """Check an uploaded file is a real PNG, JPEG or WebP of at most 5 MB; return its Pillow format name."""
    size = getattr(file, "size", None)
    if size is not None and size > MAX_IMAGE_BYTES:
        raise ValidationError("The image must be at most 5 MB.", code="file_too_large")
    stream: IO[bytes] = file
    try:
        stream.seek(0)
        with Image.open(stream) as image:
            image_format = image.format
            width, height = image.size
            if image_format not in IMAGE_FORMATS:
                raise ValidationError("Upload a PNG, JPEG or WebP image.", code="invalid_image_format")
            if width * height > MAX_IMAGE_PIXELS:
                raise ValidationError("The image has too many pixels.", code="image_too_large")
            image.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        # Pillow reports a corrupt or truncated file with any of these.
        raise ValidationError(
            "Upload a valid image: the file is not one, or it is corrupt.", code="invalid_image"
        ) from exc
    finally:
        stream.seek(0)
    return str(image_format)
