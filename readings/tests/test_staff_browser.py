"""A supervisor's day in admin, in a real browser: the window filling up, the review queue, the export;
and a supervisor's and an operator's rounds on an office laptop's 1366×768 screen."""

import re

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import Group

from accounts.roles import roles_ensure
from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from portal.tests.browser import BrowserPage, expect
from readings.models import CalendarOverride, Reading
from readings.services import reading_submit

LAPTOP = {"width": 1366, "height": 768}
PASSWORD = "correct horse battery"


def test_a_supervisor_watches_the_window_and_approves_a_held_reading(browser_page: BrowserPage):
    # The live server's database is flushed between transactional tests, the migration's
    # groups with it: make them again.
    roles_ensure(apps)
    supervisor = UserFactory(username="olena", is_staff=True)
    supervisor.set_password("correct horse battery")
    supervisor.save()
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    sent, held = MeterFactory(initial_values=[1000]), MeterFactory(initial_values=[1000])
    reading_submit(meter=sent, text="1100", channel="telegram", submitted_at=kyiv(2026, 11, 27, 10))
    reading_submit(meter=held, text="9000", channel="web", submitted_at=kyiv(2026, 11, 30, 10), confirm=True)
    page = browser_page.page
    with time_machine.travel(kyiv(2026, 12, 1, 9), tick=True):
        page.goto(browser_page.url("/admin/login/"))
        page.get_by_label("Ім'я користувача").fill("olena")
        page.get_by_label("Пароль").fill("correct horse battery")
        page.get_by_role("button", name="Увійти").click()
        page.goto(browser_page.url("/admin/readings/reading/"))
        page.get_by_role("link", name="Прийом показань").click()
        expect(page.locator('[data-figure="accounts"]')).to_have_text("2")
        expect(page.locator('[data-figure="reviews"]')).to_have_text("1")
        browser_page.shot("dashboard")

        page.get_by_role("link", name="черга перевірки").click()
        page.locator('input[name="_selected_action"]').check()
        page.get_by_role("button", name="Прийняти вибрані показання").click()
        expect(page.locator(".messagelist")).to_contain_text("Прийнято: 1.")
        browser_page.shot("review-queue")

        page.goto(browser_page.url("/admin/readings/reading/export/"))
        assert page.locator("h1").inner_text() == "Вивантаження для білінгу"
        # Nothing has gone to billing yet: December's two readings wait, linked to their list.
        page.locator('[data-period="2026-12-01"] a').click()
        page.wait_for_url("**billing=no")
        assert page.locator("#result_list tbody tr").count() == 2
        page.go_back()
        browser_page.shot("export")
    assert Reading.objects.get(meter=held).status == "accepted"


def staff_member(username: str, role: str):
    user = UserFactory(username=username, is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    return user


def sign_in(browser_page: BrowserPage, username: str) -> None:
    page = browser_page.page
    page.goto(browser_page.url("/admin/login/"))
    page.get_by_label("Ім'я користувача").fill(username)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Увійти").click()
    page.wait_for_url(browser_page.url("/admin/"))


def fits_the_screen(browser_page: BrowserPage, name: str) -> None:
    """Nothing to scroll sideways: not the page, and not a list in its own box (Django gives a
    list one that scrolls on its own, which is how the review queue hid its columns)."""
    page = browser_page.page
    page.wait_for_load_state()  # a click that submits a form returns once the next page starts to arrive
    width, visible = page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert width <= visible, f"{name}: the page is {width} px wide in {visible} px"
    for box, inner, outer in page.evaluate(
        "[...document.querySelectorAll('#content .results, #content table')]"
        ".map(el => [el.id || el.className, el.scrollWidth, el.clientWidth])"
    ):
        assert inner <= outer, f"{name}: {box} is {inner} px wide in {outer} px"
    browser_page.shot(name)


def in_view(locator) -> bool:
    box = locator.bounding_box()
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and (box["x"] + box["width"] <= LAPTOP["width"] and box["y"] + box["height"] <= LAPTOP["height"])
    )


def held_readings(count: int) -> list[Reading]:
    """Three-zone eight-digit meters, the widest readings there are, each held for an unusual jump."""
    held = []
    for index in range(count):
        meter = MeterFactory(
            zones=3, digits=8, initial_values=[10000000, 20000000, 30000000], account__number=f"9876543210{index}"
        )
        reading_submit(meter=meter, text="10001000/20000500/30000200", channel="web", submitted_at=kyiv(2026, 9, 29))
        held.append(
            reading_submit(
                meter=meter,
                text="19000000/29000000/39000000",
                channel="messenger",
                submitted_at=kyiv(2026, 10, 29, 10),
                confirm=True,
            )
        )
    return held


@pytest.mark.slow
def test_a_supervisor_and_an_operator_do_their_rounds_on_a_1366_screen(browser_page: BrowserPage):
    roles_ensure(apps)  # the live server's database lost the migration's groups between tests
    staff_member("olena", "supervisor")
    staff_member("petro", "operator")
    approved, rejected, for_operator = held_readings(3)
    page = browser_page.page
    page.set_viewport_size(LAPTOP)
    with time_machine.travel(kyiv(2026, 11, 24, 9), tick=True):
        sign_in(browser_page, "olena")

        # Review: every column and both decisions in view, no sideways scrolling.
        page.goto(browser_page.url("/admin/readings/readingforreview/"))
        approve = page.get_by_role("button", name="Прийняти вибрані показання")
        reject = page.get_by_role("button", name="Відхилити вибрані показання…")
        assert in_view(approve) and in_view(reject)
        assert in_view(page.locator("#result_list thead th").last)  # channel and time, the last column
        assert "39000000" in page.locator("#result_list tbody tr").first.inner_text()
        fits_the_screen(browser_page, "review-queue")
        page.locator(f'input[name="_selected_action"][value="{rejected.pk}"]').check()
        reject.click()
        fits_the_screen(browser_page, "reject-form")
        page.get_by_role("button", name="Відхилити").click()  # no reason given
        expect(page.locator("#content form")).to_contain_text("Вкажіть, чому показання відхилено")
        page.get_by_role("link", name="Скасувати: нічого не відхилено").click()
        page.wait_for_url(browser_page.url("/admin/readings/readingforreview/"))
        assert page.locator("#result_list tbody tr").count() == 3
        page.locator(f'input[name="_selected_action"][value="{approved.pk}"]').check()
        page.get_by_role("button", name="Прийняти вибрані показання").click()
        expect(page.locator(".messagelist")).to_contain_text("Прийнято: 1.")

        # Export: December's readings picked by default, as a month.
        page.goto(browser_page.url("/admin/readings/reading/export/"))
        picker = page.get_by_label("Період")
        assert picker.input_value() == "2026-12-01"
        assert "Показання на 01.12.2026 — споживання за листопад 2026" in picker.inner_text()
        fits_the_screen(browser_page, "export")
        picker.select_option("2026-11-01")
        with page.expect_download() as download:
            page.get_by_role("button", name="Завантажити").click()
        assert re.fullmatch(r"readings-2026-11-\d+\.csv", download.value.suggested_filename)
        page.goto(browser_page.url("/admin/readings/reading/"))
        fits_the_screen(browser_page, "readings")

        # Upload: what will be imported, then one button that says the bad row is left out.
        page.goto(browser_page.url("/admin/accounts/masterdataupload/add/"))
        fits_the_screen(browser_page, "upload-form")
        csv_file = "account_number,meter_serial,zones,digits,address\n123456789,AB1,1,6,вул. Соборна 1\n12x,AB2,1,6,\n"
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": "accounts.csv", "mimeType": "text/csv", "buffer": csv_file.encode()}]
        )
        page.get_by_role("button", name="Зберегти", exact=True).click()
        expect(page.locator("#preview")).to_contain_text("вул. Соборна 1")
        fits_the_screen(browser_page, "upload-preview")
        page.get_by_role("button", name="Імпортувати 1 рядок, пропустити 1 з помилками").click()
        expect(page.locator(".messagelist")).to_contain_text("Імпортовано рядків: 1.")

        # Calendar: a day off that moves December's window is said before it is saved.
        page.goto(browser_page.url("/admin/readings/calendaroverride/add/"))
        fits_the_screen(browser_page, "calendar-form")
        page.get_by_label("Дата").fill("27.11.2026")
        page.get_by_role("button", name="Зберегти", exact=True).click()
        notice = page.locator("#window-move")
        expect(notice).to_contain_text("зараз 27.11.2026–03.12.2026")
        expect(notice).to_contain_text("після зміни 26.11.2026–03.12.2026")
        assert not CalendarOverride.objects.exists()
        fits_the_screen(browser_page, "calendar-confirmation")
        page.get_by_role("button", name="Зберегти й перенести прийом").click()
        expect(page.locator(".messagelist")).to_contain_text("27.11.2026 (вихідний)")
        expect(page.locator("#windows")).to_contain_text("Чт 26.11.2026")
        fits_the_screen(browser_page, "calendar")
        page.get_by_role("button", name="Вийти").click()

        # The operator: the same queue and its decisions; the calendar to read, not to change.
        sign_in(browser_page, "petro")
        page.goto(browser_page.url("/admin/readings/readingforreview/"))
        assert in_view(page.get_by_role("button", name="Прийняти вибрані показання"))
        fits_the_screen(browser_page, "operator-review-queue")
        page.locator(f'input[name="_selected_action"][value="{for_operator.pk}"]').check()
        page.get_by_role("button", name="Відхилити вибрані показання…").click()
        page.get_by_label("Причина, яку прочитає мешканець").fill("На фото 1900, а не 19000000.")
        page.get_by_role("button", name="Відхилити").click()
        expect(page.locator(".messagelist")).to_contain_text("Відхилено: 1.")
        page.goto(browser_page.url("/admin/readings/calendaroverride/"))
        assert page.get_by_role("link", name="Додати виняток календаря").count() == 0
        fits_the_screen(browser_page, "operator-calendar")
        page.goto(browser_page.url("/admin/readings/reading/dashboard/"))
        assert page.get_by_label("Період").input_value() == "2026-12-01"
        fits_the_screen(browser_page, "operator-dashboard")

    statuses = {reading.pk: Reading.objects.get(pk=reading.pk).status for reading in (approved, rejected, for_operator)}
    assert statuses == {approved.pk: "accepted", rejected.pk: "needs_review", for_operator.pk: "rejected"}
