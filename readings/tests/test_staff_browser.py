"""A supervisor's day in admin, in a real browser: the window filling up, the review queue, the export."""

import time_machine
from django.apps import apps
from django.contrib.auth.models import Group

from accounts.roles import roles_ensure
from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from portal.tests.browser import BrowserPage
from readings.models import Reading
from readings.services import reading_submit


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
        assert page.locator('[data-figure="accounts"]').inner_text() == "2"
        assert page.locator('[data-figure="reviews"]').inner_text() == "1"
        browser_page.shot("dashboard")

        page.get_by_role("link", name="черга перевірки").click()
        page.locator('input[name="_selected_action"]').check()
        page.locator('select[name="action"]').select_option("approve_selected")
        page.get_by_role("button", name="Вперед").click()
        assert "Прийнято: 1." in page.locator(".messagelist").inner_text()
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
