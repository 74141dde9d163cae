"""Meter photos: what is refused and why, what is kept (no metadata, upright), where, and who
may see it (the reading's residents and reviewing staff; everyone else gets a 404)."""

import io

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import AccountLink
from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from readings import photos
from readings.errors import (
    PhotoLimitReached,
    PhotoNotAccepted,
    PhotoNotImage,
    PhotoTooBig,
    PhotoTooManyPixels,
    PhotoWrongType,
)
from readings.models import Reading, ReadingPhoto
from readings.services import PHOTOS_PER_READING, reading_photo_attach, reading_reject, reading_submit
from readings.tests import images

pytestmark = pytest.mark.django_db

IN_WINDOW = kyiv(2026, 12, 1, 10)


@pytest.fixture
def in_window():
    with time_machine.travel(IN_WINDOW, tick=False):
        yield


def resident_reading(text: str = "1100", *, confirm: bool = False) -> Reading:
    meter = MeterFactory(initial_values=[1000])
    user = UserFactory()
    AccountLink.objects.create(user=user, account=meter.account)
    return reading_submit(meter=meter, text=text, channel="web", submitted_by=user, confirm=confirm)


def staff(role: str):
    user = UserFactory(username=role, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def upload(content: bytes, name: str = "meter.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def page(response) -> str:
    return response.content.decode()


# --- What is refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        (b"\xff\xd8\xff\xe0 not really a jpeg", PhotoNotImage),
        (b"%PDF-1.7 a bill", PhotoNotImage),
        (b"", PhotoNotImage),
        (images.gif(), PhotoWrongType),
        (images.bomb_png(), PhotoTooManyPixels),  # 144 MP: over Pillow's own guard
    ],
    ids=["broken-jpeg", "pdf", "empty", "gif", "bomb"],
)
def test_what_is_not_a_photo_of_an_accepted_type_is_refused_with_its_reason(content, refusal):
    with pytest.raises(refusal):
        photos.photo_clean(content)


def test_a_picture_over_the_pixel_limit_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(photos, "MAX_PIXELS", 64 * 32 - 1)
    with pytest.raises(PhotoTooManyPixels):
        photos.photo_clean(images.jpeg_with_location(width=64, height=32))


def test_a_file_over_10_mb_is_refused_whatever_it_holds():
    with pytest.raises(PhotoTooBig) as refused:
        photos.photo_clean(images.png() + b"\0" * photos.MAX_BYTES)
    assert "10 МБ" in refused.value.message


# --- What is kept ----------------------------------------------------------------------------------


def test_location_and_camera_are_stripped_and_the_orientation_is_kept_in_the_pixels():
    original = images.jpeg_with_location(width=64, height=32, orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the sender's GPS is there
    kept = photos.photo_clean(original)
    image = Image.open(io.BytesIO(kept.content))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {} and image.getexif().get_ifd(0x8825) == {}
    assert "exif" not in image.info and b"Exif" not in kept.content and b"PhoneMaker" not in kept.content
    # Orientation 6 turned the 64×32 landscape upright: 32×64, the red half now on top.
    assert (image.width, image.height) == (kept.width, kept.height) == (32, 64)
    red, green, blue = image.convert("RGB").getpixel((16, 8))
    assert red > 150 and green < 80 and blue < 80


@pytest.mark.parametrize("make", [images.png, images.heic], ids=["png", "heic"])
def test_png_and_heic_are_kept_as_jpeg(make):
    kept = photos.photo_clean(make())
    assert Image.open(io.BytesIO(kept.content)).format == "JPEG"


def test_the_photo_is_stored_through_the_storage_api_under_a_random_name(photos_dir, in_window):
    reading = resident_reading()
    photo = reading_photo_attach(
        reading_id=reading.pk, content=images.jpeg_with_location(), channel="web", uploaded_by=reading.submitted_by
    )
    stored = list(photos_dir.iterdir())
    assert [path.name for path in stored] == [photo.file.name]
    assert reading.meter.account.number not in photo.file.name and len(photo.file.name) >= 32
    assert b"PhoneMaker" not in stored[0].read_bytes()
    assert (photo.size, photo.channel) == (stored[0].stat().st_size, "web")


def test_the_s3_storage_is_configured_from_the_environment(monkeypatch):
    """PHOTOS_S3_* switch the photos to a private S3-compatible bucket (django-storages)."""
    import importlib

    from portal import settings as portal_settings

    monkeypatch.setenv("DJANGO_DEBUG", "1")
    monkeypatch.setenv("PHOTOS_S3_BUCKET", "pokaznyk-photos")
    monkeypatch.setenv("PHOTOS_S3_ENDPOINT_URL", "https://s3.example.ua")
    try:
        configured = importlib.reload(portal_settings).STORAGES["photos"]
    finally:
        monkeypatch.delenv("PHOTOS_S3_BUCKET")
        importlib.reload(portal_settings)
    assert configured["BACKEND"] == "storages.backends.s3.S3Storage"
    options = configured["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == ("pokaznyk-photos", "https://s3.example.ua")
    assert (options["default_acl"], options["querystring_auth"], options["file_overwrite"]) == ("private", True, False)


def test_a_superseded_reading_takes_no_photo_and_a_reading_takes_at_most_five(photos_dir, in_window):
    reading = resident_reading()
    for _ in range(PHOTOS_PER_READING):
        reading_photo_attach(reading_id=reading.pk, content=images.png(), channel="web", uploaded_by=None)
    with pytest.raises(PhotoLimitReached):
        reading_photo_attach(reading_id=reading.pk, content=images.png(), channel="web", uploaded_by=None)
    reading_submit(meter=reading.meter, text="1101", channel="web")
    with pytest.raises(PhotoNotAccepted):
        reading_photo_attach(reading_id=reading.pk, content=images.png(), channel="web", uploaded_by=None)
    assert ReadingPhoto.objects.count() == len(list(photos_dir.iterdir())) == PHOTOS_PER_READING


# --- The cabinet -----------------------------------------------------------------------------------


def test_after_sending_the_account_page_offers_a_photo_and_the_resident_adds_one(client, photos_dir, in_window):
    reading = resident_reading()
    client.force_login(reading.submitted_by)
    number = reading.meter.account.number
    account_page = page(client.get(f"/accounts/{number}/?recorded={reading.pk}"))
    assert "Додайте фото лічильника (JPEG, PNG або HEIC, до 10 МБ)" in account_page
    assert f'action="{reverse("reading_photo", args=[reading.pk])}"' in account_page
    response = client.post(reverse("reading_photo", args=[reading.pk]), {"photo": upload(images.heic(), "IMG.HEIC")})
    assert response.status_code == 302
    shown = page(client.get(response["Location"]))
    assert "Фото додано до показань" in shown
    photo = ReadingPhoto.objects.get()
    assert f'src="{reverse("photo_file", args=[photo.pk])}"' in shown
    served = client.get(reverse("photo_file", args=[photo.pk]))
    assert served["Content-Type"] == "image/jpeg" and served["Cache-Control"] == "private, no-store"
    assert Image.open(io.BytesIO(b"".join(served.streaming_content))).format == "JPEG"


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (
            upload(b"GIF89a" + images.gif()[6:], "meter.jpg"),
            "Фото приймаються у форматах JPEG, PNG або HEIC, а це — GIF",
        ),
        (upload(b"%PDF-1.7", "meter.png", "image/png"), "Цей файл не є зображенням, яке ми можемо прочитати"),
        (upload(images.png() + b"\0" * photos.MAX_BYTES), "Фото більше за 10 МБ"),
        (None, "Спершу виберіть фото лічильника."),
    ],
    ids=["gif-named-jpg", "pdf-named-png", "over-10-mb", "no-file"],
)
def test_every_refused_upload_says_why_and_keeps_nothing(client, photos_dir, in_window, file, message):
    reading = resident_reading()
    client.force_login(reading.submitted_by)
    response = client.post(reverse("reading_photo", args=[reading.pk]), {"photo": file} if file else {})
    assert response.status_code == 400
    assert message in page(response)
    assert not ReadingPhoto.objects.exists() and not list(photos_dir.iterdir())


def test_an_upload_far_over_the_limit_is_cut_off_with_the_same_words(client, photos_dir, in_window):
    reading = resident_reading()
    client.force_login(reading.submitted_by)
    big = upload(b"\0" * (12 * 1024 * 1024))
    response = client.post(reverse("reading_photo", args=[reading.pk]), {"photo": big})
    assert response.status_code == 413
    assert "Фото більше за 10 МБ" in page(response)
    assert not ReadingPhoto.objects.exists()


def test_a_rejected_reading_in_the_history_answers_with_a_photo(client, photos_dir, in_window):
    reading = resident_reading("9000", confirm=True)  # far above the usual: held for review
    reading_reject(reading_id=reading.pk, reviewed_by=staff("operator"), reason="Надішліть фото табло лічильника.")
    client.force_login(reading.submitted_by)
    history = page(client.get(f"/accounts/{reading.meter.account.number}/history/"))
    assert "Відхилено фахівцями" in history and "Причина: Надішліть фото табло лічильника." in history
    assert f'href="{reverse("reading_photo", args=[reading.pk])}"' in history
    response = client.post(reverse("reading_photo", args=[reading.pk]), {"photo": upload(images.png(), "m.png")})
    assert response.status_code == 302
    assert ReadingPhoto.objects.get().reading == reading


# --- Who may see a photo ---------------------------------------------------------------------------


@pytest.fixture
def stored_photo(photos_dir, in_window) -> ReadingPhoto:
    reading = resident_reading()
    return reading_photo_attach(reading_id=reading.pk, content=images.png(), channel="web", uploaded_by=None)


def test_another_resident_gets_404_for_the_photo_and_its_page(client, stored_photo):
    client.force_login(UserFactory())
    assert client.get(reverse("photo_file", args=[stored_photo.pk])).status_code == 404
    assert client.get(reverse("reading_photo", args=[stored_photo.reading_id])).status_code == 404
    upload_attempt = client.post(
        reverse("reading_photo", args=[stored_photo.reading_id]), {"photo": upload(images.png())}
    )
    assert upload_attempt.status_code == 404
    assert ReadingPhoto.objects.count() == 1


def test_a_signed_out_visitor_is_sent_to_sign_in(client, stored_photo):
    response = client.get(reverse("photo_file", args=[stored_photo.pk]))
    assert response.status_code == 302 and "photos" not in response["Location"].split("?")[0]


def test_every_resident_of_the_account_and_reviewing_staff_see_the_photo(client, stored_photo):
    neighbour = UserFactory()
    AccountLink.objects.create(user=neighbour, account=stored_photo.reading.meter.account)
    for viewer in (neighbour, staff("operator"), staff("supervisor")):
        client.force_login(viewer)
        assert client.get(reverse("photo_file", args=[stored_photo.pk])).status_code == 200, viewer


def test_staff_without_the_review_permission_get_404(client, stored_photo):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("photo_file", args=[stored_photo.pk])).status_code == 404


def test_media_is_not_served_at_any_address(client, stored_photo):
    client.force_login(stored_photo.reading.submitted_by)
    for url in (f"/media/{stored_photo.file.name}", f"/media/photos/{stored_photo.file.name}"):
        assert client.get(url).status_code == 404


# --- Staff review ----------------------------------------------------------------------------------


def test_the_review_queue_shows_the_photo_beside_the_reading(client, photos_dir, in_window):
    held = resident_reading("9000", confirm=True)
    photo = reading_photo_attach(reading_id=held.pk, content=images.png(), channel="web", uploaded_by=None)
    without = resident_reading("9500", confirm=True)
    client.force_login(staff("operator"))
    queue = page(client.get(reverse("admin:readings_readingforreview_changelist")))
    url = reverse("photo_file", args=[photo.pk])
    assert f'<a href="{url}" target="_blank" rel="noopener"><img src="{url}"' in queue
    assert queue.count('<img src="/photos/') == 1 and str(without.value1) in queue
    assert "фото лічильника" in queue.lower()


def test_rejecting_with_send_a_photo_puts_the_request_in_the_reason(client, photos_dir, in_window):
    held = resident_reading("9000", confirm=True)
    client.force_login(staff("operator"))
    url = reverse("admin:readings_readingforreview_changelist")
    form = page(client.post(url, {"action": "reject_selected", "_selected_action": [held.pk]}))
    assert "Попросити фото лічильника" in form
    client.post(url, {"action": "reject_selected", "_selected_action": [held.pk], "apply": "1", "ask_photo": "on"})
    held.refresh_from_db()
    assert (held.status, held.review_note) == ("rejected", "Надішліть фото табло лічильника.")
    client.force_login(held.submitted_by)
    client.post(reverse("reading_photo", args=[held.pk]), {"photo": upload(images.png(), "m.png")})
    assert held.photos.count() == 1
