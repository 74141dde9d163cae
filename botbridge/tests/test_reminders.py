"""Window reminders: when they are due, who gets them, and the rate-limited sender against the fake Bot API."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import caches

from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink, ChannelIdentity
from accounts.tests.factories import MeterFactory
from botbridge import reminders, sending, services, tasks
from botbridge.models import Broadcast, Delivery
from conftest import kyiv
from readings.selectors import window_on
from readings.services import reading_submit

pytestmark = pytest.mark.django_db

OPENS, LAST = Broadcast.Kind.WINDOW_OPENS, Broadcast.Kind.LAST_DAY


# --- When ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # The docs/domain.md windows: 28.05–03.06, 27.11–03.12, 30.12–05.01, 25.02–03.03.
        (kyiv(2026, 5, 28, 9, 0), [OPENS]),
        (kyiv(2026, 5, 28, 8, 59), []),
        (kyiv(2026, 6, 3, 9, 30), [LAST]),
        (kyiv(2026, 6, 1, 12, 0), []),
        (kyiv(2026, 11, 27, 9, 0), [OPENS]),
        (kyiv(2026, 11, 26, 23, 0), []),
        (kyiv(2026, 12, 3, 18, 0), [LAST]),
        (kyiv(2026, 12, 30, 10, 0), [OPENS]),
        (kyiv(2027, 1, 1, 10, 0), []),
        (kyiv(2027, 1, 5, 9, 0), [LAST]),
        (kyiv(2027, 2, 25, 9, 5), [OPENS]),
        (kyiv(2027, 3, 3, 23, 55), [LAST]),
    ],
)
def test_reminders_are_due_on_the_windows_first_and_last_day_from_the_hour(moment, expected):
    with time_machine.travel(moment, tick=False):
        assert reminders.reminders_due(moment, window_on(moment.date()), hour=9) == expected


def test_a_one_day_window_gets_both_reminders(settings):
    settings.READINGS_WINDOW_BEFORE, settings.READINGS_WINDOW_AFTER = 0, 1
    moment = kyiv(2026, 12, 1, 9, 0)
    assert reminders.reminders_due(moment, window_on(moment.date()), hour=9) == [OPENS, LAST]


# --- Who ----------------------------------------------------------------------------------------


def bot_user(telegram_id: int, *, language: str = "uk", accounts: int = 1, reminders_on: bool = True):
    user = channel_identity_resolve(
        channel="telegram", external_id=str(telegram_id), display_name="Марія", language_code=language
    )
    meters = []
    for _ in range(accounts):
        meter = MeterFactory(initial_values=[1000])
        AccountLink.objects.create(user=user, account=meter.account, reminders_enabled=reminders_on)
        meters.append(meter)
    return user, meters


def texts_by_chat(broadcast) -> dict[int, str]:
    return {int(key): text for key, text in broadcast.deliveries.values_list("recipient_key", "text")}


def test_the_opening_reminder_goes_to_bot_users_with_reminders_on(settings):
    _, (meter,) = bot_user(101)
    bot_user(102, reminders_on=False)
    _, (english,) = bot_user(103, language="en")
    bot_user(104)
    ChannelIdentity.objects.filter(channel="telegram", external_id="104").update(blocked_at=kyiv(2026, 11, 1))
    channel_identity_resolve(channel="telegram", external_id="105", display_name="Без рахунків")
    broadcast = services.broadcast_start(kind=OPENS, period=dt.date(2026, 12, 1))
    assert services.broadcast_fill(broadcast_id=broadcast.pk) == 2
    texts = texts_by_chat(broadcast)
    assert set(texts) == {101, 103}
    assert texts[101].startswith(
        "Показання на 01.12.2026 — споживання за листопад 2026.\nПоказання приймаються з сьогодні до 03.12.2026"
    )
    assert meter.account.number in texts[101]
    assert texts[103].startswith(
        "Reading as of 01.12.2026 — consumption for November 2026.\nReadings are accepted from today until 03.12.2026"
    )
    assert english.account.number in texts[103]


def test_the_last_day_reminder_names_only_accounts_still_without_a_reading():
    _, (sent, missing) = bot_user(201, accounts=2)
    _, (done,) = bot_user(202)
    for meter in (sent, done):
        reading_submit(meter=meter, text="1100", channel="telegram", submitted_at=kyiv(2026, 11, 28))
    broadcast = services.broadcast_start(kind=LAST, period=dt.date(2026, 12, 1))
    services.broadcast_fill(broadcast_id=broadcast.pk)
    texts = texts_by_chat(broadcast)
    assert set(texts) == {201}
    assert missing.account.number in texts[201]
    assert sent.account.number not in texts[201]
    assert "останній день" in texts[201]


def test_a_reminder_is_made_once_per_window_however_often_the_schedule_asks(settings):
    settings.TELEGRAM_BOT_TOKEN = "123:fake"
    bot_user(301)
    with time_machine.travel(kyiv(2026, 11, 27, 9, 1), tick=False):
        first = services.broadcast_start(kind=OPENS, period=dt.date(2026, 12, 1))
        again = services.broadcast_start(kind=OPENS, period=dt.date(2026, 12, 1))
        services.broadcast_fill(broadcast_id=first.pk)
        services.broadcast_fill(broadcast_id=again.pk)
    assert first == again
    assert Broadcast.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_a_fill_killed_half_way_is_completed_by_the_next_run():
    for telegram_id in range(401, 406):
        bot_user(telegram_id)
    broadcast = services.broadcast_start(kind=OPENS, period=dt.date(2026, 12, 1))
    Delivery.objects.create(broadcast=broadcast, channel="telegram", recipient_key="401", text="made before the crash")
    services.broadcast_fill(broadcast_id=broadcast.pk)
    assert sorted(broadcast.deliveries.values_list("recipient_key", flat=True)) == ["401", "402", "403", "404", "405"]
    assert broadcast.deliveries.get(recipient_key="401").text == "made before the crash"


# --- Sending ------------------------------------------------------------------------------------


@pytest.fixture
def sender_settings(bot_settings):
    bot_settings.TELEGRAM_BROADCAST_RATE = 200
    caches["locks"].delete(sending.lock_key("telegram"))
    return bot_settings


def filled_broadcast(chat_ids, fake, kind=OPENS):
    for chat_id in chat_ids:
        bot_user(chat_id)
        fake.add_chat(chat_id)
    broadcast = services.broadcast_start(kind=kind, period=dt.date(2026, 12, 1))
    services.broadcast_fill(broadcast_id=broadcast.pk)
    return broadcast


def test_every_chat_gets_its_reminder_once(sender_settings, fake_bot_api):
    broadcast = filled_broadcast(range(1000, 1060), fake_bot_api)
    report = sending.deliveries_send(channel="telegram")
    assert (report.sent, report.failed, report.blocked) == (60, 0, 0)
    assert sorted(call.params["chat_id"] for call in fake_bot_api.sent_messages()) == list(range(1000, 1060))
    broadcast.refresh_from_db()
    assert broadcast.started_at and broadcast.finished_at
    assert sending.deliveries_send(channel="telegram").sent == 0  # run again: nothing goes twice
    assert len(fake_bot_api.sent_messages()) == 60


def test_a_429_pauses_the_sender_and_the_message_still_goes(sender_settings, fake_bot_api):
    filled_broadcast(range(2000, 2010), fake_bot_api)
    fake_bot_api.fail_next("sendMessage", status=429, description="Too Many Requests: retry after 1", retry_after=1)
    report = sending.deliveries_send(channel="telegram")
    assert report.sent == 10
    assert report.retried >= 1
    assert sorted(call.params["chat_id"] for call in fake_bot_api.sent_messages()) == list(range(2000, 2010))


def test_a_chat_that_blocked_the_bot_is_marked_and_not_written_to_again(sender_settings, fake_bot_api):
    filled_broadcast(range(3000, 3005), fake_bot_api)
    fake_bot_api.block_chat(3002)
    report = sending.deliveries_send(channel="telegram")
    assert (report.sent, report.blocked) == (4, 1)
    assert Delivery.objects.get(recipient_key="3002").status == Delivery.Status.BLOCKED
    assert ChannelIdentity.objects.get(channel="telegram", external_id="3002").blocked_at is not None
    # The next broadcast leaves the blocked chat out from the start.
    announcement = services.broadcast_announce(text="Планові роботи 05.12", created_by=None)
    services.broadcast_fill(broadcast_id=announcement.pk)
    assert "3002" not in set(announcement.deliveries.values_list("recipient_key", flat=True))


def test_a_transient_error_is_retried_and_a_bad_request_fails(sender_settings, fake_bot_api):
    filled_broadcast([4000, 4001], fake_bot_api)
    Delivery.objects.filter(recipient_key="4001").update(recipient_key="4999")  # a chat Telegram does not know
    fake_bot_api.fail_next("sendMessage", status=502, description="Bad Gateway")
    with time_machine.travel(kyiv(2026, 11, 27, 9, 0), tick=True) as clock:
        report = sending.deliveries_send(channel="telegram", stop_after_seconds=1)
        clock.shift(dt.timedelta(seconds=5))  # past the backoff
        report2 = sending.deliveries_send(channel="telegram")
    statuses = {int(key): status for key, status in Delivery.objects.values_list("recipient_key", "status")}
    assert statuses == {4000: "sent", 4999: "failed"}
    assert report.retried + report2.retried >= 1


def test_deliveries_left_sending_by_a_dead_sender_are_never_sent_again(sender_settings, fake_bot_api):
    filled_broadcast([5000, 5001], fake_bot_api)
    Delivery.objects.filter(recipient_key="5000").update(status=Delivery.Status.SENDING)  # killed mid-request
    report = sending.deliveries_send(channel="telegram")
    assert (report.interrupted, report.sent) == (1, 1)
    assert [call.params["chat_id"] for call in fake_bot_api.sent_messages()] == [5001]
    assert Delivery.objects.get(recipient_key="5000").status == Delivery.Status.INTERRUPTED


def test_a_second_sender_does_nothing_while_one_runs(sender_settings, fake_bot_api):
    filled_broadcast([6000], fake_bot_api)
    holder = sending.SenderLock("telegram")
    assert holder.acquire()
    assert sending.deliveries_send(channel="telegram").skipped == "another sender is running"
    assert fake_bot_api.sent_messages() == []
    holder.release()
    assert sending.deliveries_send(channel="telegram").sent == 1


@pytest.mark.slow
def test_the_rate_holds_and_a_chat_gets_one_message_a_second(sender_settings, fake_bot_api):
    sender_settings.TELEGRAM_BROADCAST_RATE = 20
    filled_broadcast(range(7000, 7030), fake_bot_api)
    # An announcement to the same chats right behind the reminder.
    announcement = services.broadcast_announce(text="Оголошення", created_by=None)
    services.broadcast_fill(broadcast_id=announcement.pk)
    report = sending.deliveries_send(channel="telegram")
    assert report.sent == 60
    assert report.seconds >= 2.5  # 60 messages at 20 a second
    by_chat: dict[int, list[float]] = {}
    for call in fake_bot_api.sent_messages():
        by_chat.setdefault(call.params["chat_id"], []).append(call.at)
    assert all(len(times) == 2 and times[1] - times[0] >= 0.95 for times in by_chat.values())


def test_the_tick_starts_the_due_reminder_and_sends_it(
    sender_settings, fake_bot_api, eager_celery, django_capture_on_commit_callbacks
):
    bot_user(8000)
    fake_bot_api.add_chat(8000)
    with time_machine.travel(kyiv(2026, 11, 27, 8, 55), tick=True):
        assert tasks.reminders_tick.delay().get() == []
    with time_machine.travel(kyiv(2026, 11, 27, 9, 5), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            (broadcast_id,) = tasks.reminders_tick.delay().get()
        assert tasks.reminders_tick.delay().get() == []  # already made: nothing new
    assert [call.params["chat_id"] for call in fake_bot_api.sent_messages()] == [8000]
    assert Broadcast.objects.get(pk=broadcast_id).finished_at is not None


def test_without_redis_the_beat_process_runs_the_reminders_itself(sender_settings, fake_bot_api, eager_celery):
    """The embedded setup: `make run` starts `celery beat` only; with no broker the schedule's
    tasks run inside it, so reminders go out with no other service."""
    from celery.beat import ScheduleEntry, Scheduler

    from portal.celery import app

    bot_user(9000)
    fake_bot_api.add_chat(9000)
    schedule = app.conf.beat_schedule["window-reminders"]
    entry = ScheduleEntry(name="window-reminders", task=schedule["task"], schedule=schedule["schedule"], app=app)
    with time_machine.travel(kyiv(2026, 12, 3, 10, 0), tick=True):
        started = Scheduler(app, lazy=True).apply_async(entry).get()
        # Queued by the fill on commit; here the test's transaction never commits.
        sending.deliveries_send(channel="telegram")
    assert Broadcast.objects.get(pk=started[0]).kind == LAST
    assert [call.params["chat_id"] for call in fake_bot_api.sent_messages()] == [9000]


def test_with_the_bot_off_nothing_is_sent_and_nothing_is_lost(settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    bot_user(9100)
    announcement = services.broadcast_announce(text="Оголошення", created_by=None)
    services.broadcast_fill(broadcast_id=announcement.pk)
    assert sending.deliveries_send(channel="telegram").skipped == "the bot is off: TELEGRAM_BOT_TOKEN is not set"
    assert announcement.deliveries.get().status == Delivery.Status.QUEUED


def test_a_reminder_nobody_needs_is_finished_at_once():
    broadcast = services.broadcast_start(kind=LAST, period=dt.date(2026, 12, 1))
    services.broadcast_fill(broadcast_id=broadcast.pk)
    broadcast.refresh_from_db()
    assert broadcast.filled_at is not None and broadcast.finished_at is not None
