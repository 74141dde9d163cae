"""The Viber bot end to end: Viber's callbacks posted, signed, to /viber/webhook/, the engine
behind it, and the fake Viber's record of what the resident got."""

import csv
import datetime as dt
import io
import logging
import re

import pytest
import time_machine

from accounts.models import AccountLink, ChannelIdentity
from accounts.signin_links import signin_link_redeem
from accounts.tests.factories import MeterFactory
from accounts.tests.telegram import signin_link_token
from botbridge.models import ConversationState, ProcessedEvent
from botbridge.tests import fake_viber as callbacks
from botbridge.tests.fake_viber import WELCOME, FakeViber
from botbridge.tests.viber_chat import USER_ID, ViberChat, said
from readings.models import Reading
from readings.selectors import window_stats
from readings.tests.test_api import api_as, billing_user

IN_WINDOW = "2026-11-28 10:00 +02:00"
MAIN = ["Додати особовий рахунок", "Мої особові рахунки", "Допомога", "Увійти в кабінет"]


@pytest.fixture
def homes(db):
    MeterFactory(account__number="123456789", account__address="вул. Соборна, 123", serial="AB123")
    MeterFactory(
        account__number="987654321",
        account__address="просп. Миру, 45, кв. 6",
        serial="GAMA1",
        zones=2,
        initial_values=[1000, 500],
    )


def link(resident: ViberChat, number: str, serial: str) -> str:
    resident.say("Додати особовий рахунок")
    resident.say(number)
    return said(resident.say(serial))


def test_the_seed_conversation_in_viber(homes, viber_resident, fake_viber):
    resident = viber_resident
    with time_machine.travel(IN_WINDOW, tick=True):
        [welcome] = resident.start()
        assert welcome.method == WELCOME and welcome.status == 0
        assert "Вітаю, Марія" in welcome.params["text"]
        assert FakeViber.button_texts(welcome) == MAIN
        assert fake_viber.calls_to("send_message") == []  # not subscribed: only the answer may carry it

        [ask] = resident.say("Додати особовий рахунок")
        assert "номер особового рахунку" in ask.params["text"] and FakeViber.button_texts(ask) == ["Скасувати"]
        resident.say("123456789")
        [added] = resident.say("AB123")
        assert "123456789 додано" in added.params["text"] and FakeViber.button_texts(added) == MAIN
        assert "987654321 додано" in link(resident, "987654321", "gama1")

        [listing] = resident.say("Мої особові рахунки")
        accounts = FakeViber.button_texts(listing)
        assert [text for text in accounts if "123456789" in text] and [t for t in accounts if "987654321" in t]
        assert len(accounts) == 3  # one per account, and Back
        card_and_ask = resident.press("987654321")
        assert "двозонний (день/ніч)" in said(card_and_ask) and "1111/2222" in card_and_ask[-1].params["text"]

        recorded = said(resident.say("1111/2222"))
        assert "Показання прийнято: 1111/2222" in recorded and "4199,04 грн" in recorded
        resident.say("Мої особові рахунки")
        resident.press("987654321")
        history = said(resident.press("Останні показання"))
        assert "1111/2222 · Прийнято: зараховано на 01.12.2026 · Viber · Квитанція " in history
        [helped] = resident.say("Допомога")
        assert "(061) 225-36-09" in helped.params["text"] and FakeViber.button_texts(helped) == MAIN

    reading = Reading.objects.get()
    assert (reading.channel, reading.channel_user_key) == ("viber", USER_ID)
    assert reading.submitted_by.channel_identities.get().channel == "viber"
    refused = [call for call in fake_viber.calls if call.status != 0]
    assert refused == []
    for call in fake_viber.calls_to("send_message"):
        assert call.params["sender"]["name"] == "Показник"
    export = api_as(billing_user()).get("/api/v1/export/readings/", {"period": "2026-12-01"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row[0] for row in rows[1:]] == ["987654321"] and "viber" in rows[1]
    assert window_stats(period=dt.date(2026, 12, 1)).channels == ["viber"]  # the staff dashboard's figures


def test_a_choice_offered_with_the_card_stays_on_the_keyboard_under_the_question(homes, viber_resident):
    resident = viber_resident
    with time_machine.travel(IN_WINDOW, tick=True):
        link(resident, "123456789", "AB123")
        resident.say("Мої особові рахунки")
        *_card, ask = resident.press("123456789")
        assert "Надішліть показання" in ask.params["text"]
        # Viber shows the newest keyboard only: the card's options, then the question's Cancel.
        assert FakeViber.button_texts(ask)[-1] == "Скасувати"
        assert {"Останні показання", "« Назад"} <= set(FakeViber.button_texts(ask))
        assert ask.params["min_api_version"] == 4  # Silent buttons: the tap's code is not shown in the chat
        assert all(button["Silent"] for button in FakeViber.buttons(ask)[:-1])
        history = said(resident.press("Останні показання"))
    assert "За рахунком 123456789 ще немає показань" in history


def test_a_wrong_or_missing_signature_is_refused_and_nothing_happens(homes, client, viber_settings, fake_viber):
    callback = callbacks.message_callback(USER_ID, "Мої особові рахунки")
    for signature in ("", "0" * 64, callbacks.sign(b"something else", fake_viber.token), "не hex"):
        answer = fake_viber.deliver(client, callback, signature=signature)
        assert answer.status_code == 403
    assert ProcessedEvent.objects.count() == 0 and ChannelIdentity.objects.count() == 0
    assert fake_viber.calls == []


def test_a_redelivered_message_changes_nothing(homes, viber_resident, fake_viber):
    resident = viber_resident
    resident.say("Додати особовий рахунок")
    callback = callbacks.message_callback(USER_ID, "123456789")
    assert len(resident.send(callback)) == 1
    assert resident.send(callback) == []  # Viber resends what it thinks we missed: no second answer
    assert ConversationState.objects.get(channel="viber").state == "Linking:serial"
    assert "додано" in said(resident.say("AB123"))
    started = callbacks.conversation_started(USER_ID)
    assert len(resident.send(started)) == 1 and resident.send(started) == []


def test_the_webhook_check_and_receipts_are_answered_200_and_do_nothing(viber_resident, fake_viber, caplog):
    with caplog.at_level(logging.INFO):
        for callback in (
            callbacks.webhook_check(),
            callbacks.receipt("delivered", USER_ID),
            callbacks.receipt("seen", USER_ID),
            callbacks.receipt("failed", USER_ID),
            {**callbacks.webhook_check(), "event": "client_status"},
        ):
            assert viber_resident.send(callback) == []
    assert fake_viber.calls == [] and ChannelIdentity.objects.count() == 0
    assert "failure description" in caplog.text and "client_status" in caplog.text


def test_the_webhook_is_off_without_a_token(client, settings):
    settings.VIBER_AUTH_TOKEN = ""
    answer = client.post("/viber/webhook/", data=b"{}", content_type="application/json")
    assert (answer.status_code, answer.json()) == (404, {"detail": "The Viber bot is not configured."})


def test_opening_the_chat_does_not_subscribe_and_writing_does(db, client, viber_settings, fake_viber):
    resident = ViberChat(fake_viber, client)
    [welcome] = resident.start()
    assert "Вітаю, Марія" in welcome.params["text"]
    assert ChannelIdentity.objects.get(channel="viber").blocked_at is not None  # no reminders to them yet
    resident.say("Допомога")
    assert ChannelIdentity.objects.get(channel="viber").blocked_at is None
    resident.send(callbacks.unsubscribed(USER_ID))
    assert ChannelIdentity.objects.get(channel="viber").blocked_at is not None
    resident.send(callbacks.subscribed(USER_ID))
    assert ChannelIdentity.objects.get(channel="viber").blocked_at is None


def test_an_english_speaking_resident_is_answered_in_english(db, client, viber_settings, fake_viber):
    resident = ViberChat(fake_viber, client, language="en", name="John")
    [welcome] = resident.start()
    assert "John" in welcome.params["text"] and "Help" in FakeViber.button_texts(welcome)


@pytest.mark.parametrize("kind", ["picture", "sticker", "video", "file", "location", "contact", "url", "rich_media"])
def test_anything_but_text_gets_the_polite_answer(viber_resident, kind):
    [reply] = viber_resident.send(callbacks.message_callback(USER_ID, kind=kind))
    assert "лише текст" in reply.params["text"] and FakeViber.button_texts(reply)[0] == "Додати особовий рахунок"


def test_a_reply_viber_refuses_is_logged_and_marks_a_gone_receiver(viber_resident, fake_viber, caplog):
    fake_viber.fail_next("send_message", 6)
    with caplog.at_level(logging.WARNING):
        viber_resident.say("Допомога")
    assert "status 6 receiverNotSubscribed" in caplog.text
    assert ChannelIdentity.objects.get(channel="viber").blocked_at is not None


def test_the_sign_in_link_signs_in_the_viber_residents_own_portal_user(viber_resident, settings):
    settings.PORTAL_URL = "https://pokaznyk.example.ua"
    [reply] = viber_resident.say("Увійти в кабінет")
    [url] = re.findall(r"https?://\S+", reply.params["text"])
    # Viber cannot be told not to preview a link: the link's GET only asks to press a button.
    assert url.startswith("https://pokaznyk.example.ua/")
    user = signin_link_redeem(token=signin_link_token(url))
    assert user == ChannelIdentity.objects.get(channel="viber", external_id=USER_ID).user


def test_more_accounts_than_a_keyboard_holds_keep_the_first_ones_and_the_way_back(viber_resident, fake_viber):
    viber_resident.say("Допомога")
    user = ChannelIdentity.objects.get(channel="viber").user
    for n in range(30):
        AccountLink.objects.create(user=user, account=MeterFactory(account__number=f"5000000{n:02}").account)
    [listing] = viber_resident.say("Мої особові рахунки")
    buttons = FakeViber.button_texts(listing)
    assert listing.status == 0 and len(buttons) == 24
    assert buttons[:23] == [f"5000000{n:02}" for n in range(23)] and buttons[-1] == "« Назад"
