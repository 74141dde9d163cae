"""The review-with-photo journey in Chromium at phone size: a reading staff rejected asking for
a photo, answered with one from the history, then seen by staff in the review queue's page."""

import time_machine

from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink
from accounts.signin_links import signin_link_issue
from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from portal.tests.browser import BrowserPage
from readings.models import ReadingPhoto
from readings.services import reading_reject, reading_submit
from readings.tests import images


def test_a_rejected_reading_is_answered_with_a_photo_from_the_history(browser_page: BrowserPage, photos_dir, tmp_path):
    meter = MeterFactory(serial="FOTO1", initial_values=[1000])
    user = channel_identity_resolve(channel="telegram", external_id="4343", display_name="Ірина")
    AccountLink.objects.create(user=user, account=meter.account)
    number = meter.account.number
    page = browser_page.page
    picture = tmp_path / "IMG_0042.jpg"
    picture.write_bytes(images.jpeg_with_location())
    with time_machine.travel(kyiv(2026, 12, 1, 9), tick=True):
        reading = reading_submit(meter=meter, text="9000", channel="web", submitted_by=user, confirm=True)
        reading_reject(reading_id=reading.pk, reviewed_by=UserFactory(), reason="Надішліть фото табло лічильника.")
        page.goto(signin_link_issue(user=user).replace("http://127.0.0.1:8000", browser_page.server_url))
        page.get_by_role("button", name="Увійти").click()
        page.wait_for_url(browser_page.url("/"))
        page.goto(browser_page.url(f"/accounts/{number}/history/"))
        assert "Причина: Надішліть фото табло лічильника." in page.locator("main").inner_text()
        page.get_by_role("link", name="Додати фото лічильника").click()
        page.wait_for_url(browser_page.url(f"/readings/{reading.pk}/photo/"))
        page.get_by_label("Фото лічильника (JPEG, PNG або HEIC, до 10 МБ)").set_input_files(str(picture))
        page.get_by_role("button", name="Додати фото").click()
        page.wait_for_url(browser_page.url(f"/readings/{reading.pk}/photo/?added=1"))
        assert "Фото додано до показань" in page.locator("main").inner_text()
        thumbnail = page.get_by_role("img", name="Фото лічильника 1")
        thumbnail.wait_for()
        assert page.evaluate("document.querySelector('ul.photos img').naturalWidth") == 64  # served, decoded
        browser_page.shot("photo-added")
    assert ReadingPhoto.objects.get().reading == reading
