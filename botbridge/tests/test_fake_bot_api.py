"""The fake Bot API answers a real aiogram client as Telegram would, refusals included."""

import asyncio
import http.client
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)

from botbridge.tests import updates
from botbridge.tests.fake_bot_api import NOT_MODIFIED, FakeBotAPI

T = TypeVar("T")
CHAT = 111


def with_bot(fake: FakeBotAPI, action: Callable[[Bot], Awaitable[T]], *, token: str | None = None) -> T:
    """Run `action` with a real aiogram Bot whose HTTP goes to the fake."""

    async def run() -> T:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        try:
            return await action(Bot(token or fake.token, session=session))
        finally:
            # Not session.close(): it sleeps 250 ms for TLS connections to wind down, which
            # plain HTTP to the fake does not need and which would make these tests slow.
            await (await session.create_session()).close()

    return asyncio.run(run())


def post(fake: FakeBotAPI, method: str, body: bytes, content_type: str) -> tuple[int, dict]:
    """A raw request, for encodings and malformed input aiogram never produces."""
    address = urlsplit(fake.base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
    try:
        connection.request("POST", f"/bot{fake.token}/{method}", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def inline(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(buttons)])


# --- Answers ---------------------------------------------------------------------------------


def test_get_me_returns_the_bot(fake_bot_api: FakeBotAPI) -> None:
    me = with_bot(fake_bot_api, lambda bot: bot.get_me())

    assert (me.id, me.is_bot, me.username) == (123456789, True, "pokaznyk_test_bot")


def test_send_message_records_a_decoded_reply_keyboard(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.add_chat(CHAT)
    keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Подати показ")], [KeyboardButton(text="Допомога")]])

    sent = with_bot(fake_bot_api, lambda bot: bot.send_message(CHAT, "Вітаю!", reply_markup=keyboard))

    assert isinstance(sent, Message)
    assert (sent.chat.id, sent.text, sent.reply_markup) == (CHAT, "Вітаю!", None)
    [call] = fake_bot_api.sent_messages(CHAT)
    assert call.params["chat_id"] == CHAT
    assert fake_bot_api.reply_markup(call)["keyboard"][0][0]["text"] == "Подати показ"
    assert fake_bot_api.button_texts(call) == ["Подати показ", "Допомога"]
    assert fake_bot_api.last_text(CHAT) == "Вітаю!"


def test_send_message_echoes_an_inline_keyboard(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.add_chat(CHAT)
    markup = inline(
        InlineKeyboardButton(text="Так", callback_data="confirm:1"),
        InlineKeyboardButton(text="Сайт", url="https://example.com"),
    )

    sent = with_bot(fake_bot_api, lambda bot: bot.send_message(CHAT, "Підтвердити?", reply_markup=markup))

    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == markup.model_dump()
    [call] = fake_bot_api.sent_messages()
    assert fake_bot_api.inline_buttons(call) == [
        {"text": "Так", "callback_data": "confirm:1"},
        {"text": "Сайт", "url": "https://example.com"},
    ]


def test_message_ids_grow_per_chat_after_the_users_messages(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.push_update(updates.message("/start", user_id=CHAT, message_id=41))
    fake_bot_api.add_chat(222)

    async def send_three(bot: Bot) -> list[int]:
        first = await bot.send_message(CHAT, "a")
        second = await bot.send_message(CHAT, "b")
        other = await bot.send_message(222, "c")
        return [first.message_id, second.message_id, other.message_id]

    assert with_bot(fake_bot_api, send_three) == [42, 43, 1]
    assert fake_bot_api.texts() == ["a", "b", "c"]


def test_html_is_parsed_into_entities(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.add_chat(CHAT)

    sent = with_bot(fake_bot_api, lambda bot: bot.send_message(CHAT, "Показ <b>1234</b> &lt;ok&gt;", parse_mode="HTML"))

    assert sent.text == "Показ 1234 <ok>"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [("bold", 6, 4)]


def test_json_and_multipart_bodies_and_string_numbers_are_accepted(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.add_chat(CHAT)
    markup = json.dumps({"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]})
    boundary = "fake-boundary"
    multipart = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (("chat_id", str(CHAT)), ("text", "multipart"), ("reply_markup", markup))
    )

    as_json = post(
        fake_bot_api, "sendMessage", json.dumps({"chat_id": str(CHAT), "text": "json"}).encode(), "application/json"
    )
    as_form = post(
        fake_bot_api,
        "SENDMESSAGE",
        urlencode({"chat_id": CHAT, "text": "form"}).encode(),
        "application/x-www-form-urlencoded",
    )
    as_multipart = post(
        fake_bot_api,
        "sendMessage",
        f"{multipart}--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )

    assert [status for status, _body in (as_json, as_form, as_multipart)] == [200, 200, 200]
    assert fake_bot_api.texts(CHAT) == ["json", "form", "multipart"]
    assert fake_bot_api.inline_buttons(fake_bot_api.sent_messages()[-1]) == [{"text": "OK", "callback_data": "ok"}]


def test_unknown_method_and_wrong_token_are_refused(fake_bot_api: FakeBotAPI) -> None:
    status, body = post(fake_bot_api, "sendTelepathy", b"", "application/json")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})

    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        with_bot(fake_bot_api, lambda bot: bot.get_me(), token="987654321:WRONG-token")
    assert fake_bot_api.calls[-1].status == 401


def test_get_updates_delivers_pushed_updates_and_forgets_confirmed_ones(fake_bot_api: FakeBotAPI) -> None:
    first = updates.message("/start")
    second = updates.callback("meter:1")
    fake_bot_api.push_update(first)
    fake_bot_api.push_update(second)

    async def poll(bot: Bot) -> tuple[list[Update], list[Update], list[Update]]:
        everything = await bot.get_updates()
        after_first = await bot.get_updates(offset=first["update_id"] + 1)
        again = await bot.get_updates()
        return everything, after_first, again

    everything, after_first, again = with_bot(fake_bot_api, poll)

    assert [u.update_id for u in everything] == [first["update_id"], second["update_id"]]
    assert [u.update_id for u in after_first] == [second["update_id"]]
    assert [u.update_id for u in again] == [second["update_id"]]


def test_get_updates_long_polls_until_an_update_is_pushed(fake_bot_api: FakeBotAPI) -> None:
    update = updates.message("пізно")
    threading.Timer(0.1, fake_bot_api.push_update, args=(update,)).start()
    started = time.monotonic()

    received = with_bot(fake_bot_api, lambda bot: bot.get_updates(timeout=30))

    assert [u.update_id for u in received] == [update["update_id"]]
    assert time.monotonic() - started < 0.9


def test_get_updates_is_refused_while_a_webhook_is_set(fake_bot_api: FakeBotAPI) -> None:
    async def set_then_poll(bot: Bot) -> None:
        await bot.set_webhook("https://pokaznyk.example.com/telegram/webhook", secret_token="s3cret-token_1")
        info = await bot.get_webhook_info()
        assert info.url == "https://pokaznyk.example.com/telegram/webhook"
        await bot.get_updates()

    with pytest.raises(TelegramConflictError, match="webhook is active"):
        with_bot(fake_bot_api, set_then_poll)


def test_callback_query_can_be_answered_once_and_its_message_edited(fake_bot_api: FakeBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "Так", "callback_data": "yes"}]]}
    update = updates.callback("yes", message_id=7, message_text="Підтвердити?", reply_markup=markup)
    fake_bot_api.register_update(update)
    query_id = update["callback_query"]["id"]

    async def answer_and_edit(bot: Bot) -> None:
        assert await bot.answer_callback_query(query_id, text="Прийнято")
        await bot.edit_message_text("Підтверджено", chat_id=CHAT, message_id=7)
        await bot.answer_callback_query(query_id)

    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        with_bot(fake_bot_api, answer_and_edit)
    assert fake_bot_api.last_text(CHAT) == "Підтверджено"


def test_a_blocked_bot_is_forbidden_to_write(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.push_update(updates.message("/start"))
    fake_bot_api.push_update(updates.my_chat_member("kicked"))

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        with_bot(fake_bot_api, lambda bot: bot.send_message(CHAT, "Нагадування"))


# --- Refusals --------------------------------------------------------------------------------

REFUSALS: list[tuple[str, Callable[[Bot], Awaitable[object]], str]] = [
    ("unknown chat", lambda bot: bot.send_message(999, "x"), "Bad Request: chat not found"),
    ("blank text", lambda bot: bot.send_message(CHAT, " \n "), "Bad Request: message text is empty"),
    ("4097 characters", lambda bot: bot.send_message(CHAT, "я" * 4097), "Bad Request: message is too long"),
    ("emoji count twice", lambda bot: bot.send_message(CHAT, "😀" * 2049), "Bad Request: message is too long"),
    (
        "unclosed HTML tag",
        lambda bot: bot.send_message(CHAT, "<b>1234", parse_mode="HTML"),
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    ),
    (
        "unescaped MarkdownV2",
        lambda bot: bot.send_message(CHAT, "Показ 1234.5", parse_mode="MarkdownV2"),
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    ),
    (
        "inline button without text",
        lambda bot: bot.send_message(CHAT, "x", reply_markup=inline(InlineKeyboardButton(text="", callback_data="a"))),
        "Bad Request: text buttons are unallowed in the inline keyboard",
    ),
    (
        "callback_data over 64 bytes",
        lambda bot: bot.send_message(
            CHAT, "x", reply_markup=inline(InlineKeyboardButton(text="ok", callback_data="ї" * 33))
        ),
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "inline button that does nothing",
        lambda bot: bot.send_message(CHAT, "x", reply_markup=inline(InlineKeyboardButton(text="ok"))),
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "reply button without text",
        lambda bot: bot.send_message(
            CHAT, "x", reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=" ")]])
        ),
        "Bad Request: keyboard button text is empty",
    ),
    (
        "edit of a message never sent",
        lambda bot: bot.edit_message_text("x", chat_id=CHAT, message_id=999),
        "Bad Request: message to edit not found",
    ),
    (
        "answer to an unknown callback query",
        lambda bot: bot.answer_callback_query("4382950123456789999"),
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    ),
    (
        "command with capitals",
        lambda bot: bot.set_my_commands([BotCommand(command="Start", description="Почати")]),
        "Bad Request: BOT_COMMAND_INVALID",
    ),
    (
        "command without description",
        lambda bot: bot.set_my_commands([BotCommand(command="start", description="")]),
        "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
    ),
    (
        "plain HTTP webhook",
        lambda bot: bot.set_webhook("http://pokaznyk.example.com/telegram/webhook"),
        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
    ),
    (
        "webhook secret with a space",
        lambda bot: bot.set_webhook("https://pokaznyk.example.com/hook", secret_token="two words"),
        "Bad Request: secret token contains unallowed characters",
    ),
]


@pytest.mark.parametrize(("case", "action", "description"), REFUSALS, ids=[case for case, _a, _d in REFUSALS])
def test_refusals_raise_telegram_bad_request(
    fake_bot_api: FakeBotAPI, case: str, action: Callable[[Bot], Awaitable[object]], description: str
) -> None:
    fake_bot_api.add_chat(CHAT)

    with pytest.raises(TelegramBadRequest) as raised:
        with_bot(fake_bot_api, action)

    assert raised.value.message == description
    assert fake_bot_api.calls[-1].status == 400
    assert fake_bot_api.sent_messages() == []


def test_limits_themselves_are_accepted(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.add_chat(CHAT)
    markup = inline(InlineKeyboardButton(text="ok", callback_data="ї" * 32))

    async def at_the_limits(bot: Bot) -> None:
        await bot.send_message(CHAT, "😀" * 2048, reply_markup=markup)
        await bot.set_my_commands([BotCommand(command="submit_reading_2", description="Подати показ")])
        await bot.set_webhook("http://127.0.0.1:8000/telegram/webhook")

    with_bot(fake_bot_api, at_the_limits)

    assert all(call.status == 200 for call in fake_bot_api.calls)


def test_an_edit_that_changes_nothing_is_refused(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.add_chat(CHAT)
    markup = inline(InlineKeyboardButton(text="ok", callback_data="ok"))

    async def send_then_edit_twice(bot: Bot) -> None:
        sent = await bot.send_message(CHAT, "Показ прийнято", reply_markup=markup)
        await bot.edit_message_text("Показ прийнято", chat_id=CHAT, message_id=sent.message_id)
        await bot.edit_message_text("Показ прийнято", chat_id=CHAT, message_id=sent.message_id)

    with pytest.raises(TelegramBadRequest) as raised:
        with_bot(fake_bot_api, send_then_edit_twice)

    assert raised.value.message == f"Bad Request: {NOT_MODIFIED}"
    assert [call.status for call in fake_bot_api.calls_to("editMessageText")] == [200, 400]


def test_malformed_reply_markup_json_is_refused(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.add_chat(CHAT)
    body = urlencode({"chat_id": CHAT, "text": "x", "reply_markup": "{not json"}).encode()

    status, response = post(fake_bot_api, "sendMessage", body, "application/x-www-form-urlencoded")

    assert (status, response["description"]) == (400, "Bad Request: can't parse reply keyboard markup JSON object")


def test_fail_next_answers_429_with_retry_after(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.add_chat(CHAT)
    fake_bot_api.fail_next("sendMessage", status=429, description="Too Many Requests: retry after 7", retry_after=7)

    with pytest.raises(TelegramRetryAfter) as raised:
        with_bot(fake_bot_api, lambda bot: bot.send_message(CHAT, "x"))
    with_bot(fake_bot_api, lambda bot: bot.send_message(CHAT, "x"))

    assert raised.value.retry_after == 7
    assert [call.status for call in fake_bot_api.calls_to("sendMessage")] == [429, 200]


def test_wait_for_explains_a_timeout_with_the_last_calls(fake_bot_api: FakeBotAPI) -> None:
    with_bot(fake_bot_api, lambda bot: bot.get_me())

    with pytest.raises(AssertionError, match="getMe -> 200"):
        fake_bot_api.wait_for(lambda: False, timeout=0.05)


# --- Update builders -------------------------------------------------------------------------

BUILDERS = [
    (updates.message("/start"), "message"),
    (updates.message("Привіт", chat_type="group", chat_id=-4001), "message"),
    (updates.edited_message("12345"), "edited_message"),
    (updates.callback("meter:1"), "callback_query"),
    (updates.photo("лічильник"), "message"),
    (updates.sticker(), "message"),
    (updates.voice(), "message"),
    (updates.contact(), "message"),
    (updates.location(), "message"),
    (updates.document(), "message"),
    (updates.my_chat_member("kicked"), "my_chat_member"),
    (updates.my_chat_member("member"), "my_chat_member"),
    (updates.group_message("/start@pokaznyk_test_bot"), "message"),
    (updates.channel_post("Новина"), "channel_post"),
]


@pytest.mark.parametrize(
    ("update", "event_type"), BUILDERS, ids=[f"{i}-{kind}" for i, (_u, kind) in enumerate(BUILDERS)]
)
def test_builders_make_updates_aiogram_accepts(update: dict, event_type: str) -> None:
    parsed = Update.model_validate(update, context={"bot": None})

    assert parsed.event_type == event_type
    assert parsed.update_id == update["update_id"]


def test_builders_describe_what_a_user_did() -> None:
    start = Update.model_validate(updates.message("/start abc"), context={"bot": None})
    pressed = Update.model_validate(updates.callback("meter:1"), context={"bot": None})
    blocked = Update.model_validate(updates.my_chat_member("kicked"), context={"bot": None})

    assert start.message and start.message.entities and start.message.entities[0].length == len("/start")
    assert pressed.callback_query and pressed.callback_query.message
    assert pressed.callback_query.message.chat.id == pressed.callback_query.from_user.id
    assert blocked.my_chat_member and blocked.my_chat_member.new_chat_member.status == "kicked"


# --- Files: getFile, then the download -------------------------------------------------------------


def test_get_file_then_download_returns_the_files_bytes(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.put_file("AgACphoto1", b"\xff\xd8 the photo")

    async def fetch(bot: Bot) -> tuple[str, bytes]:
        file = await bot.get_file("AgACphoto1")
        return file.file_path, (await bot.download_file(file.file_path)).getvalue()

    path, content = with_bot(fake_bot_api, fetch)
    assert content == b"\xff\xd8 the photo"
    assert fake_bot_api.downloads == [path]


def test_get_file_refuses_an_unknown_id_and_a_file_over_20_mb(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.put_file("AgACbig", b"\0" * (20 * 1024 * 1024 + 1))
    for file_id, refusal in (("AgACnone", "invalid file_id"), ("AgACbig", "file is too big")):
        with pytest.raises(TelegramBadRequest, match=refusal):
            with_bot(fake_bot_api, lambda bot, file_id=file_id: bot.get_file(file_id))


def test_a_file_is_downloadable_only_by_the_path_get_file_issued(fake_bot_api: FakeBotAPI) -> None:
    fake_bot_api.put_file("AgACphoto2", b"secret")
    address = urlsplit(fake_bot_api.base_url)

    def status(path: str) -> int:
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
        try:
            connection.request("GET", path)
            return connection.getresponse().status
        finally:
            connection.close()

    assert status(f"/file/bot{fake_bot_api.token}/photos/file_1.jpg") == 404  # no getFile yet
    path = with_bot(fake_bot_api, lambda bot: bot.get_file("AgACphoto2")).file_path
    assert status(f"/file/bot{fake_bot_api.token}/{path}") == 200
    assert status(f"/file/bot123:wrong/{path}") == 404
    assert fake_bot_api.downloads == [path]
