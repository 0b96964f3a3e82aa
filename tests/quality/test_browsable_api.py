"""The browsable API for a person: HTML forms from a browser session (and only from one), starting bodies the API
accepts as they are, a refused body kept in the box, a readable filters dialog."""

import json
import re
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from drf_spectacular.generators import SchemaGenerator

from tests.products.factories import CategoryFactory, ProductFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    """A signed-in browser session that must send its CSRF token, as a person's browser does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token(client: Client, path: str) -> str:
    page = client.get(path, HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    return client.cookies["csrftoken"].value


def raw_content(html: str) -> str:
    """The JSON the raw-data box of a browsable API page holds."""
    match = re.search(r'<textarea[^>]*name="_content"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, "the page has no raw-data box"
    return unescape(match.group(1)).strip()


def test_every_write_page_offers_an_html_form(admin_user) -> None:
    client = browser(admin_user)
    for path, field in [
        ("/api/v1/products/", "sku"),
        ("/api/v1/categories/", "slug"),
        ("/api/v1/messages/", "receiver_number"),
        ("/api/v1/users/{admin}/", "full_name"),
        ("/api/v1/accounts/me/status-callback/", "default_url"),
        ("/api/v1/accounts/me/opt-outs/", "recipient_number"),
        ("/api/v1/accounts/me/messaging/", "help_text"),
    ]:
        page = client.get(path.format(admin=admin_user.pk), HTTP_ACCEPT="text/html").content.decode()
        assert re.search(rf'<form[^>]*enctype="multipart/form-data"[\s\S]*?name="{field}"', page), path


def test_a_browser_session_creates_a_category_with_the_html_form(admin_user) -> None:
    client = browser(admin_user)
    token = csrf_token(client, "/api/v1/categories/")
    response = client.post(
        "/api/v1/categories/",
        {"slug": "lamps", "name": "Lamps", "csrfmiddlewaretoken": token},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "lamps"


def test_a_patch_only_page_draws_its_html_form_for_patch(admin_user) -> None:
    client = browser(admin_user)
    page = client.get(f"/api/v1/users/{admin_user.pk}/", HTTP_ACCEPT="text/html").content.decode()
    assert 'src="/static/core/browsable-patch-form.js"' in page  # turns the form's PUT into PATCH
    token = client.cookies["csrftoken"].value
    response = client.patch(
        f"/api/v1/users/{admin_user.pk}/",
        encode_multipart(BOUNDARY, {"full_name": "Renamed In A Form", "role": "admin", "is_active": "true"}),
        content_type=MULTIPART_CONTENT,
        HTTP_X_CSRFTOKEN=token,
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["full_name"] == "Renamed In A Form"


def form_input(html: str, name: str) -> str:
    """The tag of the HTML form's input (or select) named `name`, with what it starts from."""
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>[\s\S]*?</select>|<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"the page's HTML form has no {name} field"
    return match.group(0)


def test_the_product_edit_form_starts_from_the_product(admin_user) -> None:
    # The detail read is built from rows, not a serializer (it is what the cache stores), so DRF had no instance to
    # fill the form from: PATCHing one edited field sent blank ones beside it (400), or reset the category.
    CategoryFactory(slug="aaa-first", name="Aaa First")
    product = ProductFactory(
        sku="EDIT-1", name="Desk lamp", category=CategoryFactory(slug="lamps", name="Lamps"), price=Decimal("42.50")
    )
    client = browser(admin_user)
    page = client.get(f"/api/v1/products/{product.pk}/", HTTP_ACCEPT="text/html").content.decode()
    assert 'value="EDIT-1"' in form_input(page, "sku")
    assert 'value="Desk lamp"' in form_input(page, "name")
    assert 'value="42.50"' in form_input(page, "price")
    assert re.search(r'<option value="lamps"\s+selected', form_input(page, "category"))
    assert "checked" in form_input(page, "is_available")


def test_a_missing_product_page_still_renders(admin_user) -> None:
    page = browser(admin_user).get("/api/v1/products/999999/", HTTP_ACCEPT="text/html")
    assert page.status_code == 404
    assert b"Not found." in page.content


def test_a_page_whose_form_would_be_refused_offers_the_raw_box_only(api_client) -> None:
    # Form bodies are read from a signed-in session only: an anonymous visitor's HTML form could only answer 415.
    for path in ("/api/v1/auth/login/", "/api/v1/auth/register/", "/api/v1/auth/password/reset/"):
        page = Client().get(path, HTTP_ACCEPT="text/html").content.decode()
        assert 'enctype="multipart/form-data"' not in page, path
        assert '"email": ""' in raw_content(page), path
    login = api_client.post("/api/v1/auth/login/", {"email": "nobody@example.com", "password": "x"}, format="json")
    assert login.status_code == 401  # the raw box's JSON is read: a refusal of the credentials, not of the body


def test_a_form_without_the_csrf_token_is_refused(admin_user) -> None:
    client = browser(admin_user)
    response = client.post("/api/v1/categories/", {"slug": "lamps", "name": "Lamps"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/x-www-form-urlencoded"])
def test_a_token_client_sending_a_form_gets_415(admin_client, content_type) -> None:
    if content_type == "multipart/form-data":
        response = admin_client.post("/api/v1/categories/", {"slug": "lamps", "name": "Lamps"}, format="multipart")
        sent = response.wsgi_request.META["CONTENT_TYPE"]
    else:
        response = admin_client.post("/api/v1/categories/", "slug=lamps&name=Lamps", content_type=content_type)
        sent = content_type
    assert response.status_code == 415
    assert response.json() == {
        "detail": f'Unsupported media type "{sent}" in request.',
        "code": "unsupported_media_type",
    }


def test_the_image_upload_still_takes_multipart_from_a_token_client(admin_client) -> None:
    # DRF's own MultiPartParser on that one view: not the browser-only one (a 400 for the missing file, not a 415).
    category = CategoryFactory()
    product = admin_client.post(
        "/api/v1/products/", {"sku": "IMG-1", "name": "Lamp", "category": category.slug, "price": "1.00"}
    ).json()
    response = admin_client.put(f"/api/v1/products/{product['id']}/image/", {}, format="multipart")
    assert response.status_code == 400
    assert "image" in response.json()


def test_the_message_pages_starting_body_is_accepted_once_its_required_fields_are_filled(settings) -> None:
    settings.MESSAGES_REQUIRE_VERIFIED_EMAIL = True
    sender = UserFactory(is_verified=True)
    client = browser(sender)
    body = json.loads(raw_content(client.get("/api/v1/messages/", HTTP_ACCEPT="text/html").content.decode()))
    assert body["account_id"] is None
    assert body["status_callback"] == ""
    body.update(sender_number="+15551230001", receiver_number="+15551230002", body="Hello")
    response = client.post(
        "/api/v1/messages/",
        json.dumps(body),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["account_id"] == str(sender.account_id)
    assert response.json()["status_callback"] is None


def test_the_product_pages_starting_body_is_accepted_once_its_required_fields_are_filled(admin_user) -> None:
    category = CategoryFactory()
    client = browser(admin_user)
    body = json.loads(raw_content(client.get("/api/v1/products/", HTTP_ACCEPT="text/html").content.decode()))
    assert body["stock"] == 0
    body.update(sku="RAW-1", name="Lamp", category=category.slug, price="9.50")
    response = client.post(
        "/api/v1/products/",
        json.dumps(body),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["stock"] == 0


def test_a_refused_body_stays_in_the_box(admin_user) -> None:
    client = browser(admin_user)
    token = csrf_token(client, "/api/v1/products/")
    sent = {"sku": "KEEP-1", "name": "My edits", "category": "no-such-category", "price": "3.00"}
    response = client.post(
        "/api/v1/products/",
        json.dumps(sent),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 400
    assert json.loads(raw_content(response.content.decode())) == sent


def test_swaggers_message_example_is_accepted_as_it_is(user_client) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    content = schema["paths"]["/api/v1/messages/"]["post"]["requestBody"]["content"]["application/json"]
    example = next(iter(content["examples"].values()))["value"]
    response = user_client.post("/api/v1/messages/", example, format="json")
    assert response.status_code == 201, response.content


def test_the_filters_dialog_labels_every_field_and_renders_its_help(admin_user) -> None:
    page = browser(admin_user).get("/api/v1/products/", HTTP_ACCEPT="text/html").content.decode()
    assert "[invalid name]" not in page
    assert re.search(r'<label for="id_search">Search:</label>', page)
    assert "`" not in page.split('id="filtersModal"')[1].split("</form>")[0]
    assert "<code>true</code> or <code>false</code>" in page
    # The ordering takes several keys: a text box for `price,-created_at`, not a one-key select.
    assert re.search(r'<input type="text" name="ordering"', page)


def test_the_product_list_orders_by_the_keys_the_dialog_sends(admin_user, admin_client) -> None:
    category = CategoryFactory()
    for sku, price, name in [("A", "2.00", "b"), ("B", "1.00", "c"), ("C", "2.00", "a")]:
        admin_client.post("/api/v1/products/", {"sku": sku, "name": name, "category": category.slug, "price": price})
    response = browser(admin_user).get("/api/v1/products/", {"ordering": "-price,name"}, HTTP_ACCEPT="application/json")
    assert [row["sku"] for row in response.json()["results"]] == ["C", "A", "B"]


def test_the_front_door_is_json_for_clients_and_a_page_of_links_for_a_browser(api_client, settings) -> None:
    expected = {
        "name": settings.SERVICE_NAME,
        "version": settings.SERVICE_VERSION,
        "docs": "/api/docs/",
        "health": "/health/",
    }
    assert api_client.get("/").json() == expected
    assert api_client.get("/", HTTP_ACCEPT="application/json").json() == expected
    page = api_client.get("/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page["Content-Type"].startswith("text/html")
    links = re.findall(r'<a href="([^"]+)"', page.content.decode())
    assert {"/api/v1/", "/api/docs/", "/admin/", "/health/"} <= set(links)


def test_the_api_root_lists_the_endpoints(api_client) -> None:
    response = api_client.get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    assert body["products"] == "http://testserver/api/v1/products/"
    assert body["messages"] == "http://testserver/api/v1/messages/"
    assert body["auth/login"] == "http://testserver/api/v1/auth/login/"
    for url in body.values():
        assert api_client.get(url).status_code in (200, 401, 405), url  # every link is a route


def test_the_api_root_is_browsable(admin_user) -> None:
    page = browser(admin_user).get("/api/v1/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert "http://testserver/api/v1/categories/" in page.content.decode()


def test_redoc_loads_its_bundle_from_the_service_with_no_outside_image(api_client) -> None:
    page = api_client.get("/api/redoc/").content.decode()
    assert 'src="/api/redoc/dist/bundles/redoc.standalone.js"' in page
    bundle = api_client.get("/api/redoc/dist/bundles/redoc.standalone.js")
    assert bundle.status_code == 200
    assert bundle["Content-Type"].startswith("text/javascript")
    script = b"".join(bundle.streaming_content) if bundle.streaming else bundle.content
    assert b"cdn.redoc.ly" not in script
    assert b"data:image/svg+xml" in script
