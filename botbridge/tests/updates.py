"""Telegram updates exactly as the Bot API delivers them, for tests of the bot.

Each builder returns the JSON dict Telegram would send to the webhook or from getUpdates
(field names from https://core.telegram.org/bots/api), so tests exercise the same parsing
as production. Ids come from module-level counters, so two updates never collide.
"""

import itertools
import time

from botbridge.tests.fake_bot_api import DEFAULT_BOT_ID, bot_user

DEFAULT_USER_ID = 111
GROUP_CHAT_ID = -100123
CHANNEL_CHAT_ID = -100999
GROUP_TITLE = "ОСББ «Сонячний» (тест)"
CHANNEL_TITLE = "Новини Показника (тест)"

_update_ids = itertools.count(100_000_001)
# User messages start well above 1, where callback() puts the bot's own message by default.
_message_ids = itertools.count(1001)
_callback_ids = itertools.count(4_382_950_123_456_789_001)
_file_numbers = itertools.count(1)


def _now() -> int:
    return int(time.time())


def user(
    user_id: int = DEFAULT_USER_ID, first_name: str = "Марія", language_code: str = "uk", username: str | None = None
) -> dict:
    """A User object for a person (Telegram omits username when the person has none)."""
    result: dict = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
    if username is not None:
        result["username"] = username
    return result


def _private_chat(sender: dict) -> dict:
    chat = {"id": sender["id"], "first_name": sender["first_name"], "type": "private"}
    if "username" in sender:
        chat["username"] = sender["username"]
    return chat


def _chat(chat_id: int | None, chat_type: str, sender: dict) -> dict:
    if chat_type == "private":
        return {**_private_chat(sender), "id": sender["id"] if chat_id is None else chat_id}
    if chat_type in ("group", "supergroup"):
        return {"id": GROUP_CHAT_ID if chat_id is None else chat_id, "title": GROUP_TITLE, "type": chat_type}
    raise ValueError(f"chat_type must be private, group or supergroup, not {chat_type!r}")


def _command_entities(text: str) -> list[dict]:
    # Clients mark a leading /command (including a /start@botname suffix) as a bot_command entity.
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


def _user_message(
    content: dict,
    *,
    user_id: int,
    chat_id: int | None = None,
    chat_type: str = "private",
    language_code: str = "uk",
    message_id: int | None = None,
    first_name: str = "Марія",
    username: str | None = None,
) -> dict:
    sender = user(user_id, first_name=first_name, language_code=language_code, username=username)
    return {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "from": sender,
        "chat": _chat(chat_id, chat_type, sender),
        "date": _now(),
        **content,
    }


def _update(kind: str, payload: dict, update_id: int | None) -> dict:
    return {"update_id": next(_update_ids) if update_id is None else update_id, kind: payload}


def _text(text: str) -> dict:
    content: dict = {"text": text}
    if entities := _command_entities(text):
        content["entities"] = entities
    return content


def _file_ids(prefix: str) -> tuple[str, str]:
    number = next(_file_numbers)
    return f"{prefix}AgADAgADtest{number:06d}", f"AQAD{number:06d}"


def message(
    text: str,
    *,
    user_id: int = DEFAULT_USER_ID,
    chat_id: int | None = None,
    chat_type: str = "private",
    language_code: str = "uk",
    update_id: int | None = None,
    message_id: int | None = None,
    first_name: str = "Марія",
    username: str | None = None,
) -> dict:
    """A person's text message; in a private chat by default (chat id = user id)."""
    payload = _user_message(
        _text(text),
        user_id=user_id,
        chat_id=chat_id,
        chat_type=chat_type,
        language_code=language_code,
        message_id=message_id,
        first_name=first_name,
        username=username,
    )
    return _update("message", payload, update_id)


def edited_message(
    text: str,
    *,
    user_id: int = DEFAULT_USER_ID,
    chat_id: int | None = None,
    chat_type: str = "private",
    language_code: str = "uk",
    update_id: int | None = None,
    message_id: int | None = None,
) -> dict:
    """A person edited an earlier message: `date` is when it was sent, `edit_date` now."""
    payload = _user_message(
        _text(text),
        user_id=user_id,
        chat_id=chat_id,
        chat_type=chat_type,
        language_code=language_code,
        message_id=message_id,
    )
    payload["date"] -= 60
    payload["edit_date"] = _now()
    return _update("edited_message", payload, update_id)


def callback(
    data: str,
    *,
    user_id: int = DEFAULT_USER_ID,
    message_id: int = 1,
    message_text: str = "Оберіть лічильник:",
    update_id: int | None = None,
    reply_markup: dict | None = None,
    language_code: str = "uk",
    bot_id: int = DEFAULT_BOT_ID,
) -> dict:
    """A press on an inline button under the bot's message `message_id` in the private chat."""
    sender = user(user_id, language_code=language_code)
    bot_message: dict = {
        "message_id": message_id,
        "from": bot_user(bot_id),
        "chat": _private_chat(sender),
        "date": _now() - 30,
        "text": message_text,
    }
    if reply_markup is not None:
        bot_message["reply_markup"] = reply_markup
    query = {
        "id": str(next(_callback_ids)),
        "from": sender,
        "message": bot_message,
        "chat_instance": str(-7_301_846_113_924_551_000 - user_id),
        "data": data,
    }
    return _update("callback_query", query, update_id)


def photo(
    caption: str | None = None,
    *,
    user_id: int = DEFAULT_USER_ID,
    update_id: int | None = None,
    message_id: int | None = None,
) -> dict:
    """A photo, delivered as Telegram does: the same picture in several sizes, smallest first."""
    sizes = []
    for width, height, size in ((90, 67, 1_234), (320, 240, 15_678), (1280, 960, 187_654)):
        file_id, unique_id = _file_ids("AgACAgIAAxkBAAI")
        sizes.append(
            {"file_id": file_id, "file_unique_id": unique_id, "width": width, "height": height, "file_size": size}
        )
    content: dict = {"photo": sizes}
    if caption is not None:
        content["caption"] = caption
    return _update("message", _user_message(content, user_id=user_id, message_id=message_id), update_id)


def sticker(
    emoji: str = "👍", *, user_id: int = DEFAULT_USER_ID, update_id: int | None = None, message_id: int | None = None
) -> dict:
    file_id, unique_id = _file_ids("CAACAgIAAxkBAAI")
    content = {
        "sticker": {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "PokaznykTest",
            "file_size": 23_456,
        }
    }
    return _update("message", _user_message(content, user_id=user_id, message_id=message_id), update_id)


def voice(
    duration: int = 3, *, user_id: int = DEFAULT_USER_ID, update_id: int | None = None, message_id: int | None = None
) -> dict:
    file_id, unique_id = _file_ids("AwACAgIAAxkBAAI")
    content = {
        "voice": {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 8_765,
        }
    }
    return _update("message", _user_message(content, user_id=user_id, message_id=message_id), update_id)


def contact(
    phone_number: str = "+380501234567",
    *,
    user_id: int = DEFAULT_USER_ID,
    first_name: str = "Марія",
    contact_user_id: int | None = None,
    update_id: int | None = None,
    message_id: int | None = None,
) -> dict:
    """A shared contact; by default the sender's own (contact.user_id = sender), as from a
    request_contact button. Clients differ on the leading "+" of phone_number: test both."""
    content = {
        "contact": {
            "phone_number": phone_number,
            "first_name": first_name,
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
    }
    payload = _user_message(content, user_id=user_id, first_name=first_name, message_id=message_id)
    return _update("message", payload, update_id)


def location(
    latitude: float = 50.4501,
    longitude: float = 30.5234,
    *,
    user_id: int = DEFAULT_USER_ID,
    update_id: int | None = None,
    message_id: int | None = None,
) -> dict:
    content = {"location": {"latitude": latitude, "longitude": longitude}}
    return _update("message", _user_message(content, user_id=user_id, message_id=message_id), update_id)


def document(
    file_name: str = "pokazy.pdf",
    mime_type: str = "application/pdf",
    *,
    caption: str | None = None,
    user_id: int = DEFAULT_USER_ID,
    update_id: int | None = None,
    message_id: int | None = None,
) -> dict:
    file_id, unique_id = _file_ids("BQACAgIAAxkBAAI")
    content: dict = {
        "document": {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": 54_321,
        }
    }
    if caption is not None:
        content["caption"] = caption
    return _update("message", _user_message(content, user_id=user_id, message_id=message_id), update_id)


def my_chat_member(
    status: str = "kicked",
    *,
    user_id: int = DEFAULT_USER_ID,
    update_id: int | None = None,
    bot_id: int = DEFAULT_BOT_ID,
) -> dict:
    """The bot's membership in a private chat changed: "kicked" = the user blocked the bot,
    "member" = they unblocked it (or pressed Start again)."""
    members = {
        "member": {"user": bot_user(bot_id), "status": "member"},
        "kicked": {"user": bot_user(bot_id), "status": "kicked", "until_date": 0},
    }
    if status not in members:
        raise ValueError(f"a private chat knows only 'member' and 'kicked', not {status!r}")
    old_status = "member" if status == "kicked" else "kicked"
    sender = user(user_id)
    payload = {
        "chat": _private_chat(sender),
        "from": sender,
        "date": _now(),
        "old_chat_member": members[old_status],
        "new_chat_member": members[status],
    }
    return _update("my_chat_member", payload, update_id)


def group_message(
    text: str,
    *,
    user_id: int = DEFAULT_USER_ID,
    chat_id: int = GROUP_CHAT_ID,
    update_id: int | None = None,
    message_id: int | None = None,
) -> dict:
    """A message in a supergroup the bot was added to."""
    return message(
        text, user_id=user_id, chat_id=chat_id, chat_type="supergroup", update_id=update_id, message_id=message_id
    )


def channel_post(
    text: str, *, chat_id: int = CHANNEL_CHAT_ID, update_id: int | None = None, message_id: int | None = None
) -> dict:
    """A post in a channel: no "from"; the channel itself is the sender_chat."""
    chat = {"id": chat_id, "title": CHANNEL_TITLE, "type": "channel"}
    payload = {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "sender_chat": chat,
        "chat": chat,
        "date": _now(),
        **_text(text),
    }
    return _update("channel_post", payload, update_id)
