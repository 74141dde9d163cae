"""The cabinet in a real browser (Chromium on a phone-sized screen): a resident's whole first visit.

The `browser_page` fixture (portal/tests/browser.py) fails the test if the browser
requested anything from a host other than the portal; the Telegram widget is off
here because no bot is configured.
"""

import datetime as dt

import time_machine

from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink
from accounts.signin_links import signin_link_issue
from accounts.tests.factories import MeterFactory
from conftest import kyiv
from portal.tests.browser import BrowserPage, expect
from readings.models import Reading
from readings.tariffs import estimate_cost
from readings.window import add_months

PASSWORD = "соняшник-на-балконі-42"


def test_sign_up_link_submit_a_two_zone_reading_and_see_it_in_the_history(browser_page: BrowserPage):
    meter = MeterFactory(serial="NIK2301", zones=2, initial_values=[1000, 500], account__address="вул. Соборна, 12")
    number = meter.account.number
    page = browser_page.page
    # 02.12.2026: the window 27.11–03.12 for December is open. The live server's thread shares the clock.
    with time_machine.travel(kyiv(2026, 12, 2, 10), tick=True):
        page.goto(browser_page.url("/"))
        assert page.locator("h1").inner_text() == "Вхід до особистого кабінету"
        browser_page.shot("sign-in")

        page.get_by_role("link", name="Зареєструватися").first.click()
        page.get_by_label("Електронна пошта").fill("maria@example.com")
        page.get_by_label("Пароль", exact=True).fill(PASSWORD)
        page.get_by_label("Пароль ще раз").fill(PASSWORD)
        browser_page.shot("sign-up")
        page.get_by_role("button", name="Зареєструватися").click()

        page.wait_for_url(browser_page.url("/link/"))
        page.get_by_label("Номер особового рахунку").fill(number)
        page.get_by_label("Заводський номер лічильника").fill("nik 2301")
        browser_page.shot("link")
        page.get_by_role("button", name="Додати").click()

        page.wait_for_url(browser_page.url(f"/accounts/{number}/"))
        assert f"Особовий рахунок {number} додано." in page.locator(".messages").inner_text()
        assert "Прийом показань: 27.11–03.12, залишилось 2 дні" in page.locator(".window").inner_text()
        page.get_by_label("День (Т1), кВт·год").fill("1100")
        page.get_by_label("Ніч (Т2), кВт·год").fill("550")
        browser_page.shot("account")
        page.get_by_role("button", name="Надіслати").click()

        outcome = page.locator("#outcome")
        outcome.wait_for()
        assert "Показання прийнято" in outcome.inner_text()
        assert "1100/550" in outcome.inner_text()
        assert "показання на 01.12.2026 — споживання за листопад 2026" in outcome.inner_text()
        browser_page.shot("recorded")

        page.get_by_role("link", name="Історія та споживання").click()
        page.wait_for_url(browser_page.url(f"/accounts/{number}/history/"))
        december = page.locator('svg g.bar[data-period="2026-12-01"]')
        assert december.get_attribute("data-total") == "150"
        assert december.locator("rect").count() == 2  # day and night, stacked
        assert december.locator("rect.zone-1").bounding_box()["height"] > 0
        row = page.get_by_role("row", name="Листопад 2026")
        assert row.locator("td").all_inner_texts() == ["100", "50", "150", "540,00"]
        assert "1100/550" in page.locator("table").nth(1).inner_text()
        browser_page.shot("history")

    reading = Reading.objects.get()
    assert (reading.values, reading.channel, reading.submitted_by.email) == ((1100, 550), "web", "maria@example.com")


# Every visible form control has a label a screen reader announces.
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(control => control.labels.length === 0 && !control.getAttribute('aria-label'))
    .map(control => control.name)"""


def test_the_bots_link_settings_language_and_a_keyboard_only_reading(browser_page: BrowserPage):
    meter = MeterFactory(serial="GAMA77", zones=1, initial_values=[4000])
    user = channel_identity_resolve(channel="telegram", external_id="4242", display_name="Олег")
    AccountLink.objects.create(user=user, account=meter.account)
    number = meter.account.number
    page = browser_page.page
    with time_machine.travel(kyiv(2026, 12, 1, 9), tick=True):
        link = signin_link_issue(user=user).replace("http://127.0.0.1:8000", browser_page.server_url)
        page.goto(link)
        browser_page.shot("bot-link")
        page.get_by_role("button", name="Увійти").click()
        page.wait_for_url(browser_page.url("/"))
        assert number in page.locator("main").inner_text()
        assert page.evaluate(UNLABELLED) == []
        browser_page.shot("dashboard")

        # Keyboard only: Tab from the account's link to the field, type, Enter submits.
        page.get_by_role("link", name="Передати показання").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(browser_page.url(f"/accounts/{number}/"))
        page.get_by_label("Показання, кВт·год").focus()
        page.keyboard.type("4180")
        page.keyboard.press("Enter")
        page.locator("#outcome").wait_for()
        assert "4180" in page.locator("#outcome").inner_text()
        assert page.evaluate(UNLABELLED) == []

        page.get_by_role("link", name="Налаштування").click()
        row = page.locator("li.row", has_text=number).first
        row.get_by_role("button", name="Вимкнути").click()
        expect(page.locator("li.row", has_text=number).first).to_contain_text("нагадування вимкнено")
        browser_page.shot("settings")

        page.get_by_role("button", name="English").click()
        page.wait_for_url(browser_page.url("/settings/"))
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("h1").inner_text() == "Settings"
        browser_page.shot("settings-en")

        page.get_by_role("link", name="Remove").click()
        page.get_by_role("button", name="Yes, remove").click()
        page.wait_for_url(browser_page.url("/"))
        assert f"Account {number} is removed from your list." in page.locator(".messages").inner_text()
        assert page.locator("section.card", has_text=number).count() == 0

    link = AccountLink.objects.filter(user=user).first()
    assert link is None
    assert Reading.objects.get().values == (4180,)


def test_the_quick_form_without_signing_up(browser_page: BrowserPage):
    meter = MeterFactory(serial="MTX5", zones=3, initial_values=[100, 200, 300])
    page = browser_page.page
    with time_machine.travel(kyiv(2026, 12, 1, 9), tick=True):
        page.goto(browser_page.url("/"))
        page.get_by_role("link", name="Передати без реєстрації").click()
        expect(page.locator(".window")).to_contain_text("Прийом показань: 27.11–03.12, залишилось 3 дні")
        page.get_by_label("Номер особового рахунку").fill(meter.account.number)
        page.get_by_label("Заводський номер лічильника").fill("mtx5")
        page.get_by_label("Показання", exact=True).fill("150/260,5/310")
        page.get_by_role("button", name="Надіслати").click()
        expect(page.get_by_role("alert")).to_contain_text("цілі кВт·год")  # the decimal part explained, nothing saved
        browser_page.shot("quick-refused")
        page.get_by_label("Показання", exact=True).fill("150/260/310")
        page.get_by_role("button", name="Надіслати").click()
        page.locator("#outcome").wait_for()
        assert "150/260/310" in page.locator("#outcome").inner_text()
        outcome = page.locator("#outcome").inner_text()
        assert "показання на 01.12.2026 — споживання за листопад 2026" in outcome
        assert "100/200/300" not in page.locator("main").inner_text()  # nothing of the meter's past
        browser_page.shot("quick-recorded")
    reading = Reading.objects.get()
    assert (reading.values, reading.channel) == ((150, 260, 310), "quick")


# The chart's text as the eye sees it: its font size in the SVG's units times the SVG's scale.
CHART_TEXT_PX = """() => [...document.querySelectorAll('.chart svg text')].map(text => {
    const svg = text.ownerSVGElement;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return parseFloat(getComputedStyle(text).fontSize) * scale;
})"""
# The chart's labels that stick out of the chart, cut off where the SVG ends.
CHART_TEXT_CUT = """() => [...document.querySelectorAll('.chart svg text')].filter(text => {
    const box = text.getBoundingClientRect(), svg = text.ownerSVGElement.getBoundingClientRect();
    return box.left < svg.left || box.right > svg.right || box.bottom > svg.bottom;
}).map(text => text.textContent)"""
# Anything of the page wider than the screen: what a resident would have to scroll sideways for.
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('main *')]
    .filter(element => element.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
    .map(element => element.tagName + '.' + element.className)"""


USE = (1234, 2345, 3456)  # kWh a month at peak, half-peak and night: wide numbers


def test_a_three_zone_history_fits_a_phone_with_its_cost_and_legible_chart(browser_page: BrowserPage):
    meter = MeterFactory(serial="TRI3", zones=3, initial_values=[10000, 10000, 10000])
    user = channel_identity_resolve(channel="telegram", external_id="4343", display_name="Ірина")
    AccountLink.objects.create(user=user, account=meter.account)
    values = [10000, 10000, 10000]
    for months_back in range(24, 0, -1):  # two years of big three-zone use, up to the reading of 01.12.2026
        period = add_months(dt.date(2026, 12, 1), 1 - months_back)
        values = [value + used for value, used in zip(values, USE, strict=True)]
        Reading.objects.create(
            meter=meter,
            period=period,
            **dict(zip(("value1", "value2", "value3"), values, strict=True)),
            **dict(zip(("consumption1", "consumption2", "consumption3"), USE, strict=True)),
            status="accepted",
            channel="telegram",
            submitted_at=kyiv(period.year, period.month, 1),
        )
    page = browser_page.page
    with time_machine.travel(kyiv(2026, 12, 1, 9), tick=True):
        page.goto(signin_link_issue(user=user).replace("http://127.0.0.1:8000", browser_page.server_url))
        page.get_by_role("button", name="Увійти").click()
        page.wait_for_url(browser_page.url("/"))
        page.goto(browser_page.url(f"/accounts/{meter.account.number}/history/"))
        browser_page.shot("history-phone")
        assert page.viewport_size == {"width": 390, "height": 844}
        assert page.evaluate(WIDER_THAN_SCREEN) == []
        # November 2026's use, with its cost, whole on the screen.
        november = page.locator("tr", has=page.get_by_role("rowheader", name="Листопад 2026", exact=True))
        cost = november.locator("td.cost")
        assert cost.inner_text() == f"{estimate_cost(USE):.2f}".replace(".", ",")
        box = cost.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] > 0
        # The cell says what it is (its column's name, drawn before it on a phone).
        label = cost.evaluate("cell => getComputedStyle(cell, '::before').content")
        assert label == '"Орієнтовна вартість, грн"'

        sizes = page.evaluate(CHART_TEXT_PX)
        assert len(sizes) == 5 + 8  # the axis's five kWh marks and every third month's name
        assert min(sizes) >= 11
        assert page.evaluate(CHART_TEXT_CUT) == []  # "10000" whole, not "0000"
        assert page.locator(".chart svg text", has_text="11.26").count() == 1  # the month of use
