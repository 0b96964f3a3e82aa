"""The admin, the browsable API and the API docs in a real browser (Debian's Chromium through Playwright).

The service runs in its own process with DEBUG off and its Content-Security-Policy on, as a deployment would, so
these tests also prove that the admin's and the docs' assets are served by the service itself and that nothing on
those pages is blocked by the policy or fetched from outside 127.0.0.1. Screenshots: test-artifacts/browser/.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect, sync_playwright

from tests.quality.browser_helpers import (
    ADMIN_EMAIL,
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    TIMEOUT_MS,
    USER_EMAIL,
    PageWatch,
    Service,
    require_chromium,
    running_service,
    screenshot,
    sign_in_to_admin,
    watch_context,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Session = tuple[Any, PageWatch]  # a page in a fresh browser profile, and what it requested


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    require_chromium()
    with running_service(tmp_path_factory.mktemp("browser-service")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(service: Service) -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def session(browser: Any, service: Service) -> Iterator[Session]:
    """A fresh browser profile (no cookies) with one page, and what that page requests."""
    context = browser.new_context(base_url=service.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    watch = watch_context(context, service.host)
    try:
        yield context.new_page(), watch
    finally:
        context.close()


def assert_served_locally(watch: PageWatch) -> None:
    """Nothing left 127.0.0.1, every asset loaded, and the Content-Security-Policy blocked nothing the page needs."""
    assert watch.requests, "the page made no requests at all"
    assert watch.foreign_requests() == []
    assert watch.failed_subresources() == {}
    assert watch.unexpected_csp_violations() == []


def test_admin_adds_a_product_that_the_browsable_api_then_shows(session: Session, service: Service) -> None:
    page, watch = session
    sign_in_to_admin(page, service.url, email=ADMIN_EMAIL, password=PASSWORD)
    assert page.url == f"{service.url}/admin/"
    # The admin's own stylesheet came from the service (DEBUG off: WhiteNoise serves it).
    assert page.evaluate("getComputedStyle(document.querySelector('#header')).display") == "flex"
    screenshot(page, "admin-index")

    page.goto("/admin/products/category/add/")
    page.fill("#id_name", "Browser Gadgets")
    page.press("#id_name", "Tab")
    # The admin's own script (prepopulated fields) runs under the Content-Security-Policy.
    expect(page.locator("#id_slug")).to_have_value("browser-gadgets")
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    assert "/admin/products/category/" in page.url

    page.goto("/admin/products/product/add/")
    page.fill("#id_sku", "BRW-0001")
    page.fill("#id_name", "Headless Lamp")
    page.fill("#id_description", "Added through the admin form in Chromium.")
    page.select_option("#id_category", label="Browser Gadgets")
    page.fill("#id_price", "19.99")
    page.fill("#id_stock", "7")
    screenshot(page, "admin-product-form")
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    assert page.locator("#result_list").get_by_text("BRW-0001").count() == 1
    screenshot(page, "admin-product-list")

    page.goto("/api/v1/products/")
    page.locator(".response-info").get_by_text('"sku": "BRW-0001"').wait_for()
    body = page.locator(".response-info").inner_text()
    assert '"name": "Headless Lamp"' in body
    assert '"category": "browser-gadgets"' in body
    assert '"price": "19.99"' in body
    assert page.get_by_text(ADMIN_EMAIL).count() >= 1  # the browsable API knows the session's user
    screenshot(page, "browsable-api-products")
    assert_served_locally(watch)


def test_admin_refuses_a_plain_user(session: Session, service: Service) -> None:
    page, watch = session
    # The same credentials are good: the API signs this user in, so the refusal below is about the role.
    login = page.request.post(
        f"{service.url}/api/v1/auth/login/", data={"email": USER_EMAIL, "password": PASSWORD}, timeout=TIMEOUT_MS
    )
    assert login.status == 200, login.text()

    sign_in_to_admin(page, service.url, email=USER_EMAIL, password=PASSWORD)
    assert page.url.startswith(f"{service.url}/admin/login/")
    assert "staff account" in page.locator(".errornote").inner_text()
    screenshot(page, "admin-refuses-user")

    page.goto("/admin/products/product/")
    assert page.url.startswith(f"{service.url}/admin/login/")
    assert page.locator("#id_username").is_visible()
    assert_served_locally(watch)


@pytest.mark.parametrize(
    ("path", "operation", "name"),
    [
        ("/api/docs/", ".opblock-summary-path[data-path='/api/v1/products/']", "swagger-ui"),
        ("/api/redoc/", 'text="/api/v1/products/"', "redoc"),  # the operation's path, exactly
    ],
)
def test_docs_render_the_operations_from_the_service_alone(
    session: Session, path: str, operation: str, name: str
) -> None:
    page, watch = session
    response = page.goto(path)
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    try:
        page.locator(operation).first.wait_for(state="visible")
    except PlaywrightTimeoutError:
        pytest.fail(
            f"{path} did not render its operations. Outside requests: {watch.foreign_requests()}; failed: "
            f"{watch.failed_subresources()}; blocked by the CSP: {watch.unexpected_csp_violations()}"
        )
    page.wait_for_load_state("networkidle")
    screenshot(page, name, full_page=False)  # the docs pages are tens of screens long
    if name == "swagger-ui":
        # On 127.0.0.1 Swagger UI never shows its online validator badge; on a real host it would fetch it from
        # validator.swagger.io (with the schema's URL) unless the setting turns it off.
        assert page.evaluate("ui.getConfigs().validatorUrl") is None
    assert_served_locally(watch)


def test_a_person_signs_in_to_the_browsable_api(session: Session, service: Service) -> None:
    page, watch = session
    page.goto("/api/v1/products/")
    page.get_by_role("link", name="Log in").click()
    assert page.url.startswith(f"{service.url}/api-auth/login/")
    page.fill("#id_username", ADMIN_EMAIL)
    page.fill("#id_password", PASSWORD)
    screenshot(page, "browsable-api-login")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{service.url}/api/v1/products/"
    assert page.get_by_text(ADMIN_EMAIL).count() >= 1
    # The create form starts from the service's defaults, not from the first currency of the list.
    content = page.locator("#id__content").input_value()
    assert '"currency": "USD"' in content
    assert '"is_available": true' in content
    screenshot(page, "browsable-api-signed-in")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").wait_for()  # signed out, back on the page, which now answers 401
    assert page.get_by_text(ADMIN_EMAIL).count() == 0
    assert_served_locally(watch)


def test_swagger_authorize_lists_the_bearer_scheme_first(session: Session) -> None:
    page, _ = session
    page.goto("/api/docs/")
    page.locator("button.authorize").first.click()
    names = page.locator(".auth-container h4").all_inner_texts()
    assert names
    assert names[0].startswith("jwtAuth")
    screenshot(page, "swagger-authorize", full_page=False)


def _emailed_link(service: Service, path: str, address: str) -> str:
    """The last link to `path` the console email backend printed in the service's output for `address`."""
    text = service.log.read_text(errors="replace")
    start = text.rfind(f"To: {address}")
    assert start >= 0, text[-3000:]
    links = re.findall(rf"{re.escape(service.url)}{path}\?uid=[\w-]+&token=[\w-]+", text[start:])
    assert links, text[start : start + 3000]
    return links[0]


def test_a_person_verifies_their_email_and_resets_their_password_in_pages(session: Session, service: Service) -> None:
    page, watch = session
    email = "pages-person@example.com"
    registered = page.request.post(
        f"{service.url}/api/v1/auth/register/",
        data={"email": email, "password": "a-first-password-for-pages-1", "full_name": "Page Person"},
        timeout=TIMEOUT_MS,
    )
    assert registered.status == 201, registered.text()
    page.wait_for_timeout(500)  # the email goes out right after the commit, in the same process

    page.goto(_emailed_link(service, "/account/verify-email/", email))
    screenshot(page, "account-verify-email")
    page.get_by_role("button", name="Verify my email").click()
    page.get_by_text("Your email is verified.").wait_for()
    screenshot(page, "account-verified")

    asked = page.request.post(f"{service.url}/api/v1/auth/password/reset/", data={"email": email}, timeout=TIMEOUT_MS)
    assert asked.status == 202
    page.wait_for_timeout(500)
    page.goto(_emailed_link(service, "/account/reset-password/", email))
    page.fill("#id_new_password", "a-second-password-for-pages-2")
    page.fill("#id_again", "a-second-password-for-pages-2")
    screenshot(page, "account-reset-password")
    page.get_by_role("button", name="Set the new password").click()
    page.get_by_text("Your password is changed.").wait_for()
    screenshot(page, "account-password-changed")

    login = page.request.post(
        f"{service.url}/api/v1/auth/login/",
        data={"email": email, "password": "a-second-password-for-pages-2"},
        timeout=TIMEOUT_MS,
    )
    assert login.status == 200, login.text()

    # The same link again: it says at once that it no longer works, and offers a new one.
    used_link = _emailed_link(service, "/account/reset-password/", email)
    page.goto(used_link)
    page.get_by_role("heading", name="This reset link no longer works").wait_for()
    assert page.locator("input[type=password]").count() == 0
    screenshot(page, "account-reset-link-used")
    page.fill("#id_email", email)
    page.get_by_role("button", name="Send me a new link").click()
    page.get_by_text("a new password reset link has been sent").wait_for()
    page.wait_for_timeout(500)
    fresh_link = _emailed_link(service, "/account/reset-password/", email)
    assert fresh_link != used_link
    page.goto(fresh_link)
    page.locator("#id_new_password").wait_for()
    assert_served_locally(watch)


def sign_in_to_browsable_api(page: Any, path: str) -> None:
    page.goto(f"/api-auth/login/?next={path}")
    page.fill("#id_username", ADMIN_EMAIL)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state()


def post_html_form(page: Any, fields: dict[str, str], *, selects: dict[str, str] | None = None) -> str:
    """Fill the page's HTML form (not the raw JSON box), press POST, and answer the response the page shows."""
    page.locator("a[name=html-tab]").first.click()
    form = page.locator("#post-object-form form")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    for name, value in (selects or {}).items():
        form.locator(f"select[name={name}]").select_option(value)
    form.get_by_role("button", name="POST").click()
    page.locator(".response-info").get_by_text("HTTP 201 Created").wait_for()
    return page.locator(".response-info").inner_text()


def test_a_person_creates_a_category_a_product_and_a_message_with_the_html_forms(
    session: Session, service: Service
) -> None:
    page, watch = session
    sign_in_to_browsable_api(page, "/api/v1/categories/")
    body = post_html_form(page, {"slug": "form-made", "name": "Made In A Form"})
    assert '"slug": "form-made"' in body
    screenshot(page, "browsable-api-category-created")

    page.goto("/api/v1/products/")
    body = post_html_form(
        page,
        {"sku": "FORM-0001", "name": "Form Lamp", "description": "From the HTML form.", "price": "12.50", "stock": "3"},
        selects={"category": "form-made"},
    )
    assert '"sku": "FORM-0001"' in body
    assert '"price": "12.50"' in body
    assert '"is_available": true' in body
    screenshot(page, "browsable-api-product-created")

    page.goto("/api/v1/messages/")
    body = post_html_form(
        page, {"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "Hello from a form"}
    )
    assert '"body": "Hello from a form"' in body
    assert '"status_callback": null' in body
    screenshot(page, "browsable-api-message-created")
    assert_served_locally(watch)


def test_a_person_edits_one_field_of_a_product_with_the_html_form(session: Session, service: Service) -> None:
    page, watch = session
    sign_in_to_browsable_api(page, "/api/v1/categories/")
    post_html_form(page, {"slug": "aaa-edit-first", "name": "First In The List"})
    post_html_form(page, {"slug": "edit-lamps", "name": "Edit Lamps"})
    page.goto("/api/v1/products/")
    created = post_html_form(
        page,
        {"sku": "EDIT-0001", "name": "Old Name", "description": "Kept.", "price": "31.40", "stock": "4"},
        selects={"category": "edit-lamps"},
    )
    product_id = re.search(r'"id": (\d+)', created)
    assert product_id is not None

    page.goto(f"/api/v1/products/{product_id.group(1)}/")
    page.locator("a[name=html-tab]").first.click()
    form = page.locator("#put-object-form form")
    expect(form.locator("[name=sku]")).to_have_value("EDIT-0001")  # the form starts from the product shown
    form.locator("[name=name]").fill("New Name")
    screenshot(page, "browsable-api-product-edit")
    form.get_by_role("button", name="PATCH").click()
    page.locator(".response-info").get_by_text('"name": "New Name"').wait_for()  # the page showed a 200 already
    body = page.locator(".response-info").inner_text()
    assert body.startswith("HTTP 200 OK")
    for kept in ('"sku": "EDIT-0001"', '"category": "edit-lamps"', '"price": "31.40"', '"description": "Kept."'):
        assert kept in body
    assert_served_locally(watch)


def test_a_refused_raw_body_stays_in_the_box(session: Session, service: Service) -> None:
    page, watch = session
    sign_in_to_browsable_api(page, "/api/v1/products/")
    page.locator("a[name=raw-tab]").first.click()
    box = page.locator("#post-generic-content-form #id__content")
    edited = box.input_value().replace('"sku": ""', '"sku": "KEPT-1"')
    box.fill(edited)
    page.locator("#post-generic-content-form").get_by_role("button", name="POST").click()
    page.locator(".response-info").get_by_text("HTTP 400 Bad Request").wait_for()
    page.locator("a[name=raw-tab]").first.click()
    assert '"sku": "KEPT-1"' in page.locator("#post-generic-content-form #id__content").input_value()
    screenshot(page, "browsable-api-refused-body-kept")
    assert watch.failed.pop(f"{service.url}/api/v1/products/") == "HTTP 400"  # the POST itself, as meant
    assert_served_locally(watch)


def test_the_filters_dialog_is_labelled_and_orders_by_several_keys(session: Session, service: Service) -> None:
    page, watch = session
    sign_in_to_browsable_api(page, "/api/v1/products/")
    page.get_by_role("button", name="Filters").click()
    dialog = page.locator("#filtersModal")
    dialog.get_by_text("Search:").wait_for()
    assert "[invalid name]" not in dialog.inner_text()
    assert "`" not in dialog.inner_text()
    screenshot(page, "browsable-api-filters", full_page=False)
    dialog.locator("#id_ordering").fill("-price,name")
    dialog.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "ordering=-price%2Cname" in page.url
    page.locator(".response-info").get_by_text("HTTP 200 OK").wait_for()
    assert_served_locally(watch)


def test_the_front_door_and_the_api_root_in_a_browser(session: Session, service: Service) -> None:
    page, watch = session
    response = page.goto("/")
    assert response is not None
    assert response.headers["content-type"].startswith("text/html")
    for name in ("API root", "API docs", "Admin", "Health"):
        assert page.get_by_role("link", name=name).count() == 1, name
    screenshot(page, "front-door")
    page.get_by_role("link", name="API root").click()
    page.wait_for_load_state()
    assert page.url == f"{service.url}/api/v1/"
    page.locator(".response-info").get_by_text(f'"products": "{service.url}/api/v1/products/"').wait_for()
    screenshot(page, "browsable-api-root")
    assert_served_locally(watch)
