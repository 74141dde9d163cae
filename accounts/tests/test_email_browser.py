"""The web-only resident's reminders in Chromium at 390×844: signed up on the web, told on the first
screen that reminders need a confirmed address, confirmed through the link in the email, then
told where reminders go; and a rejected reading's email leads to a first screen that says so."""

import re
import threading

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connections

from accounts.models import User
from accounts.tests.factories import MeterFactory, UserFactory
from botbridge import sending
from conftest import kyiv
from portal.tests.browser import PHONE_VIEWPORT, BrowserPage, expect
from readings.services import reading_reject, reading_submit

PASSWORD = "соняшник-на-балконі-42"


def on_first_screen(locator) -> None:
    box = locator.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE_VIEWPORT["height"], box
    assert box["width"] <= PHONE_VIEWPORT["width"]


def link_in(letter, browser_page: BrowserPage, path: str) -> str:
    """The link to `path` in an email, pointed at the live server instead of PORTAL_URL."""
    (url,) = re.findall(rf"{re.escape(settings.PORTAL_URL)}{path}\S*", letter.body)
    return url.replace(settings.PORTAL_URL, browser_page.server_url)


def in_thread(work) -> None:
    """Run `work` in a thread of its own: the sender runs an event loop, which this thread (where
    Playwright keeps one marked running) cannot start."""
    failures = []

    def run() -> None:
        try:
            work()
        except Exception as error:  # noqa: BLE001 - handed back to the test below
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not failures, failures


@pytest.mark.slow
def test_a_web_only_resident_confirms_the_address_and_is_told_where_reminders_go(browser_page: BrowserPage):
    meter = MeterFactory(serial="MAIL77", initial_values=[1000])
    number = meter.account.number
    page = browser_page.page
    with time_machine.travel(kyiv(2026, 12, 2, 10), tick=True):
        page.goto(browser_page.url("/signup/"))
        page.get_by_label("Електронна пошта").fill("maria@example.com")
        page.get_by_label("Пароль", exact=True).fill(PASSWORD)
        page.get_by_label("Пароль ще раз").fill(PASSWORD)
        page.get_by_role("button", name="Зареєструватися").click()

        # The first screen after signing up: the link went out, and why it matters.
        page.wait_for_url(browser_page.url("/link/"))
        told = page.locator(".messages")
        assert "Ми надіслали посилання на maria@example.com. Відкрийте його, щоб підтвердити адресу" in (
            told.inner_text()
        )
        on_first_screen(told)
        browser_page.shot("signed-up")

        page.get_by_label("Номер особового рахунку").fill(number)
        page.get_by_label("Заводський номер лічильника").fill("mail77")
        page.get_by_role("button", name="Додати").click()
        page.wait_for_url(browser_page.url(f"/accounts/{number}/"))

        # The dashboard never says "on" while nothing would arrive: it says what to do.
        page.goto(browser_page.url("/"))
        truth = page.locator("#reminders-truth")
        assert truth.get_by_role("heading").inner_text() == "Нагадування до вас поки не надходитимуть"
        assert "Підтвердьте свою адресу maria@example.com: відкрийте посилання" in truth.inner_text()
        on_first_screen(truth.get_by_role("button", name="Надіслати посилання ще раз"))
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
        browser_page.shot("dashboard-unconfirmed")

        (letter,) = mail.outbox
        page.goto(link_in(letter, browser_page, "/email/confirm/"))
        assert page.locator("h1").inner_text() == "Адресу підтверджено"
        browser_page.shot("confirmed")
        page.locator("main").get_by_role("link", name="Мої рахунки").click()
        page.wait_for_url(browser_page.url("/"))
        truth = page.locator("#reminders-truth")
        assert truth.inner_text() == (
            "Нагадування про прийом показань надходять: Електронна пошта (maria@example.com). Змінити"
        )
        on_first_screen(truth)
        browser_page.shot("dashboard-confirmed")

        truth.get_by_role("link", name="Змінити").click()
        route = page.locator("li.route.email")
        expect(route).to_contain_text("Електронна пошта: maria@example.com — нагадування увімкнено")
        assert route.inner_text().startswith("Електронна пошта: maria@example.com — нагадування увімкнено")
        assert page.locator("li.route").count() == 1  # no bot offered: the resident has none
        browser_page.shot("settings")

        # Staff reject a reading sent on the web: the decision comes by email, and its link opens a
        # page whose first screen says what happened and what to do.
        resident = User.objects.get(email="maria@example.com")
        reading = reading_submit(meter=meter, text="9000", channel="web", submitted_by=resident, confirm=True)
        in_thread(
            lambda: reading_reject(
                reading_id=reading.pk, reviewed_by=UserFactory(is_staff=True), reason="Надішліть фото лічильника."
            )
        )
        in_thread(lambda: sending.deliveries_send(channel="email"))
        notice = mail.outbox[-1]
        assert notice.subject == "Ваші показання 9000 відхилено: надішліть їх ще раз"
        page.goto(link_in(notice, browser_page, f"/accounts/{number}/"))
        first = page.locator("main section").first
        assert first.get_by_role("heading").inner_text() == "Лічильник MAIL77: Відхилено фахівцями"
        assert "Причина: Надішліть фото лічильника." in first.inner_text()
        on_first_screen(first)
        browser_page.shot("rejected-from-the-email")
        # Asked for a photo, the resident answers from that first screen.
        first.get_by_role("link", name="Додати фото лічильника").click()
        page.wait_for_url(browser_page.url(f"/readings/{reading.pk}/photo/"))
