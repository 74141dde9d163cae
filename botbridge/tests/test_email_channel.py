"""Email as a channel of the one sender: who a window reminder is emailed to, review decisions by
email, and the email transport against a real SMTP server on 127.0.0.1 (aiosmtpd) through
Django's SMTP backend."""

import datetime as dt
import socket
import time

import pytest
import time_machine
from asgiref.sync import async_to_sync

from accounts.emails import email_confirm, email_confirm_link
from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink, Meter, User
from accounts.reminder_channels import reminder_channel_set
from accounts.tests.factories import MeterFactory, UserFactory
from botbridge import sending, services, tasks
from botbridge.channels.email.letters import split
from botbridge.channels.email.outbound import EmailTransport
from botbridge.models import Broadcast, Delivery
from botbridge.outbound import Failed, Sent, Transient
from conftest import kyiv
from readings.services import reading_reject, reading_submit

pytestmark = pytest.mark.django_db

OPENS, LAST = Broadcast.Kind.WINDOW_OPENS, Broadcast.Kind.LAST_DAY
DECEMBER = dt.date(2026, 12, 1)  # the window 27.11–03.12.2026
PORTAL = "https://pokaznyk.example.ua"


@pytest.fixture(autouse=True)
def portal_url(settings):
    settings.PORTAL_URL = PORTAL


def resident(email: str, *, confirmed: bool = True, accounts: int = 1, language: str = "", **switches) -> User:
    """A resident who signed up on the web, their address confirmed through its link (or not yet)."""
    user = User.objects.create_user(username=email, email=email, password="соняшник-42", language=language)
    for _ in range(accounts):
        AccountLink.objects.create(user=user, account=MeterFactory(initial_values=[1000]).account)
    if confirmed:
        email_confirm(token=email_confirm_link(user=user).rstrip("/").rsplit("/", 1)[1])
    if switches:
        User.objects.filter(pk=user.pk).update(**switches)
    return user


def numbers(user: User) -> list[str]:
    return sorted(user.account_links.values_list("account__number", flat=True))


def emails_of(broadcast: Broadcast) -> dict[str, str]:
    return dict(broadcast.deliveries.filter(channel="email").values_list("recipient_key", "text"))


def filled(kind=OPENS) -> Broadcast:
    broadcast = services.broadcast_start(kind=kind, period=DECEMBER)
    services.broadcast_fill(broadcast_id=broadcast.pk)
    return broadcast


# --- Who gets a reminder by email ---------------------------------------------------------------


def test_a_window_reminder_is_emailed_to_confirmed_addresses_with_reminders_on():
    maria = resident("Maria@Example.com")
    resident("unconfirmed@example.com", confirmed=False)
    resident("silent@example.com", email_reminders_enabled=False)
    off = resident("accounts-off@example.com")
    off.account_links.update(reminders_enabled=False)
    resident("gone@example.com", is_active=False)

    broadcast = filled()

    (email,) = emails_of(broadcast)
    assert email == "maria@example.com"
    subject, body = split(emails_of(broadcast)[email])
    assert subject == "Показання лічильника: передайте до 03.12.2026"
    (number,) = numbers(maria)
    assert body.startswith("Показання на 01.12.2026 — споживання за листопад 2026.\n\n")
    assert (
        f"Показання приймаються з 27.11.2026 до 03.12.2026: надішліть показання лічильника для рахунку {number}."
        in body
    )
    assert f"Передайте їх у кабінеті: {PORTAL}/" in body
    assert f"Щоб їх не отримувати, вимкніть їх у налаштуваннях: {PORTAL}/settings/" in body


def test_an_address_gets_one_reminder_per_window_however_often_it_is_listed():
    resident("maria@example.com", accounts=2)
    first = filled()
    again = services.broadcast_start(kind=OPENS, period=DECEMBER)
    Broadcast.objects.filter(pk=again.pk).update(filled_at=None)  # a fill killed half-way runs again
    services.broadcast_fill(broadcast_id=again.pk)
    assert first == again
    assert list(Delivery.objects.values_list("channel", "recipient_key")) == [("email", "maria@example.com")]


def test_the_last_day_email_names_only_accounts_still_without_a_reading():
    maria = resident("maria@example.com", accounts=2)
    done = resident("done@example.com")
    sent_number, missing_number = numbers(maria)
    for number in (sent_number, *numbers(done)):
        meter = Meter.objects.get(account__number=number)
        reading_submit(meter=meter, text="1100", channel="web", submitted_at=kyiv(2026, 11, 28))
    texts = emails_of(filled(LAST))
    assert set(texts) == {"maria@example.com"}
    subject, body = split(texts["maria@example.com"])
    assert subject == "Сьогодні, 03.12.2026, — останній день прийому показань"
    assert f"для рахунку {missing_number} їх ще немає" in body
    assert sent_number not in body


def test_an_english_cabinet_gets_english_emails():
    english = resident("john@example.com", language="en")
    subject, body = split(emails_of(filled())["john@example.com"])
    assert subject == "Meter readings: send yours by 03.12.2026"
    assert f"send the reading of your meter for account {numbers(english)[0]}." in body
    assert "To stop them, turn them off in Settings" in body


def test_a_resident_on_a_bot_and_email_gets_each_and_a_channel_switched_off_gets_none():
    user = channel_identity_resolve(channel="telegram", external_id="7001", display_name="Олег")
    AccountLink.objects.create(user=user, account=MeterFactory(initial_values=[1000]).account)
    User.objects.filter(pk=user.pk).update(email="oleg@example.com")
    user.refresh_from_db()
    email_confirm(token=email_confirm_link(user=user).rstrip("/").rsplit("/", 1)[1])
    assert sorted(filled().deliveries.values_list("channel", flat=True)) == ["email", "telegram"]

    reminder_channel_set(user=user, channel="telegram", enabled=False)
    assert list(filled(LAST).deliveries.values_list("channel", flat=True)) == ["email"]
    # Announcements are staff's messages to the bots' users: not reminders, and not by email.
    announcement = services.broadcast_announce(text="Планові роботи 05.12", created_by=None)
    services.broadcast_fill(broadcast_id=announcement.pk)
    assert list(announcement.deliveries.values_list("channel", flat=True)) == ["telegram"]


# --- Review decisions ---------------------------------------------------------------------------


def held(user: User, *, channel: str = "web", chat: str = "") -> object:
    meter = Meter.objects.filter(account__links__user=user).first()
    with time_machine.travel(kyiv(2026, 12, 1, 10), tick=False):
        return reading_submit(
            meter=meter, text="9000", channel=channel, channel_user_key=chat, submitted_by=user, confirm=True
        )


def test_a_decision_on_a_web_reading_is_emailed_to_the_confirmed_address():
    maria = resident("maria@example.com")
    reading = held(maria)
    reading_reject(reading_id=reading.pk, reviewed_by=UserFactory(is_staff=True), reason="Надішліть фото.")
    (notice,) = Broadcast.objects.filter(kind=Broadcast.Kind.NOTICE)
    ((channel, address, text),) = notice.deliveries.values_list("channel", "recipient_key", "text")
    assert (channel, address) == ("email", "maria@example.com")
    subject, body = split(text)
    assert subject == "Ваші показання 9000 відхилено: надішліть їх ще раз"
    assert "і відхилили їх: Надішліть фото." in body
    assert f"Квитанція {reading.receipt_display}." in body
    assert f"надішліть показання ще раз у кабінеті: {PORTAL}/accounts/{numbers(maria)[0]}/" in body


def test_a_decision_on_a_bot_reading_goes_to_the_bot_and_by_email():
    user = channel_identity_resolve(channel="telegram", external_id="7002", display_name="Олег")
    AccountLink.objects.create(user=user, account=MeterFactory(initial_values=[1000]).account)
    User.objects.filter(pk=user.pk).update(email="oleg@example.com")
    user.refresh_from_db()
    email_confirm(token=email_confirm_link(user=user).rstrip("/").rsplit("/", 1)[1])
    reading = held(user, channel="telegram", chat="7002")
    notice = services.notice_reading_reviewed(reading_id=reading.pk)
    assert sorted(notice.deliveries.values_list("channel", "recipient_key")) == [
        ("email", "oleg@example.com"),
        ("telegram", "7002"),
    ]


def test_an_unconfirmed_address_gets_no_decision():
    reading = held(resident("maria@example.com", confirmed=False))
    assert services.notice_reading_reviewed(reading_id=reading.pk) is None


# --- The transport against a real SMTP server ---------------------------------------------------

LETTER = "Показання лічильника: передайте до 03.12.2026\n\nПоказання приймаються з 27.11.2026 до 03.12.2026."


def transport_sends(*messages: tuple[str, str]) -> list:
    """Send through one EmailTransport, as one sender run does: one connection for all."""

    async def run() -> list:
        transport = EmailTransport()
        try:
            return [await transport.send(to, text, kind=OPENS) for to, text in messages]
        finally:
            await transport.close()

    return async_to_sync(run)()


def test_an_email_reaches_the_server_whole_and_in_ukrainian(smtp_settings, fake_smtp):
    smtp_settings.DEFAULT_FROM_EMAIL = "Показник <noreply@pokaznyk.example.ua>"
    fake_smtp.add_mailbox("maria@example.com")
    assert transport_sends(("maria@example.com", LETTER)) == [Sent()]
    (mail,) = fake_smtp.received
    assert mail.rcpt_tos == ["maria@example.com"]
    assert mail.mail_from == "noreply@pokaznyk.example.ua"
    assert mail.subject == "Показання лічильника: передайте до 03.12.2026"
    assert str(mail.message["From"]) == "Показник <noreply@pokaznyk.example.ua>"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.body.strip() == "Показання приймаються з 27.11.2026 до 03.12.2026."


def test_an_unknown_mailbox_fails_the_message_and_the_connection_goes_on(smtp_settings, fake_smtp):
    fake_smtp.add_mailbox("maria@example.com")
    first, second = transport_sends(("nobody@example.com", LETTER), ("maria@example.com", LETTER))
    assert isinstance(first, Failed) and first.error.startswith("550 5.1.1 <nobody@example.com>")
    assert second == Sent()
    assert len(fake_smtp.sessions) == 1


def test_a_temporary_refusal_is_transient(smtp_settings, fake_smtp):
    fake_smtp.add_mailbox("maria@example.com")
    fake_smtp.refuse_next("maria@example.com", "451 4.7.1 Greylisted, try again later")
    first, second = transport_sends(("maria@example.com", LETTER), ("maria@example.com", LETTER))
    assert first == Transient("451 4.7.1 Greylisted, try again later")
    assert second == Sent()


def test_a_421_closes_the_connection_and_the_next_message_opens_a_new_one(smtp_settings, fake_smtp):
    fake_smtp.add_mailbox("maria@example.com")
    fake_smtp.refuse_next("maria@example.com", "421 4.7.0 Too many connections, closing")
    first, second = transport_sends(("maria@example.com", LETTER), ("maria@example.com", LETTER))
    assert first == Transient("421 4.7.0 Too many connections, closing")
    assert second == Sent()
    assert len(fake_smtp.sessions) == 2


def test_no_server_listening_is_transient(smtp_settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        smtp_settings.EMAIL_PORT = closed.getsockname()[1]  # bound, never listening: refused
        (outcome,) = transport_sends(("maria@example.com", LETTER))
    assert isinstance(outcome, Transient) and "ConnectionRefusedError" in outcome.error


def test_a_silent_server_times_out_as_transient(smtp_settings):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are taken, no greeting ever comes
        smtp_settings.EMAIL_PORT, smtp_settings.EMAIL_TIMEOUT = silent.getsockname()[1], 1
        started = time.monotonic()
        (outcome,) = transport_sends(("maria@example.com", LETTER))
    assert isinstance(outcome, Transient) and "timed out" in outcome.error
    assert time.monotonic() - started < 5


# --- Through the sender, into the mail server ---------------------------------------------------


def test_the_tick_emails_the_window_reminder_once_through_the_sender(
    smtp_settings, fake_smtp, eager_celery, django_capture_on_commit_callbacks
):
    maria = resident("maria@example.com")
    fake_smtp.add_mailbox("maria@example.com")
    with time_machine.travel(kyiv(2026, 11, 27, 9, 5), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            (broadcast_id,) = tasks.reminders_tick.delay().get()
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.reminders_tick.delay().get() == []  # the schedule asks again: nothing new
            assert tasks.outbox_tick.delay().get() == {"broadcasts": 0, "send": 0}

    (mail,) = fake_smtp.received
    assert mail.rcpt_tos == ["maria@example.com"]
    assert mail.subject == "Показання лічильника: передайте до 03.12.2026"
    assert f"для рахунку {numbers(maria)[0]}." in mail.body
    assert f"{PORTAL}/settings/" in mail.body
    delivery = Delivery.objects.get(broadcast_id=broadcast_id)
    assert (delivery.channel, delivery.status) == ("email", "sent")
    assert Broadcast.objects.get(pk=broadcast_id).finished_at is not None


def test_the_sender_fails_an_unknown_mailbox_and_retries_a_greylisted_one(smtp_settings, fake_smtp):
    for address in ("maria@example.com", "oleg@example.com", "nobody@example.com"):
        resident(address)
    fake_smtp.add_mailbox("maria@example.com")
    fake_smtp.add_mailbox("oleg@example.com")
    fake_smtp.refuse_next("oleg@example.com", "451 4.7.1 Greylisted, try again later")
    filled()
    with time_machine.travel(kyiv(2026, 11, 27, 9, 0), tick=True) as clock:
        first = sending.deliveries_send(channel="email", stop_after_seconds=1)
        clock.shift(dt.timedelta(seconds=5))  # past the backoff
        second = sending.deliveries_send(channel="email")
    statuses = dict(Delivery.objects.values_list("recipient_key", "status"))
    assert statuses == {"maria@example.com": "sent", "oleg@example.com": "sent", "nobody@example.com": "failed"}
    assert Delivery.objects.get(recipient_key="nobody@example.com").error.startswith("550 5.1.1")
    assert (first.retried, first.failed, first.sent + second.sent) == (1, 1, 2)
    assert sorted(mail.rcpt_tos[0] for mail in fake_smtp.received) == ["maria@example.com", "oleg@example.com"]


def test_a_decision_goes_out_by_email_and_in_the_bot_when_staff_reject(
    smtp_settings, fake_smtp, bot_settings, fake_bot_api, eager_celery, django_capture_on_commit_callbacks
):
    user = channel_identity_resolve(channel="telegram", external_id="7003", display_name="Олег")
    fake_bot_api.add_chat(7003)
    AccountLink.objects.create(user=user, account=MeterFactory(initial_values=[1000]).account)
    User.objects.filter(pk=user.pk).update(email="oleg@example.com")
    user.refresh_from_db()
    email_confirm(token=email_confirm_link(user=user).rstrip("/").rsplit("/", 1)[1])
    fake_smtp.add_mailbox("oleg@example.com")
    reading = held(user, channel="telegram", chat="7003")
    with django_capture_on_commit_callbacks(execute=True):
        reading_reject(reading_id=reading.pk, reviewed_by=UserFactory(is_staff=True), reason="Надішліть фото.")
    (mail,) = fake_smtp.received
    assert mail.subject == "Ваші показання 9000 відхилено: надішліть їх ще раз"
    (message,) = fake_bot_api.sent_messages()
    assert message.params["chat_id"] == 7003 and "Надішліть фото." in message.params["text"]


def test_with_email_off_the_deliveries_wait(settings):
    settings.EMAIL_CHANNEL = ""
    resident("maria@example.com")
    broadcast = filled()
    assert sending.deliveries_send(channel="email").skipped == "email is off: EMAIL_HOST is not set"
    assert broadcast.deliveries.get().status == Delivery.Status.QUEUED
