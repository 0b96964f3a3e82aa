import pytest

from apps.core.models import AuditEvent
from apps.products.models import Category
from tests.products.conftest import CATEGORIES
from tests.products.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def test_any_user_lists_categories_by_slug(user_client) -> None:
    garden = CategoryFactory(slug="garden", name="Garden")
    tools = CategoryFactory(slug="tools", name="Tools")

    response = user_client.get(CATEGORIES)

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {"id": garden.pk, "slug": "garden", "name": "Garden"},
            {"id": tools.pk, "slug": "tools", "name": "Tools"},
        ],
    }


def test_admin_creates_a_category(admin_client) -> None:
    response = admin_client.post(CATEGORIES, {"slug": "paint", "name": "Paint"}, format="json")

    assert response.status_code == 201
    created = Category.objects.get(slug="paint")
    assert response.json() == {"id": created.pk, "slug": "paint", "name": "Paint"}
    assert AuditEvent.objects.filter(action="category.created", object_id=str(created.pk)).exists()


def test_a_taken_slug_is_400(admin_client) -> None:
    CategoryFactory(slug="paint")
    response = admin_client.post(CATEGORIES, {"slug": "paint", "name": "Paint again"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["slug"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"slug": "not a slug!", "name": "X"}, "slug"), ({"slug": "ok"}, "name"), ({"name": "X"}, "slug")],
)
def test_bad_category_input_is_400_naming_the_field(admin_client, body, field) -> None:
    response = admin_client.post(CATEGORIES, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_user_may_not_create_a_category(user_client) -> None:
    response = user_client.post(CATEGORIES, {"slug": "paint", "name": "Paint"}, format="json")
    assert response.status_code == 403
    assert not Category.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_401(api_client, method) -> None:
    response = getattr(api_client, method)(CATEGORIES)
    assert response.status_code == 401
