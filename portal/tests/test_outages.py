"""Readings keep flowing when Redis or PostgreSQL hiccup: against real servers, over HTTP.

Redis: a throwaway redis-server of the test's own, stopped and started again (never the
shared one). PostgreSQL: the shared server behind a TCP proxy the test cuts, which is what a
restart looks like to the portal (every connection dies, new ones are refused for a while).
"""

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import time_machine

from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink
from accounts.tests.factories import MeterFactory, UserFactory
from accounts.tokens import api_token_issue
from botbridge.models import Delivery
from botbridge.tests.chat import SECRET
from botbridge.tests.updates import message
from conftest import kyiv
from portal.tests.servers import ROOT, PortalServer, free_port
from readings.models import Reading
from readings.services import reading_submit

PASSWORD = "correct horse battery"


class SpareRedis:
    """A redis-server of the test's own on a free port; stop() and start() it at will."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([self.binary, *args], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the spare redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def spare_redis():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server on the PATH (Debian's redis-server package; CI has it)")
    redis = SpareRedis(binary)
    yield redis
    redis.stop()


def signed_in(server: PortalServer, path: str, username: str) -> requests.Session:
    """A browser-like session signed in through the form at `path` (the cabinet's or the admin's)."""
    session = requests.Session()
    session.get(server.base_url + path, timeout=10)
    answer = session.post(
        server.base_url + path,
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def post_form(session: requests.Session, url: str, data: dict) -> requests.Response:
    return session.post(
        url, data={**data, "csrfmiddlewaretoken": session.cookies["csrftoken"]}, allow_redirects=False, timeout=10
    )


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_readings_are_accepted_and_a_notice_waits_for_the_broker(server_env, spare_redis, fake_bot_api):
    meter = MeterFactory(account__number="123456789", serial="AB123", initial_values=[1000])
    resident = UserFactory(username="resident@example.com", email="resident@example.com")
    resident.set_password(PASSWORD)
    resident.save()
    AccountLink.objects.create(user=resident, account=meter.account)
    _token, key = api_token_issue(user=resident)
    chief = UserFactory(username="chief", is_staff=True, is_superuser=True)
    chief.set_password(PASSWORD)
    chief.save()
    # A reading from the bot that staff will decide on while Redis is down.
    held_meter = MeterFactory(initial_values=[1000])
    bot_user = channel_identity_resolve(channel="telegram", external_id="555", display_name="Марія", language_code="uk")
    AccountLink.objects.create(user=bot_user, account=held_meter.account)
    with time_machine.travel(kyiv(2026, 12, 1, 10), tick=False):
        held = reading_submit(
            meter=held_meter,
            text="9000",
            channel="telegram",
            channel_user_key="555",
            submitted_by=bot_user,
            confirm=True,
        )
    assert held.status == Reading.Status.NEEDS_REVIEW
    fake_bot_api.add_chat(555)
    fake_bot_api.add_chat(777)
    env = {
        **server_env,
        "REDIS_URL": spare_redis.url,
        "TELEGRAM_BOT_TOKEN": fake_bot_api.token,
        "TELEGRAM_API_BASE": fake_bot_api.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    with PortalServer(env) as server:
        cabinet = signed_in(server, "/signin/", "resident@example.com")
        admin = signed_in(server, "/admin/login/", "chief")
        spare_redis.stop()

        # The API: the throttle's cache is gone; every reading is still taken.
        api = requests.Session()
        api.headers["Authorization"] = f"Token {key}"
        started = time.monotonic()
        answers = [
            api.post(
                f"{server.base_url}/api/v1/accounts/123456789/readings/", json={"value": str(1100 + i)}, timeout=10
            )
            for i in range(20)
        ]
        api_seconds = (time.monotonic() - started) / len(answers)
        assert [answer.status_code for answer in answers] == [201] * 20, answers[-1].text
        assert api_seconds < 1.5, f"{api_seconds:.2f} s a reading with Redis down"

        # The cabinet.
        answer = post_form(cabinet, f"{server.base_url}/accounts/123456789/", {"meter": meter.pk, "t1": "1200"})
        assert answer.status_code == 302, answer.text[:500]

        # The bot's webhook answers and the bot replies.
        update = message("/start", user_id=777, update_id=10_001)
        answer = requests.post(
            f"{server.base_url}/telegram/webhook/",
            data=json.dumps(update),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
            timeout=10,
        )
        assert answer.status_code == 200
        assert fake_bot_api.sent_messages(777)

        # Staff approve: no 500, and the resident's message waits in the database.
        answer = post_form(
            admin,
            f"{server.base_url}/admin/readings/readingforreview/",
            {"action": "approve_selected", "_selected_action": [held.pk]},
        )
        assert answer.status_code == 302, answer.text[:500]
        assert server.process.poll() is None

    assert Reading.objects.filter(meter=meter).count() == 21
    assert Reading.objects.get(pk=held.pk).status == Reading.Status.ACCEPTED
    assert Delivery.objects.get(recipient_key="555").status == Delivery.Status.QUEUED
    assert fake_bot_api.sent_messages(555) == []

    # The broker is back: the outbox tick hands the message over and a worker sends it.
    spare_redis.start()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo", "--loglevel", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        call = [sys.executable, "-m", "celery", "-A", "portal", "call", "botbridge.tasks.outbox_tick"]
        subprocess.run(call, cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 60
        while not fake_bot_api.sent_messages(555) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    (notice,) = fake_bot_api.sent_messages(555)
    assert "9000" in notice.params["text"]
    assert Delivery.objects.get(recipient_key="555").status == Delivery.Status.SENT


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL. cut() is a restart as the portal sees it: every
    connection dies at once and new ones are refused until restore()."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self) -> None:
        assert self.listener is not None
        # shutdown first: a bare close() leaves the accept() blocked in the other thread listening.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.mark.django_db(transaction=True)
def test_a_postgresql_restart_costs_no_request_after_it_and_the_outage_answers_503_fast(server_env, on_postgres):
    db = on_postgres.settings_dict
    proxy = CuttableProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    meter = MeterFactory(account__number="123456789")
    resident = UserFactory()
    AccountLink.objects.create(user=resident, account=meter.account)
    _token, key = api_token_issue(user=resident)
    env = {
        **server_env,
        "DATABASE_URL": f"postgresql://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        # Production's answers (DEBUG would show a traceback page instead of the 503).
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "k7#Vq2!pR9zL0x$Wm4&Tn8^Bc6*Hd1(Jf5)Gs3@Ya0%Ue7+Io2=Ka9~Lb4-Mc8",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_POOL_SIZE": "8",
    }
    api = requests.Session()
    api.headers["Authorization"] = f"Token {key}"

    def accounts(_=None) -> requests.Response:
        return api.get(f"{server.base_url}/api/v1/accounts/", timeout=30)

    with PortalServer(env) as server, ThreadPoolExecutor(8) as pool:
        # Eight at a time, so the pool holds several connections that the restart will leave stale.
        assert {answer.status_code for answer in pool.map(accounts, range(24))} == {200}

        proxy.cut()
        outage = []
        # A page that must read the database: a signed-in resident's dashboard (its session).
        for path in ("/api/v1/accounts/", "/api/v1/accounts/", "/"):
            started = time.monotonic()
            answer = api.get(server.base_url + path, cookies={"sessionid": "a" * 32}, allow_redirects=False, timeout=30)
            outage.append((path, answer, time.monotonic() - started))
        for path, answer, seconds in outage:
            assert answer.status_code == 503, (path, answer.status_code, answer.text[:300])
            assert answer.headers["Retry-After"].isdigit()
            assert seconds < 5, f"{path} took {seconds:.1f} s to answer during the outage"
        assert outage[0][1].json()["code"] == "service_unavailable"
        assert "тимчасово недоступний" in outage[2][1].text

        proxy.restore()
        after = list(pool.map(accounts, range(24)))
    lost = [answer.status_code for answer in after if answer.status_code != 200]
    assert lost == [], f"{len(lost)} of the first 24 requests after the restart failed: {lost}"
    proxy.cut()
