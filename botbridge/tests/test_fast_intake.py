"""The fast intake (portal/intake.py) answers every webhook POST as the Django view does, and what it
stores a worker converses as before.

Each request goes once to the view (Django's test client: the full middleware stack) and once to
the portal's real ASGI application (portal.asgi, through httpx's ASGI transport), where the fast
intake takes it; the two answers must be equal. Committed data (transaction=True): the fast intake
stores from threads of its own, and the worker must see what they stored.
"""

import asyncio
import io
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from django.db import connection

from botbridge.models import InboundEvent
from botbridge.tests import fake_graph as graph
from botbridge.tests import fake_viber as viber
from botbridge.tests import updates
from botbridge.tests.chat import SECRET
from botbridge.tests.messenger_chat import PSID
from botbridge.worker import events_work

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 64 * 1024  # the webhooks' body limit in these tests (DATA_UPLOAD_MAX_MEMORY_SIZE)
TELEGRAM, VIBER, MESSENGER = "/telegram/webhook/", "/viber/webhook/", "/messenger/webhook/"
VIBER_USER = "K917PBuvPZmhKfb8Vw3b2Q=="


@pytest.fixture
def intake(settings) -> Iterator["Intake"]:
    settings.BOT_EVENTS_INLINE = False  # production's way: workers converse
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    from portal.asgi import application
    from portal.intake import WebhookIntake

    fast = application.app
    assert isinstance(fast, WebhookIntake)  # the fast intake is in front of Django in the portal's app
    yield Intake(application)
    fast.connections_close()  # the test database is dropped at the end: no connection may hold it


class Intake:
    """POSTs to the real ASGI application, answered as a platform sees them."""

    def __init__(self, application) -> None:
        self.application = application

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                response = await client.post(path, content=body, headers=headers)
                await response.aread()
                return response

        return asyncio.run(send())


def answer(response) -> tuple:
    """What a platform acts on: the status, the body's type, the body, Retry-After."""
    headers = response.headers
    content = response.content
    if headers["Content-Type"].startswith("text/html"):
        # The page's CSP nonce and its form's CSRF token differ from one request to the next.
        content = re.sub(rb'(nonce|value)="[^"]*"', b"", content)
    return response.status_code, headers["Content-Type"], content, headers.get("Retry-After")


def view_answer(client, path: str, body: bytes, headers: dict[str, str]) -> tuple:
    client.raise_request_exception = False
    return answer(client.post(path, data=body, content_type="application/json", headers=headers))


class RefusedWrites:
    """The database refusing every write of an event, as while it restarts: SQLSTATE 57P03 on
    PostgreSQL ("the database system is starting up"), an abort on SQLite."""

    def __enter__(self) -> "RefusedWrites":
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "CREATE FUNCTION intake_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$BEGIN RAISE EXCEPTION 'the database system is starting up' USING ERRCODE = '57P03'; END$$"
                )
                cursor.execute(
                    "CREATE TRIGGER intake_refuse BEFORE INSERT ON botbridge_inboundevent "
                    "FOR EACH STATEMENT EXECUTE FUNCTION intake_refuse()"
                )
            else:
                cursor.execute(
                    "CREATE TRIGGER intake_refuse BEFORE INSERT ON botbridge_inboundevent "
                    "BEGIN SELECT RAISE(ABORT, 'the database system is starting up'); END"
                )
        return self

    def __exit__(self, *exc_info: object) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TRIGGER intake_refuse ON botbridge_inboundevent")
                cursor.execute("DROP FUNCTION intake_refuse()")
            else:
                cursor.execute("DROP TRIGGER intake_refuse")


def same_answers(client, intake: Intake, path: str, cases: dict[str, tuple[bytes, dict[str, str]]]) -> dict:
    """Each case posted to the view, then to the fast intake: the answers, which must be equal."""
    answers = {}
    for name, (body, headers) in cases.items():
        by_view = view_answer(client, path, body, headers)
        by_intake = answer(intake.post(path, body, headers))
        assert by_intake == by_view, name
        answers[name] = by_view
    return answers


def refused_and_redelivered(client, intake: Intake, path: str, body: bytes, headers: dict[str, str]) -> tuple:
    """The database refuses the event (both ways answer alike, nothing stored); then, back, the
    platform delivers it again through the fast intake."""
    with RefusedWrites():
        down = same_answers(client, intake, path, {"database down": (body, headers)})["database down"]
    assert InboundEvent.objects.count() == 0
    return down, answer(intake.post(path, body, headers))


def test_telegram_answers_alike_and_the_stored_update_is_conversed(client, intake, bot_settings, fake_bot_api):
    def update(text: str, update_id: int) -> bytes:
        data = updates.message(text, update_id=update_id)
        fake_bot_api.register_update(data)
        return json.dumps(data).encode()

    right = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    wrong = {**right, "X-Telegram-Bot-Api-Secret-Token": "not-the-secret-0000"}
    down, again = refused_and_redelivered(client, intake, TELEGRAM, update("/start", 1), right)
    assert down == (
        503,
        "application/json",
        b'{"detail": "The update could not be stored now; deliver it again."}',
        "30",
    )
    assert again == (200, "application/json", b'{"ok": true}', None)
    answers = same_answers(
        client,
        intake,
        TELEGRAM,
        {
            "good": (update("/start", 1), right),
            "redelivered": (update("/start", 1), right),
            "wrong secret": (update("/help", 2), wrong),
            "no secret": (update("/help", 2), {"Content-Type": "application/json"}),
            "malformed": (b'{"update_id": "one"}', right),
            "not JSON": (b"{", right),
            "oversized": (b'{"update_id": 3, "pad": "' + b"x" * LIMIT + b'"}', right),
        },
    )
    assert [status for status, *_ in answers.values()] == [200, 200, 403, 403, 400, 400, 413]
    assert InboundEvent.objects.count() == 1  # /start once, however often it came
    assert events_work() == (1, 0)
    assert len(fake_bot_api.sent_messages(111)) == 1 and "Вітаю" in fake_bot_api.texts(111)[0]


def test_telegram_answers_404_alike_while_the_bot_is_off(client, intake, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    body = json.dumps(updates.message("/start")).encode()
    answers = same_answers(client, intake, TELEGRAM, {"off": (body, {"X-Telegram-Bot-Api-Secret-Token": SECRET})})
    assert answers["off"][0] == 404 and InboundEvent.objects.count() == 0


def test_viber_answers_alike_and_the_stored_message_is_conversed(client, intake, viber_settings, fake_viber):
    def signed(callback: dict) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(callback, ensure_ascii=False).encode()
        return body, {"X-Viber-Content-Signature": viber.sign(body, fake_viber.token)}

    fake_viber.add_user(VIBER_USER)
    message = viber.message_callback(VIBER_USER, "Допомога", name="Марія")
    down, again = refused_and_redelivered(client, intake, VIBER, *signed(message))
    assert down == (
        503,
        "application/json",
        b'{"detail": "The callback could not be stored now; deliver it again."}',
        "30",
    )
    assert again == (200, "text/html; charset=utf-8", b"", None)
    body, headers = signed(message)
    answers = same_answers(
        client,
        intake,
        VIBER,
        {
            "good": (body, headers),
            "redelivered": (body, headers),
            "wrong signature": (body, {"X-Viber-Content-Signature": "0" * 64}),
            "no signature": (body, {}),
            "malformed": signed({"event": "message", "message_token": 1}),
            "oversized": signed({**message, "pad": "x" * LIMIT}),
        },
    )
    assert [status for status, *_ in answers.values()] == [200, 200, 403, 403, 400, 413]
    assert InboundEvent.objects.count() == 1
    assert events_work() == (1, 0)
    assert "Як передати показання" in fake_viber.texts(VIBER_USER)[-1]


def test_viber_welcomes_through_the_view_behind_the_fast_intake(client, intake, viber_settings, fake_viber):
    """A chat's start is answered in the webhook's body by the view: the fast intake hands it on."""
    body = json.dumps(viber.conversation_started(VIBER_USER, name="Марія"), ensure_ascii=False).encode()
    opened = intake.post(VIBER, body, {"X-Viber-Content-Signature": viber.sign(body, fake_viber.token)})
    assert opened.status_code == 200 and "Вітаю" in opened.json()["text"]


def test_messenger_answers_alike_stores_all_or_none_and_the_events_are_conversed(
    client, intake, messenger_settings, fake_graph
):
    other = "31337000000000001"

    def signed(data: dict) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(data, ensure_ascii=False).encode()
        return body, {"X-Hub-Signature-256": graph.signature(body)}

    for psid in (PSID, other):
        fake_graph.wrote(psid)
    two = graph.body([graph.message(PSID, "Допомога")], [graph.message(other, "Допомога")])
    down, again = refused_and_redelivered(client, intake, MESSENGER, *signed(two))
    assert down == (
        503,
        "application/json",
        b'{"detail": "The events could not be stored now; deliver them again."}',
        "30",
    )
    assert again == (200, "application/json", b'{"ok": true}', None)
    body, headers = signed(two)
    answers = same_answers(
        client,
        intake,
        MESSENGER,
        {
            "good": (body, headers),
            "redelivered": (body, headers),
            "wrong signature": (body, {"X-Hub-Signature-256": "sha256=" + "0" * 64}),
            "no signature": (body, {}),
            "malformed": signed({"object": "user", "entry": []}),
            "oversized": signed({**two, "pad": "x" * LIMIT}),
        },
    )
    assert [status for status, *_ in answers.values()] == [200, 200, 403, 403, 400, 413]
    assert InboundEvent.objects.count() == 2  # both events of the POST, once each
    assert events_work() == (2, 0)
    assert len(fake_graph.sent(PSID)) == 1 and len(fake_graph.sent(other)) == 1


def wsgi_answer(path: str, body: bytes, headers: dict[str, str]) -> tuple:
    """A POST to the portal's WSGI application (gunicorn's), where WebhookIntakeWSGI takes it."""
    from portal.intake import WebhookIntakeWSGI
    from portal.wsgi import application

    assert isinstance(application, WebhookIntakeWSGI)  # the fast intake is in front of Django here too
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }
    got: dict = {}

    def start_response(status: str, response_headers: list, exc_info=None) -> None:
        got.update(status=int(status.split()[0]), headers=dict(response_headers))

    chunks = application(environ, start_response)
    content = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    response = httpx.Response(got["status"], headers=got["headers"], content=content)
    return answer(response)


def test_telegram_answers_alike_under_wsgi(client, intake, bot_settings, fake_bot_api):
    right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    good = json.dumps(updates.message("/start", update_id=7)).encode()
    cases = {
        "good": good,
        "malformed": b'{"update_id": "one"}',
        "oversized": b'{"update_id": 3, "pad": "' + b"x" * LIMIT + b'"}',
    }
    for name, body in cases.items():
        assert wsgi_answer(TELEGRAM, body, right) == view_answer(client, TELEGRAM, body, right), name
    assert wsgi_answer(TELEGRAM, good, {})[0] == view_answer(client, TELEGRAM, good, {})[0] == 403
    with RefusedWrites():
        other = json.dumps(updates.message("/help", update_id=8)).encode()
        assert wsgi_answer(TELEGRAM, other, right) == view_answer(client, TELEGRAM, other, right)
    assert list(InboundEvent.objects.values_list("key", flat=True)) == [f"{fake_bot_api.token.split(':')[0]}:7"]
