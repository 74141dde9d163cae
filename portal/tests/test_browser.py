"""The portal in a real browser (Chromium, see browser.py): what a person on a phone gets."""

from django.contrib.auth import get_user_model

from portal.tests.browser import BrowserPage

# The admin's light theme paints its header in --secondary, #417690, from admin/css/base.css.
ADMIN_HEADER_BACKGROUND = "rgb(65, 118, 144)"


def test_admin_sign_in_page_is_ukrainian_and_styled(browser_page: BrowserPage):
    page = browser_page.page
    with page.expect_response(browser_page.url("/static/admin/css/base.css")) as stylesheet:
        response = page.goto(browser_page.url("/admin/login/"))
    assert response is not None
    assert response.status == 200

    assert page.locator("html").get_attribute("lang") == "uk"
    assert page.locator("#site-name").inner_text() == "Pokaznyk · Показання лічильників"
    assert page.locator("#login-form input[type=submit]").input_value() == "Увійти"

    # The live server serves the admin's static files, and the browser applied them.
    assert stylesheet.value.status == 200
    assert stylesheet.value.headers["content-type"].startswith("text/css")
    header_background = page.locator("#header").evaluate("element => getComputedStyle(element).backgroundColor")
    assert header_background == ADMIN_HEADER_BACKGROUND

    assert browser_page.shot("admin-login").stat().st_size > 0


def test_staff_sign_in_through_the_browser(browser_page: BrowserPage):
    # Made by the test, read by the live server in its own thread: the two share the test database.
    get_user_model().objects.create_user(
        username="operator", password="correct horse battery", is_staff=True, is_superuser=True
    )
    page = browser_page.page
    page.goto(browser_page.url("/admin/login/"))
    page.get_by_label("Ім'я користувача").fill("operator")
    page.get_by_label("Пароль").fill("correct horse battery")
    page.get_by_role("button", name="Увійти").click()

    page.wait_for_url(browser_page.url("/admin/"))
    assert page.locator("h1").inner_text() == "Адміністрування сайта"
    browser_page.shot("admin-index")


def test_a_request_to_an_outside_host_is_caught(browser_page: BrowserPage):
    page = browser_page.page
    page.goto(browser_page.url("/admin/login/"))
    assert browser_page.outside_requests() == []

    # Chromium resolves no outside name (browser.py), so this fails at once, without a DNS query.
    page.set_content('<img src="http://example.invalid/x.png">')
    assert browser_page.outside_requests() == ["http://example.invalid/x.png"]
    # A different port on the portal's own host is another server, not the portal.
    other_port = browser_page.server_url.rsplit(":", 1)[0] + ":9/pixel.png"
    page.set_content(f'<img src="{other_port}">')
    assert other_port in browser_page.outside_requests()

    # Wanted here, so acknowledged: the fixture's own checks after the test must not fail it.
    browser_page.requests.clear()
    browser_page.csp_violations.clear()


def test_the_content_security_policy_stops_an_injected_script(browser_page: BrowserPage):
    page = browser_page.page
    response = page.goto(browser_page.url("/signin/"))
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]

    # Markup that slipped past escaping, in the portal's own page: the browser refuses to run it.
    page.set_content('<p>hello</p><script>document.title = "pwned"</script>')
    assert page.title() != "pwned"
    assert any("script-src" in violation for violation in browser_page.csp_violations)
    browser_page.csp_violations.clear()
