"""Receipts and states in a real browser at 390×844: what a resident sees on the first screen."""

import time_machine

from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink
from accounts.signin_links import signin_link_issue
from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from portal.tests.browser import PHONE_VIEWPORT, BrowserPage
from readings.models import Reading
from readings.services import reading_reject, reading_submit


def signed_in(browser_page: BrowserPage, user) -> None:
    link = signin_link_issue(user=user).replace("http://127.0.0.1:8000", browser_page.server_url)
    browser_page.page.goto(link)
    browser_page.page.get_by_role("button", name="Увійти").click()
    browser_page.page.wait_for_url(browser_page.url("/"))


def test_a_rejected_reading_is_the_first_thing_the_dashboard_shows_and_a_resend_says_what_it_replaced(
    browser_page: BrowserPage,
):
    assert PHONE_VIEWPORT == {"width": 390, "height": 844}
    meter = MeterFactory(serial="NIK2301", initial_values=[1000])
    user = channel_identity_resolve(channel="telegram", external_id="4343", display_name="Марія")
    AccountLink.objects.create(user=user, account=meter.account)
    number = meter.account.number
    supervisor = UserFactory(is_staff=True)  # the service decides; admin checks the permission
    rejected = reading_submit(
        meter=meter, text="9000", channel="web", confirm=True, submitted_by=user, submitted_at=kyiv(2026, 12, 1, 9)
    )
    reading_reject(reading_id=rejected.pk, reviewed_by=supervisor, reason="Надішліть фото лічильника.")
    page = browser_page.page
    with time_machine.travel(kyiv(2026, 12, 2, 10), tick=True):
        signed_in(browser_page, user)
        # First on the screen, above the window's dates and the accounts: what happened and what to do.
        first = page.locator("main section").first
        assert first.get_by_role("heading").inner_text() == "Лічильник NIK2301: Відхилено фахівцями"
        told = first.inner_text()
        assert f"Квитанція {rejected.receipt_display}" in told
        assert "Причина: Надішліть фото лічильника." in told
        assert "Перевірте лічильник і надішліть показання ще раз до 03.12.2026." in told
        box = first.bounding_box()
        assert box["y"] + box["height"] <= 844 and box["width"] <= 390  # whole on the first screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        browser_page.shot("rejected-first")

        first.get_by_role("link", name="Передати показання").click()
        page.wait_for_url(browser_page.url(f"/accounts/{number}/"))
        page.get_by_label("Показання, кВт·год").fill("1100")
        page.get_by_role("button", name="Надіслати").click()
        outcome = page.locator("#outcome")
        outcome.wait_for()
        sent = Reading.objects.get(value1=1100)
        assert "Показання прийнято" in outcome.inner_text()
        assert f"Квитанція {sent.receipt_display}" in outcome.inner_text()
        browser_page.shot("accepted")

        page.get_by_label("Показання, кВт·год").fill("1120")
        page.get_by_role("button", name="Надіслати").click()
        page.locator("#outcome", has_text="1120").wait_for()
        resent = Reading.objects.get(value1=1120)
        told = page.locator("#outcome").inner_text()
        assert f"Квитанція {resent.receipt_display}" in told
        assert f"Замінюють показання 1100, надіслані 02.12.2026 (квитанція {sent.receipt_display})." in told
        browser_page.shot("resent")

        page.goto(browser_page.url("/"))
        assert page.locator("section.attention").count() == 0  # accepted now: nothing to act on
        meter_line = page.locator("ul.meters li").first.inner_text()
        assert "Останні надіслані показання: 1120 — Прийнято: зараховано на 01.12.2026." in meter_line
        browser_page.shot("dashboard-after")
