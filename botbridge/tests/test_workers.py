"""Webhooks accept, workers converse: what each webhook stores, what a worker does with it, a
chat's events in order with several workers, and a worker killed in the middle of an event."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import AccountLink
from accounts.tests.factories import MeterFactory
from botbridge import services
from botbridge.channels.telegram import dispatcher
from botbridge.models import ConversationState, InboundEvent, ProcessedEvent
from botbridge.tests import fake_graph as graph
from botbridge.tests import fake_viber as viber
from botbridge.tests import updates
from botbridge.tests.chat import SECRET
from botbridge.tests.messenger_chat import PSID
from botbridge.worker import events_drain, events_work

ROOT = Path(__file__).resolve().parents[2]
URL = "/telegram/webhook/"
ASK_NUMBER, ASK_SERIAL, ADDED = "номер особового рахунку", "на самому лічильнику", "123456789 додано"


def post(client, update: dict, fake=None):
    if fake is not None:
        fake.register_update(update)  # the chat exists for Telegram once its user writes
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    return client.post(URL, data=json.dumps(update), content_type="application/json", headers=headers)


@pytest.fixture
def workers_only(settings):
    """Production's way: the webhooks store, the workers converse."""
    settings.BOT_EVENTS_INLINE = False
    return settings


def waiting() -> int:
    return InboundEvent.objects.filter(done_at__isnull=True).count()


# --- Each webhook stores and answers at once; a worker replies ----------------------------------


@pytest.mark.django_db
def test_the_telegram_webhook_stores_the_update_once_and_the_worker_replies_once(
    client, bot_settings, fake_bot_api, workers_only
):
    update = updates.message("/start")
    for _ in range(3):  # Telegram re-delivers what it got no answer to in time
        assert post(client, update, fake_bot_api).status_code == 200
    assert fake_bot_api.calls == [] and waiting() == 1  # nothing sent by the webhook itself
    assert events_work() == (1, 0)
    assert len(fake_bot_api.sent_messages(111)) == 1 and "Вітаю" in fake_bot_api.texts(111)[0]
    assert post(client, update, fake_bot_api).status_code == 200  # delivered again after it was handled
    assert events_work() == (0, 0) and len(fake_bot_api.sent_messages(111)) == 1


@pytest.mark.django_db
def test_inline_the_telegram_webhook_replies_itself(client, bot_settings, fake_bot_api, settings):
    """`make run`: no worker runs, so the webhook works the event it just stored."""
    settings.BOT_EVENTS_INLINE = True
    assert post(client, updates.message("/start"), fake_bot_api).status_code == 200
    assert "Вітаю" in fake_bot_api.texts(111)[0] and waiting() == 0


@pytest.mark.django_db
def test_one_telegram_client_serves_every_update_thread_and_loop(client, bot_settings, fake_bot_api, settings):
    settings.BOT_EVENTS_INLINE = True
    seen = []

    def another_thread() -> None:
        seen.append(dispatcher.bot_shared())

    for text in ("/start", "/help"):
        post(client, updates.message(text), fake_bot_api)
        thread = threading.Thread(target=another_thread)
        thread.start()
        thread.join()
    assert len(fake_bot_api.sent_messages(111)) == 2
    assert len({id(bot) for bot in seen}) == 1 and seen[0] is dispatcher.bot_shared()


@pytest.mark.django_db
def test_the_viber_webhook_stores_messages_and_still_welcomes_in_its_answer(
    client, viber_settings, fake_viber, workers_only
):
    user = "K917PBuvPZmhKfb8Vw3b2Q=="
    opened = fake_viber.deliver(client, viber.conversation_started(user, name="Марія"))
    assert opened.status_code == 200 and "Вітаю" in opened.json()["text"]  # the welcome needs no worker
    callback = viber.message_callback(user, "Допомога", name="Марія")
    assert fake_viber.deliver(client, callback).status_code == 200
    assert fake_viber.deliver(client, callback).status_code == 200
    welcomed = len(fake_viber.messages(user))  # the welcome, in the webhook's answer
    assert waiting() == 1
    assert events_work() == (1, 0)
    assert len(fake_viber.messages(user)) == welcomed + 1 and "Як передати показання" in fake_viber.texts()[-1]


@pytest.mark.django_db
def test_the_messenger_webhook_stores_a_posts_events_and_skips_the_malformed(
    client, messenger_settings, fake_graph, workers_only
):
    other = "31337000000000001"
    data = graph.body([graph.message(PSID, "Допомога"), {"sender": {"id": "x"}, "message": {"text": "?"}}])
    data["entry"].append(graph.body([graph.message(other, "Допомога"), graph.delivery(other)])["entry"][0])
    assert graph.signed_post(client, data, fake=fake_graph).status_code == 200
    assert fake_graph.calls == [] and waiting() == 2
    assert events_work() == (2, 0)
    assert len(fake_graph.sent(PSID)) == 1 and len(fake_graph.sent(other)) == 1


@pytest.mark.django_db
def test_when_messenger_events_cannot_be_stored_the_post_is_503_and_its_redelivery_is_handled(
    client, messenger_settings, fake_graph, workers_only
):
    data = graph.body([graph.message(PSID, "Допомога")])

    def database_down(execute, sql, params, many, context):
        if "botbridge_inboundevent" in sql:
            raise OperationalError("the database system is starting up")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(database_down):
        first = graph.signed_post(client, data, fake=fake_graph)
    assert first.status_code == 503 and first["Retry-After"] == "30" and waiting() == 0
    assert graph.signed_post(client, data, fake=fake_graph).status_code == 200  # Messenger delivers again
    events_work()
    assert len(fake_graph.sent(PSID)) == 1


# --- The worker: a chat's events one at a time, in order; failures tried again -------------------


@pytest.mark.django_db
def test_a_chats_later_event_waits_while_an_earlier_one_is_leased(client, bot_settings, fake_bot_api, workers_only):
    for user_id, text in [(111, "/start"), (111, "/help"), (222, "/start")]:
        post(client, updates.message(text, user_id=user_id), fake_bot_api)
    first = services.event_lease(seconds=60)
    second = services.event_lease(seconds=60)  # another worker: not 111's /help, which must wait
    assert (first.chat_key, second.chat_key) == ("111", "222") and services.event_lease(seconds=60) is None
    services.event_done(event_id=first.id)
    assert services.event_lease(seconds=60).chat_key == "111"


@pytest.mark.django_db
def test_one_lease_takes_several_chats_first_events_never_two_of_one_chat(
    client, bot_settings, fake_bot_api, workers_only
):
    for user_id, text in [(111, "/start"), (111, "/help"), (222, "/start"), (333, "/start")]:
        post(client, updates.message(text, user_id=user_id), fake_bot_api)
    leased = services.events_lease(seconds=60, limit=10)
    assert [event.chat_key for event in leased] == ["111", "222", "333"]  # oldest first
    assert services.events_lease(seconds=60, limit=10) == []  # 111's /help waits for its /start
    services.event_done(event_id=leased[0].id)
    assert [event.chat_key for event in services.events_lease(seconds=60, limit=10)] == ["111"]


@pytest.mark.django_db
def test_a_worker_told_to_stop_releases_the_events_it_leased_and_did_not_start(
    client, bot_settings, fake_bot_api, workers_only
):
    for user_id in (111, 222, 333):
        post(client, updates.message("/start", user_id=user_id), fake_bot_api)
    told = []

    def stop_after_the_first() -> bool:
        told.append(1)
        return len(told) > 1  # asked before the lease, then before the second event

    assert async_to_sync(events_drain)(stop=stop_after_the_first) == (1, 0)
    assert fake_bot_api.texts(111) and not fake_bot_api.texts(222) and waiting() == 2
    # Waiting again at once, not after the dead lease's 90 s, and this lease not counted as a try.
    assert [(e.chat_key, e.attempts) for e in services.events_lease(seconds=60, limit=10)] == [("222", 1), ("333", 1)]


@pytest.mark.django_db
def test_an_event_the_database_refused_is_tried_again_and_the_chats_next_one_waits_for_it(
    client, bot_settings, fake_bot_api, workers_only
):
    MeterFactory(account__number="123456789", serial="AB123")
    for text in ("Додати особовий рахунок", "123456789"):
        post(client, updates.message(text), fake_bot_api)
        events_work()
    refused = []

    def restarting_once(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "accounts_accountlink"') and not refused:
            refused.append(sql)
            raise OperationalError("the database system is starting up")
        return execute(sql, params, many, context)

    post(client, updates.message("AB123"), fake_bot_api)
    post(client, updates.message("Мої особові рахунки"), fake_bot_api)
    with connection.execute_wrapper(restarting_once):
        assert events_work() == (0, 1)  # the serial failed; the next message waits behind it
    assert refused and not AccountLink.objects.exists() and waiting() == 2
    with time_machine.travel(time.time() + 5):  # past the retry's back-off
        assert events_work() == (2, 0)
    said = fake_bot_api.texts(111)
    assert ADDED in said[-2] and "Оберіть особовий рахунок" in said[-1]  # in order, after the link


@pytest.mark.django_db
def test_the_conversation_state_is_read_once_and_written_once_per_event(
    client, bot_settings, fake_bot_api, workers_only
):
    post(client, updates.message("Додати особовий рахунок"), fake_bot_api)
    events_work()
    post(client, updates.message("123456789"), fake_bot_api)
    with CaptureQueriesContext(connection) as queries:
        events_work()
    on_state = [query["sql"].split()[0] for query in queries if "botbridge_conversationstate" in query["sql"]]
    assert on_state == ["SELECT", "INSERT"]  # the INSERT … ON CONFLICT DO UPDATE of the new step
    assert ConversationState.objects.get().data == {"number": "123456789"}


@pytest.mark.django_db
def test_an_event_is_one_transaction_with_no_savepoint_inside(client, bot_settings, fake_bot_api, workers_only):
    """The claim, the resident and the conversation commit together, and nothing inside takes a
    savepoint of its own: each would be two round trips more on every event a worker handles."""
    post(client, updates.message("/start"), fake_bot_api)
    events_work()
    post(client, updates.message("/help"), fake_bot_api)
    with CaptureQueriesContext(connection) as queries:
        assert events_work() == (1, 0)
    savepoints = [query["sql"] for query in queries if query["sql"].startswith("SAVEPOINT")]
    # The test runs inside a transaction of its own, so the event's transaction is a savepoint here.
    assert len(savepoints) == 1
    assert ProcessedEvent.objects.count() == 2 and len(fake_bot_api.sent_messages(111)) == 2


# --- Worker processes: manage.py converse --------------------------------------------------------


class Converse:
    """`manage.py converse` in a process group of its own, on the test database."""

    def __init__(self, env: dict[str, str], processes: int = 1) -> None:
        command = [sys.executable, "manage.py", "converse", "--processes", str(processes)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL)

    def kill(self) -> None:
        """SIGKILL, as the out-of-memory killer would: nothing gets to clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


@pytest.fixture
def start_converse(on_postgres, fake_bot_api, bot_settings, workers_only) -> Iterator[Callable[..., Converse]]:
    db = on_postgres.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    address = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_", "BOT_"))},
        "DATABASE_URL": f"postgresql://{db['USER']}{password}@{address}/{db['NAME']}",
        "DJANGO_DEBUG": "1",
        "TELEGRAM_BOT_TOKEN": fake_bot_api.token,
        "TELEGRAM_API_BASE": fake_bot_api.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "BOT_EVENTS_INLINE": "0",
        "BOT_EVENT_LEASE_SECONDS": "2",
    }
    started: list[Converse] = []

    def start(processes: int = 1) -> Converse:
        started.append(Converse(env, processes))
        return started[-1]

    yield start
    for worker in started:
        worker.kill()


def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_two_workers_keep_each_chats_events_in_order(client, fake_bot_api, start_converse):
    """Ten residents each link an account in a burst of three messages, all posted before the
    workers look: every chat's answers come in the order of its messages, each once."""
    chats = range(1001, 1011)
    for user_id in chats:
        MeterFactory(account__number=f"1234{user_id}", serial=f"AB{user_id}")
    for step in ("Додати особовий рахунок", "1234{}", "AB{}"):
        for user_id in chats:
            post(client, updates.message(step.format(user_id), user_id=user_id), fake_bot_api)
    assert waiting() == 30
    workers = start_converse(processes=2)
    until(lambda: waiting() == 0)
    for user_id in chats:
        said = fake_bot_api.texts(user_id)
        assert len(said) == 3, said
        assert ASK_NUMBER in said[0] and ASK_SERIAL in said[1] and f"1234{user_id} додано" in said[2]
    assert AccountLink.objects.count() == 10 and ProcessedEvent.objects.count() == 30
    assert workers.stop() == 0  # SIGTERM: each worker finishes its event and exits


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_event_leaves_it_to_the_next_which_handles_it_once(client, fake_bot_api, start_converse):
    """The worker is stuck inside the event's transaction (the database holds the resident's
    row) and killed: nothing of it was committed, so the next worker, once the lease has run out,
    handles it, and the resident gets the answer once."""
    MeterFactory(account__number="123456789", serial="AB123")
    post(client, updates.message("Додати особовий рахунок"), fake_bot_api)
    events_work()
    held, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            ConversationState.objects.select_for_update().get(user_key="111")
            held.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    held.wait(10)
    post(client, updates.message("123456789"), fake_bot_api)
    first = start_converse()
    until(lambda: InboundEvent.objects.filter(done_at__isnull=True, attempts=1).exists())
    until(lambda: _waiting_on_a_lock())
    first.kill()
    release.set()
    holder.join()
    assert waiting() == 1 and not ProcessedEvent.objects.filter(key__endswith=":" + str(_last_update_id())).exists()
    start_converse()
    until(lambda: waiting() == 0)
    said = fake_bot_api.texts(111)
    assert sum(ASK_SERIAL in text for text in said) == 1
    assert ConversationState.objects.get().data == {"number": "123456789"}
    assert InboundEvent.objects.get(key__endswith=f":{_last_update_id()}").attempts == 2


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def _last_update_id() -> int:
    return max(int(key.split(":")[1]) for key in InboundEvent.objects.values_list("key", flat=True))
