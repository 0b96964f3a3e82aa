"""Catalog fixtures: a category, products, and helpers for images and the cache counters."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from prometheus_client import REGISTRY

from apps.core.cache.versioned import RedisVersionedCache
from apps.products.models import Category, Product
from tests.products.factories import CategoryFactory, ProductFactory
from tests.users.factories import UserFactory

PRODUCTS = "/api/v1/products/"
CATEGORIES = "/api/v1/categories/"


def product_url(product: Product, suffix: str = "") -> str:
    return f"{PRODUCTS}{product.pk}/{suffix}"


@pytest.fixture
def version_check_held(monkeypatch) -> None:
    """A Redis connection's check of the catalog version holds for a day, not a second: a query count taken just
    as a second turns over would otherwise count the one database read that the new period's first read makes."""
    monkeypatch.setattr(RedisVersionedCache, "RECHECK_SECONDS", 24 * 60 * 60)


@pytest.fixture
def version_queries(version_check_held) -> int:
    """Queries a warm catalog read makes for the catalog version: none on Redis, which holds a copy read beside the
    body; one, its row, on the in-process cache."""
    return 0 if type(caches["default"]).__module__.startswith("django_redis.") else 1


@pytest.fixture
def category(db) -> Category:
    return CategoryFactory(slug="tools", name="Tools")


@pytest.fixture
def product(category: Category) -> Product:
    return ProductFactory(sku="HAM-001", name="Claw hammer", description="Steel head", category=category)


@pytest.fixture
def superuser_client(client, db):
    """Django's test client signed in to the admin as a superuser (an admin with every model permission)."""
    client.force_login(UserFactory(role="admin", is_superuser=True))
    return client


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, image_format)
    return buffer.getvalue()


def upload(content: bytes, name: str = "photo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


class CacheCounters:
    """The hit and miss counters as they moved since the fixture was made."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float]:
        hits = REGISTRY.get_sample_value("products_cache_hits_total") or 0.0
        misses = REGISTRY.get_sample_value("products_cache_misses_total") or 0.0
        return hits, misses

    @property
    def hits(self) -> int:
        return int(self._read()[0] - self.start[0])

    @property
    def misses(self) -> int:
        return int(self._read()[1] - self.start[1])


@pytest.fixture
def cache_counters() -> CacheCounters:
    return CacheCounters()


@pytest.fixture
def committed(django_capture_on_commit_callbacks) -> Callable[[], object]:
    """`with committed(): <write>`: run the write's on-commit work (cache invalidation, relays) as a real
    commit would; the test's own transaction never commits."""

    @contextmanager
    def run() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return run
