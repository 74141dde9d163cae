"""A meter photo sent to the Telegram bot: fetched through the Bot API (getFile, then the file)
and attached by the engine to the reading it is evidence for, or refused with the reason."""

import io

import pytest
import time_machine
from PIL import Image

from accounts.tests.factories import MeterFactory, UserFactory
from botbridge.tests import updates
from botbridge.tests.chat import texts
from readings.models import Reading, ReadingPhoto
from readings.services import reading_reject
from readings.tests import images

IN_WINDOW = "2026-11-28 10:00 +02:00"


@pytest.fixture
def home(db):
    return MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[99950])


@pytest.fixture
def resident(home, webhook_resident, photos_dir):
    """Марія with the account linked, at the question for its one meter's reading."""
    with time_machine.travel(IN_WINDOW, tick=True):
        webhook_resident.say("Додати особовий рахунок")
        webhook_resident.say("123456789")
        webhook_resident.say("AB123")
        webhook_resident.say("Мої особові рахунки")
        webhook_resident.press("123456789")
        yield webhook_resident


def photo_update(resident, content: bytes, *, caption: str | None = None) -> dict:
    """A photo update whose largest size the fake Bot API holds as `content`."""
    update = updates.photo(caption, user_id=resident.user_id)
    resident.fake.put_file(update["message"]["photo"][-1]["file_id"], content)
    return update


def held(resident) -> Reading:
    """A rollover the resident confirms: held for review."""
    resident.say("30")
    assert "передано фахівцям на перевірку: 30" in texts(resident.press("Так"))
    return Reading.objects.get(status="needs_review")


def test_a_photo_after_a_held_reading_is_fetched_and_attached_without_its_location(resident):
    reading = held(resident)
    update = photo_update(resident, images.jpeg_with_location())
    reply = texts(resident.send(update))
    assert "Фото додано до показань 30 лічильника AB123" in reply
    [get_file] = resident.fake.calls_to("getFile")
    assert get_file.params["file_id"] == update["message"]["photo"][-1]["file_id"]  # the largest size
    assert resident.fake.downloads == [get_file.response["result"]["file_path"]]
    photo = ReadingPhoto.objects.get()
    assert (photo.reading, photo.channel) == (reading, "telegram")
    with photo.file.open("rb") as stored:
        kept = stored.read()
    assert Image.open(io.BytesIO(kept)).getexif().get_ifd(0x8825) == {} and b"PhoneMaker" not in kept


def test_a_photo_with_the_reading_as_caption_records_both(db, webhook_resident, photos_dir):
    MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        webhook_resident.say("Додати особовий рахунок")
        webhook_resident.say("123456789")
        webhook_resident.say("AB123")
        webhook_resident.say("Мої особові рахунки")
        webhook_resident.press("123456789")
        reply = texts(webhook_resident.send(photo_update(webhook_resident, images.png(), caption="1100")))
    assert "Показання прийнято: 1100" in reply and "Фото додано до показань 1100" in reply
    assert ReadingPhoto.objects.get().reading.values == (1100,)


def test_a_photo_right_after_an_accepted_reading_goes_with_it(db, webhook_resident, photos_dir):
    MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        webhook_resident.say("Додати особовий рахунок")
        webhook_resident.say("123456789")
        webhook_resident.say("AB123")
        webhook_resident.say("Мої особові рахунки")
        webhook_resident.press("123456789")
        assert "Показання прийнято: 1100" in texts(webhook_resident.say("1100"))
        reply = texts(webhook_resident.send(photo_update(webhook_resident, images.png())))
    assert "Фото додано до показань 1100" in reply
    assert ReadingPhoto.objects.get().reading.values == (1100,)


def test_a_photo_while_the_reading_is_asked_for_asks_for_the_numbers_first(resident):
    reply = texts(resident.send(photo_update(resident, images.png())))
    assert "спершу введіть цифри з табло, потім надішліть фото" in reply
    assert "Надішліть показання: одне число, наприклад 12345." in reply
    assert not ReadingPhoto.objects.exists() and not Reading.objects.exists()


def test_a_photo_with_no_reading_to_go_with_says_how_it_works(db, webhook_resident, photos_dir):
    reply = texts(webhook_resident.send(photo_update(webhook_resident, images.png())))
    assert "спершу надішліть показання («Мої особові рахунки»), потім фото" in reply
    assert not ReadingPhoto.objects.exists()


def test_a_rejected_reading_takes_the_photo_staff_asked_for(resident):
    reading = held(resident)
    reading_reject(reading_id=reading.pk, reviewed_by=UserFactory(), reason="Надішліть фото табло лічильника.")
    resident.say("/start")  # the conversation has moved on: the photo still finds the rejected reading
    reply = texts(resident.send(photo_update(resident, images.heic())))
    assert "Фото додано до показань 30 лічильника AB123" in reply
    assert ReadingPhoto.objects.get().reading == reading


def test_an_image_sent_as_a_file_is_a_photo_too(resident):
    held(resident)
    update = updates.document("IMG_0042.HEIC", "image/heic", user_id=resident.user_id)
    resident.fake.put_file(update["message"]["document"]["file_id"], images.heic())
    assert "Фото додано до показань 30" in texts(resident.send(update))


def test_a_file_that_is_not_a_picture_is_refused_with_the_reason(resident):
    held(resident)
    reply = texts(resident.send(photo_update(resident, b"\xff\xd8\xff not a jpeg at all")))
    assert "Цей файл не є зображенням, яке ми можемо прочитати" in reply
    assert not ReadingPhoto.objects.exists()


def test_a_photo_over_10_mb_is_refused_without_being_fetched(resident):
    held(resident)
    update = updates.document("meter.jpg", "image/jpeg", user_id=resident.user_id)
    update["message"]["document"]["file_size"] = 15 * 1024 * 1024
    assert "Фото більше за 10 МБ" in texts(resident.send(update))
    assert resident.fake.calls_to("getFile") == [] and resident.fake.downloads == []


def test_a_photo_telegram_cannot_hand_over_is_asked_for_again(resident):
    held(resident)
    update = updates.photo(user_id=resident.user_id)  # the fake holds no such file: getFile refuses
    assert "Фото до мене не дійшло. Надішліть його ще раз" in texts(resident.send(update))
    assert not ReadingPhoto.objects.exists()
