"""GET and POST /messenger/webhook/: the subscription check, signatures, batches of events,
re-deliveries, what is ignored, and bodies that are not Messenger's."""

import json
import logging

import pytest
import time_machine
from django.db import OperationalError, connection

from accounts.models import AccountLink, ChannelIdentity
from accounts.tests.factories import MeterFactory
from botbridge.models import ProcessedEvent
from botbridge.tests import fake_graph as graph
from botbridge.tests.messenger_chat import PSID, MessengerChat, texts, titles

URL = "/messenger/webhook/"
OTHER = "31337000000000001"


@pytest.fixture
def resident(db, client, messenger_settings, fake_graph) -> MessengerChat:
    return MessengerChat(client, fake_graph)


# --- The subscription check -------------------------------------------------------------------


def check(client, **params):
    query = {"hub.mode": "subscribe", "hub.verify_token": graph.VERIFY_TOKEN, "hub.challenge": "1158201444"}
    return client.get(URL, {**query, **params})


def test_the_subscription_check_echoes_the_challenge_to_the_right_verify_token(client, messenger_settings):
    response = check(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain") and response.content == b"1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.verify_token": "wrong"},
        {"hub.verify_token": ""},
        {"hub.mode": "unsubscribe"},
        {"hub.mode": ""},
        {"hub.verify_token": graph.VERIFY_TOKEN + "x"},
    ],
)
def test_the_subscription_check_refuses_anything_else(client, messenger_settings, params):
    response = check(client, **params)
    assert response.status_code == 403 and b"1158201444" not in response.content


def test_no_verify_token_set_refuses_every_check(client, messenger_settings):
    messenger_settings.MESSENGER_VERIFY_TOKEN = ""
    assert check(client, **{"hub.verify_token": ""}).status_code == 403


# --- Off, and signatures ----------------------------------------------------------------------


def test_the_bot_is_off_without_a_page_token(db, client, settings):
    settings.MESSENGER_PAGE_ACCESS_TOKEN = ""
    response = graph.signed_post(client, graph.body([graph.message(PSID, "Допомога")]))
    assert response.status_code == 404 and "not configured" in response.json()["detail"]
    assert not ProcessedEvent.objects.exists()


@pytest.mark.parametrize(
    "sign",
    [
        "",  # no header
        "sha256=",
        "sha256=" + "0" * 64,
        "sha1=0123456789abcdef0123456789abcdef01234567",
        "SHA256=",
        "signed-with-another-secret",
        "sha256=" + "я" * 64,
    ],
)
def test_a_wrong_or_missing_signature_is_refused_and_nothing_happens(resident, client, fake_graph, sign, caplog):
    data = graph.body([graph.message(PSID, "Допомога"), graph.postback(PSID, "start")])
    if sign == "signed-with-another-secret":
        sign = graph.signature(json.dumps(data, ensure_ascii=False).encode(), secret="another-secret")
    with caplog.at_level(logging.WARNING):
        response = graph.signed_post(client, data, fake=fake_graph, sign=sign)
    assert response.status_code == 403
    assert not ProcessedEvent.objects.exists() and not ChannelIdentity.objects.exists()
    assert fake_graph.calls == []
    assert "X-Hub-Signature-256" in caplog.text


def test_a_signature_of_another_body_is_refused(resident, client, fake_graph):
    raw = json.dumps(graph.body([graph.message(PSID, "Допомога")])).encode()
    forged = json.dumps(graph.body([graph.message(PSID, "Допомога!")])).encode()
    response = client.post(
        URL, data=forged, content_type="application/json", headers={"X-Hub-Signature-256": graph.signature(raw)}
    )
    assert response.status_code == 403 and fake_graph.calls == []


# --- Batches, re-deliveries, what is ignored ------------------------------------------------------


def test_every_event_of_every_entry_is_handled_in_order(resident, fake_graph):
    MeterFactory(account__number="123456789", serial="AB123")
    # One POST: two entries of several events, from two residents, with a read among them.
    data = graph.body(
        [
            graph.postback(PSID, "start"),
            graph.message(PSID, "Додати особовий рахунок"),
            graph.message(OTHER, "Допомога"),
        ],
        [graph.message(PSID, "123456789"), graph.read(PSID), graph.message(PSID, "AB123")],
    )
    assert graph.signed_post(resident.client, data, fake=fake_graph).status_code == 200
    said = [texts([call]) for call in fake_graph.sent(PSID)]
    assert len(said) == 4
    assert "Вітаю" in said[0] and "номер особового рахунку" in said[1]
    assert "на самому лічильнику" in said[2] and "123456789 додано" in said[3]
    assert "Як передати показання" in texts(fake_graph.sent(OTHER))
    assert AccountLink.objects.filter(user__channel_identities__external_id=PSID).count() == 1


def test_a_redelivered_message_changes_nothing(resident, fake_graph):
    MeterFactory(account__number="123456789", serial="AB123")
    resident.say("Додати особовий рахунок")
    event = graph.message(PSID, "123456789")
    assert "на самому лічильнику" in texts(resident.send(event))
    assert resident.send(event) == []  # the same mid again: no answer, the step stays
    assert "123456789 додано" in texts(resident.say("AB123"))
    assert ProcessedEvent.objects.filter(channel="messenger").count() == 3


def test_an_event_the_database_could_not_take_is_delivered_again_and_the_rest_are_not_redone(resident, fake_graph):
    """The database refuses the first account link (a restart, say): that event is undone and the
    POST answered 503, so Messenger delivers it again; the event beside it is answered once."""
    MeterFactory(account__number="123456789", serial="AB123")
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    refused = []

    def restarting_once(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "accounts_accountlink"') and not refused:
            refused.append(sql)
            raise OperationalError("the database system is starting up")
        return execute(sql, params, many, context)

    data = graph.body([graph.message(PSID, "AB123")], [graph.message(OTHER, "Допомога")])
    with connection.execute_wrapper(restarting_once):
        first = graph.signed_post(resident.client, data, fake=fake_graph)
    assert first.status_code == 503 and refused
    assert not AccountLink.objects.exists() and "Як передати показання" in texts(fake_graph.sent(OTHER))
    again = graph.signed_post(resident.client, data, fake=fake_graph)  # Messenger re-delivers the POST
    assert again.status_code == 200
    assert AccountLink.objects.get().account.number == "123456789"
    assert "123456789 додано" in texts(fake_graph.sent(PSID)[-1:])
    assert len(fake_graph.sent(OTHER)) == 1  # the other resident's event was not answered twice


def test_a_redelivered_postback_without_a_mid_is_known_by_sender_and_time(resident, fake_graph):
    event = graph.postback(PSID, "help", with_mid=False)
    assert "Як передати показання" in texts(resident.send(event))
    assert resident.send(event) == []
    [key] = ProcessedEvent.objects.values_list("key", flat=True)
    assert key == f"{PSID}:{event['timestamp']}:postback"
    later = graph.postback(PSID, "help", with_mid=False)  # another tap: another time
    assert "Як передати показання" in texts(resident.send(later))


def test_echoes_deliveries_reads_and_reactions_are_not_answered(resident, fake_graph):
    assert resident.send(graph.echo(PSID, "Вітаю!"), graph.delivery(PSID), graph.read(PSID), graph.reaction(PSID)) == []
    assert fake_graph.calls == [] and not ProcessedEvent.objects.exists()


@pytest.mark.parametrize("kind", ["image", "sticker", "audio", "video", "file", "location", "fallback"])
def test_attachments_get_the_polite_answer(resident, kind):
    [reply] = resident.send(graph.attachment(PSID, kind))
    assert "лише текст" in texts([reply])


def test_an_edit_is_answered_as_in_telegram_once_per_edit(resident):
    first = graph.message(PSID, "1250")
    resident.send(first)
    edited = graph.edit(PSID, "1260", of=first["message"]["mid"])
    assert "Відредаговані повідомлення я не читаю" in texts(resident.send(edited))
    assert resident.send(edited) == []  # the same edit delivered again
    assert "Відредаговані повідомлення" in texts(
        resident.send(graph.edit(PSID, "1270", of=first["message"]["mid"], number=2))
    )


def test_a_shared_link_is_read_as_its_text(resident):
    assert "Не зрозумів" in texts(resident.send(graph.shared_link(PSID, "https://example.com/")))


def test_quick_replies_and_buttons_that_are_not_ours_or_no_longer_work_are_answered(resident):
    stale = "Ця кнопка вже не діє"
    for payload in ["C:open:999999999", "C:nonsense:1", "C:meter:abc", "C:yes", "C:", "garbage", "\x00", "C:open:\x00"]:
        assert stale in texts(resident.send(graph.message(PSID, "x", quick_reply=payload))), payload
        assert stale in texts(resident.send(graph.postback(PSID, payload))), payload


def test_a_label_payload_works_as_the_label_typed(resident):
    [ask] = resident.send(graph.message(PSID, "Додати рахунок", quick_reply="L:Додати особовий рахунок"))
    assert "номер особового рахунку" in texts([ask]) and titles(ask) == ["Скасувати"]
    [cancelled] = resident.press("Скасувати")
    assert "Скасовано" in texts([cancelled])


def test_the_signin_link_goes_as_a_message(resident, settings):
    settings.PORTAL_URL = "https://pokaznyk.example.ua"
    [link] = resident.postback("login")
    assert "https://pokaznyk.example.ua/signin/link/" in texts([link])


# --- Bodies that are not Messenger's ------------------------------------------------------------

MALFORMED = [
    b"",
    b"not json",
    b"\xff\xfe",
    b"[]",
    b"null",
    b'"page"',
    b'{"object": "instagram", "entry": []}',
    b'{"object": "page"}',
    b'{"object": "page", "entry": {}}',
    b'{"object": "page", "entry": "x"}',
    b'{"object": "page", "entry": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
]
ODD_EVENTS = [
    1,
    "text",
    None,
    [],
    {},
    {"message": {"text": "Допомога"}},  # no sender
    {"sender": {}, "message": {"text": "Допомога"}},
    {"sender": {"id": 12345}, "message": {"mid": "m_1", "text": "Допомога"}},
    {"sender": {"id": "-1"}, "message": {"mid": "m_2", "text": "Допомога"}},
    {"sender": {"id": "1" * 65}, "message": {"mid": "m_3", "text": "Допомога"}},
    {"sender": {"id": PSID}, "message": {"text": "Допомога"}},  # no mid, no timestamp
    {"sender": {"id": PSID}, "message": {"mid": 5, "text": "Допомога"}},
    {"sender": {"id": PSID}, "message": {"mid": "m\x00", "text": "Допомога"}},
    {"sender": {"id": PSID}, "message": {"mid": "m" * 201, "text": "Допомога"}},
    {"sender": {"id": PSID}, "timestamp": True, "postback": {"payload": "help"}},
    {"sender": {"id": PSID}, "timestamp": "12a", "postback": {"payload": "help"}},
    {"sender": {"id": PSID}, "timestamp": -5, "postback": {"payload": "help"}},
    {"sender": {"id": PSID}, "message": "text"},
    {"sender": {"id": PSID}, "postback": "help"},
]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_body_is_a_clean_400(resident, client, fake_graph, raw):
    response = graph.signed_post(client, raw)
    assert response.status_code == 400 and "detail" in response.json()
    assert fake_graph.calls == []


def test_malformed_events_are_skipped_and_the_others_handled(resident, fake_graph, caplog):
    entry = [*ODD_EVENTS, graph.message(PSID, "Допомога")]
    junk = ["junk", 1e999, {"messaging": "x"}, {}]
    data = {"object": "page", "entry": [{"id": graph.PAGE_ID, "messaging": entry}, *junk]}
    with caplog.at_level(logging.WARNING):
        response = graph.signed_post(resident.client, data, fake=None)
    assert response.status_code == 200
    fake_graph.wrote(PSID)
    # The one good event at the end was answered; no odd one was taken or answered.
    assert [key.startswith("m_AG5") for key in ProcessedEvent.objects.values_list("key", flat=True)] == [True]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_reply_messenger_refuses_is_logged_and_the_post_still_answered(resident, fake_graph, caplog):
    fake_graph.block(PSID)
    with time_machine.travel("2026-11-28 10:00 +02:00"), caplog.at_level(logging.WARNING):
        assert resident.say("Допомога") == []
    assert "551" in caplog.text and "isn't available" in caplog.text
    assert fake_graph.token not in caplog.text
