"""A fake Telegram Bot API server for tests.

The bot talks to ``<TELEGRAM_API_BASE>/bot<token>/<method>``; tests point that base at
``FakeBotAPI.base_url``, so the real aiogram client, its HTTP session and our own code all
run unchanged and only the far end is fake. The fake refuses what Telegram refuses (empty
texts, over-long callback data, unknown chats, edits that change nothing, ...) because those
refusals are the bugs a mock that answers "ok" to everything would hide.

It serves from a background thread with its own event loop, so the same instance answers
an aiogram client in the test's ``asyncio.run`` and uvicorn workers in other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import inspect
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiogram.methods
from aiogram.methods import TelegramMethod
from aiohttp import web

from botbridge.tests.served import ServedInThread

DEFAULT_TOKEN = "123456789:TEST-token_for-fake-bot-api"
DEFAULT_BOT_ID = int(DEFAULT_TOKEN.split(":", 1)[0])
BOT_FIRST_NAME = "Pokaznyk (test)"
BOT_USERNAME = "pokaznyk_test_bot"

# Telegram's own limits (https://core.telegram.org/bots/api).
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_COMMANDS = 100
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses larger files ("file is too big")
# Long polls are capped so a test never waits long and stop() stays quick.
MAX_LONG_POLL_SECONDS = 1.0

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same"
    " as a current content and reply markup of the message"
)

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
POLLING_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


def bot_user(bot_id: int = DEFAULT_BOT_ID) -> dict:
    """The bot as a Bot API User object: what getMe returns and what `from` of its messages holds."""
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": BOT_FIRST_NAME,
        "username": BOT_USERNAME,
        "can_join_groups": False,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


@dataclass
class Call:
    """One request the bot made, as the fake understood and answered it."""

    method: str
    params: dict
    status: int
    response: dict
    at: float = field(default_factory=time.monotonic)  # when the fake answered, for rate checks


class _APIError(Exception):
    """A refusal, shaped like Telegram's error responses."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict:
        body: dict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(reason: str) -> _APIError:
    return _APIError(400, f"Bad Request: {reason}")


# --- Parameters -----------------------------------------------------------------------------

# Fields whose Bot API type is an object or array: form-encoded clients (aiogram among them)
# send them as JSON strings.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "commands",
        "allowed_updates",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "media",
        "results",
        "menu_button",
        "permissions",
    }
)
# Form values are always strings; Telegram accepts "123" wherever it expects 123. Decoding
# them here lets tests compare `call.params["chat_id"] == 111` whatever the transport.
INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "from_chat_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "message_thread_id",
        "reply_to_message_id",
        "max_connections",
        "cache_time",
    }
)
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "show_alert",
        "drop_pending_updates",
        "allow_paid_broadcast",
    }
)
_INTEGER = re.compile(r"-?\d+")
# How Telegram names a field in "can't parse … JSON object".
_JSON_FIELD_NAMES = {"reply_markup": "reply keyboard markup", "link_preview_options": "link preview options"}


def _bot_api_methods() -> dict[str, str]:
    """Every Bot API method name aiogram knows, keyed by its lower-case form.

    Telegram matches method names case-insensitively; knowing the full list lets the fake
    tell "no such method" (404, like Telegram) from "the fake does not simulate it yet".
    """
    names = {}
    for value in vars(aiogram.methods).values():
        if inspect.isclass(value) and issubclass(value, TelegramMethod) and value is not TelegramMethod:
            name = value.__api_method__
            if isinstance(name, str):
                names[name.lower()] = name
    return names


_BOT_API_METHODS = _bot_api_methods()


async def _read_params(request: web.Request) -> dict:
    """Query string and body merged, whichever of the three encodings Telegram accepts was used."""
    params: dict = dict(request.query)
    if request.content_type == "application/json":
        text = await request.text()
        if text.strip():
            try:
                body = json.loads(text)
            except ValueError:
                raise _bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad_request("can't parse JSON object")
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            params[key] = value if isinstance(value, str) else {"filename": value.filename, "upload": True}
    return params


def _decode_params(raw: dict) -> dict:
    params = dict(raw)
    for key, value in raw.items():
        if key in JSON_FIELDS and isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except ValueError:
                what = _JSON_FIELD_NAMES.get(key, key)
                raise _bad_request(f"can't parse {what} JSON object") from None
        elif key in INT_FIELDS and isinstance(value, str) and _INTEGER.fullmatch(value):
            params[key] = int(value)
        elif key in BOOL_FIELDS and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            params[key] = value.lower() in ("true", "1")
    return params


def _int_param(params: dict, name: str, *, missing: str) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad_request(missing)
    return value


# --- Texts and markup ---------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    # Telegram counts lengths and entity offsets in UTF-16 code units: an emoji counts twice.
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


class _EntityText:
    """Visible text being assembled by a parse-mode parser, with UTF-16 offsets for entities."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.units = 0
        self.entities: list[dict] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.units += _utf16_len(text)

    def entity(self, kind: str, start: int, **extra: str) -> None:
        if self.units > start:
            self.entities.append({"type": kind, "offset": start, "length": self.units - start, **extra})

    def result(self) -> tuple[str, list[dict]]:
        return "".join(self.parts), sorted(self.entities, key=lambda entity: entity["offset"])


def _entities_error(reason: str) -> _APIError:
    return _bad_request(f"can't parse entities: {reason}")


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_HTML_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+)))?""")
# Telegram knows only these named entities, and every numeric one; a bare "&" stays literal.
_HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def _html_attributes(source: str) -> dict[str, str]:
    return {m[1].lower(): html.unescape(m[2] or m[3] or m[4] or "") for m in _HTML_ATTRIBUTE.finditer(source)}


def _parse_html(text: str) -> tuple[str, list[dict]]:
    out = _EntityText()
    stack: list[tuple[str, str | None, int, dict]] = []  # tag, entity type, start, extra fields
    i = 0
    while i < len(text):
        if text[i] == "&" and (entity := _HTML_ENTITY.match(text, i)):
            out.add(html.unescape(entity.group()))
            i = entity.end()
        elif text[i] != "<":
            out.add(text[i])
            i += 1
        else:
            end = text.find(">", i)
            if end < 0:
                raise _entities_error(f"Can't find end of the tag at byte offset {_byte_offset(text, i)}")
            _html_tag(text, i, text[i + 1 : end], stack, out)
            i = end + 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _html_tag(text: str, at: int, inside: str, stack: list, out: _EntityText) -> None:
    closing = inside.startswith("/")
    source = inside[1:] if closing else inside
    name_match = _HTML_TAG_NAME.match(source)
    name = name_match.group().lower() if name_match else ""
    offset = _byte_offset(text, at)
    if closing:
        if not stack:
            raise _entities_error(f'Unexpected end tag "{name}" at byte offset {offset}')
        if stack[-1][0] != name:
            raise _entities_error(
                f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1][0]}>", found "</{name}>"'
            )
        _tag, kind, start, extra = stack.pop()
        if kind:
            out.entity(kind, start, **extra)
        return
    if name not in _HTML_TAGS:
        raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
    attributes = _html_attributes(source[len(name) :])
    kind: str | None = _HTML_TAGS[name]
    extra: dict = {}
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise _entities_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "a":
        extra["url"] = attributes.get("href", "")
        if not extra["url"]:
            kind = None
    if name == "tg-emoji":
        extra["custom_emoji_id"] = attributes.get("emoji-id", "")
    if name == "blockquote" and "expandable" in attributes:
        kind = "expandable_blockquote"
    if name == "code" and stack and stack[-1][0] == "pre":
        # <pre><code class="language-python"> is one pre entity with a language, not two.
        language = attributes.get("class", "").removeprefix("language-")
        if language:
            stack[-1][3]["language"] = language
        kind = None
    stack.append((name, kind, out.units, extra))


_MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!\\")
_MARKDOWN_V2_MARKERS = {"||": "spoiler", "__": "underline", "*": "bold", "_": "italic", "~": "strikethrough"}
_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "blockquote": "BlockQuote",
}


def _find_unescaped(text: str, needle: str, start: int) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith(needle, i):
            return i
        else:
            i += 1
    return -1


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    out = _EntityText()
    stack: list[tuple[str, int, int]] = []  # entity type, start, index in text
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 < len(text) and 1 <= ord(text[i + 1]) <= 126:
                out.add(text[i + 1])
                i += 2
                continue
            raise _entities_error("Character '\\' is reserved and must be escaped with the preceding '\\'")
        if char == "`":
            i = _markdown_v2_code(text, i, out)
            continue
        if char == "[":
            stack.append(("text_link", out.units, i))
            i += 1
            continue
        if char == "]" and stack and stack[-1][0] == "text_link":
            i = _markdown_v2_link_end(text, i, stack, out)
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            stack.append(("blockquote", out.units, i))
            i += 1
            continue
        if char == "\n" and stack and stack[-1][0] == "blockquote":
            out.entity("blockquote", stack.pop()[1])
        marker = next((m for m in _MARKDOWN_V2_MARKERS if text.startswith(m, i)), None)
        if marker:
            _markdown_v2_toggle(text, _MARKDOWN_V2_MARKERS[marker], i, stack, out)
            i += len(marker)
            continue
        if char in _MARKDOWN_V2_RESERVED:
            raise _entities_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        out.add(char)
        i += 1
    if stack and stack[-1][0] == "blockquote":
        out.entity("blockquote", stack.pop()[1])
    if stack:
        kind, _start, index = stack[-1]
        raise _entities_error(
            f"Can't find end of {_ENTITY_NAMES[kind]} entity at byte offset {_byte_offset(text, index)}"
        )
    return out.result()


def _markdown_v2_code(text: str, i: int, out: _EntityText) -> int:
    fence = "```" if text.startswith("```", i) else "`"
    close = _find_unescaped(text, fence, i + len(fence))
    if close < 0:
        name = "PreCode" if fence == "```" else "Code"
        raise _entities_error(f"Can't find end of {name} entity at byte offset {_byte_offset(text, i)}")
    body = text[i + len(fence) : close]
    extra = {}
    if fence == "```":
        first_line, newline, rest = body.partition("\n")
        if newline and re.fullmatch(r"[\w+#-]+", first_line):
            extra["language"], body = first_line, rest
    start = out.units
    out.add(_unescape(body))
    out.entity("pre" if fence == "```" else "code", start, **extra)
    return close + len(fence)


def _markdown_v2_link_end(text: str, i: int, stack: list, out: _EntityText) -> int:
    if not text.startswith("(", i + 1):
        raise _entities_error("Character ']' is reserved and must be escaped with the preceding '\\'")
    close = _find_unescaped(text, ")", i + 2)
    if close < 0:
        raise _entities_error(f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}")
    _kind, start, _index = stack.pop()
    out.entity("text_link", start, url=_unescape(text[i + 2 : close]))
    return close + 1


def _markdown_v2_toggle(text: str, kind: str, i: int, stack: list, out: _EntityText) -> None:
    if stack and stack[-1][0] == kind:
        out.entity(kind, stack.pop()[1])
    elif any(open_kind == kind for open_kind, _start, _index in stack):
        # Telegram wants entities properly nested: *bold _italic* end_ is refused.
        open_kind, _start, index = stack[-1]
        raise _entities_error(
            f"Can't find end of {_ENTITY_NAMES[open_kind]} entity at byte offset {_byte_offset(text, index)}"
        )
    else:
        stack.append((kind, out.units, i))


def _parse_markdown(text: str) -> tuple[str, list[dict]]:
    """Legacy Markdown: no nesting, and an unclosed `_` (say, in a username) is refused."""
    out = _EntityText()
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        fence = "```" if text.startswith("```", i) else char
        if fence in ("```", "*", "_", "`", "["):
            closer = "](" if fence == "[" else fence
            close = text.find(closer, i + len(fence))
            url_end = text.find(")", close) if fence == "[" and close >= 0 else close
            if close < 0 or url_end < 0:
                raise _entities_error(f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}")
            start = out.units
            out.add(text[i + len(fence) : close])
            if fence == "[":
                out.entity("text_link", start, url=text[close + 2 : url_end])
                i = url_end + 1
            else:
                out.entity("pre" if fence == "```" else kinds[fence], start)
                i = close + len(fence)
            continue
        out.add(char)
        i += 1
    return out.result()


_PARSE_MODES: dict[str, Callable[[str], tuple[str, list[dict]]]] = {
    "html": _parse_html,
    "markdownv2": _parse_markdown_v2,
    "markdown": _parse_markdown,
}


def _visible_text(params: dict) -> tuple[str, list[dict]]:
    """The text Telegram would show, checked against its limits, and its entities."""
    text = params.get("text")
    text = "" if text is None else str(text)
    entities = params.get("entities")
    parse_mode = params.get("parse_mode")
    if entities is None and parse_mode:
        parser = _PARSE_MODES.get(str(parse_mode).lower())
        if parser is None:
            raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
        text, entities = parser(text)
    if not text.strip():
        raise _bad_request("message text is empty")
    if _utf16_len(text) > MAX_TEXT_LENGTH:
        raise _bad_request("message is too long")
    return text, entities if isinstance(entities, list) else []


# Inline buttons must do something; a bare text button is what Telegram refuses.
_INLINE_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_UNPARSABLE_MARKUP = "can't parse reply keyboard markup JSON object"


def _rows(markup: dict, key: str) -> list[list]:
    rows = markup[key]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request(_UNPARSABLE_MARKUP)
    return rows


def _check_reply_markup(markup: object) -> dict | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request(_UNPARSABLE_MARKUP)
    if "inline_keyboard" in markup:
        for row in _rows(markup, "inline_keyboard"):
            for button in row:
                _check_inline_button(button)
    elif "keyboard" in markup:
        for row in _rows(markup, "keyboard"):
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text.strip():
                    raise _bad_request("keyboard button text is empty")
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise _bad_request(_UNPARSABLE_MARKUP)
    return markup


def _check_inline_button(button: object) -> None:
    if not isinstance(button, dict):
        raise _bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _bad_request("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad_request("BUTTON_DATA_INVALID")
    elif not _INLINE_ACTIONS & button.keys():
        raise _bad_request("BUTTON_DATA_INVALID")


_LINK_PREVIEW_FLAGS = ("is_disabled", "prefer_small_media", "prefer_large_media", "show_above_text")


def _check_link_preview_options(options: object) -> None:
    """Telegram wants an object whose flags are JSON booleans (not "1") and whose url is a string."""
    if options is None:
        return
    if not isinstance(options, dict):
        raise _bad_request("object expected as link preview options")
    for flag in _LINK_PREVIEW_FLAGS:
        if flag in options and not isinstance(options[flag], bool):
            raise _bad_request(f'field "{flag}" must be of type Boolean')
    if "url" in options and not isinstance(options["url"], str):
        raise _bad_request('field "url" must be of type String')


_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


def _check_commands(commands: object) -> list[dict]:
    if not isinstance(commands, list) or not all(isinstance(command, dict) for command in commands):
        raise _bad_request("can't parse commands JSON object")
    if len(commands) > MAX_COMMANDS:
        raise _bad_request("too many commands")
    for command in commands:
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND.fullmatch(name):
            raise _bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return [{"command": c["command"], "description": c["description"]} for c in commands]


def _commands_key(params: dict) -> str:
    scope = params.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
        raise _bad_request("can't parse BotCommandScope")
    language = params.get("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", str(language)):
        raise _bad_request("invalid language code specified")
    return json.dumps([scope, language], sort_keys=True)


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
_WEBHOOK_PORTS = frozenset({None, 80, 88, 443, 8443})
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _check_webhook(params: dict) -> None:
    url = str(params.get("url") or "")
    if url:
        parts = urlsplit(url)
        # Tests run the bot on 127.0.0.1 over plain HTTP; Telegram itself would refuse that.
        local = parts.hostname in _LOCAL_HOSTS
        if parts.scheme != "https" and not local:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if not local and parts.port not in _WEBHOOK_PORTS:
            raise _bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    secret = params.get("secret_token")
    if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
        raise _bad_request("secret token contains unallowed characters")


_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Update types Telegram sends only to bots that list them in allowed_updates.
_OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Objects in an update that carry a chat the bot can then write to.
_CHAT_HOLDERS = ("message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member", "chat_member")


def _update_type(update: dict) -> str:
    return next((key for key in update if key != "update_id"), "")


@dataclass
class _Message:
    text: str | None  # raw text as sent, to refuse edits that change nothing; None for media
    reply_markup: dict | None  # only inline keyboards stay attached to a message
    from_bot: bool


@dataclass
class _File:
    content: bytes
    file_unique_id: str
    file_path: str | None = None  # issued by getFile; downloadable only after it


_PATH = re.compile(r"/bot(?P<token>[^/]*)/(?P<method>[^/]*)")
_FILE_PATH = re.compile(r"/file/bot(?P<token>[^/]*)/(?P<path>.+)")


def _describe(call: Call) -> str:
    params = {k: v for k, v in call.params.items() if k in ("chat_id", "text", "message_id", "callback_query_id")}
    description = "" if call.status == 200 else f" {call.response.get('description')!r}"
    return f"  {call.method} -> {call.status}{description} {params}"


# --- The server -----------------------------------------------------------------------------


class FakeBotAPI(ServedInThread):
    """A Bot API server on 127.0.0.1 that records every call and answers like Telegram."""

    name = "fake-bot-api"
    base_path = ""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        # Handlers run on the server thread, tests read from theirs: one lock guards all state.
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._chats: dict[int, dict] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], _Message] = {}
        self._last_message_id: dict[int, int] = {}
        self._callback_ids: set[str] = set()
        self._failures: dict[str, deque[_APIError]] = {}
        self._pending: list[dict] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default set
        self._poll_generation = 0
        self._webhook: dict = {}
        self._commands: dict[str, list[dict]] = {}
        self._files: dict[str, _File] = {}
        self.downloads: list[str] = []  # the file paths the bot downloaded, in order
        self.dropped_updates: list[dict] = []
        self._updates_arrived: asyncio.Event | None = None
        self._closing = False
        self._handlers: dict[str, Callable[[dict], object]] = {
            "getMe": lambda _params: bot_user(self.bot_id),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda params: self._commands.get(_commands_key(params), []),
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getFile": self._get_file,
        }

    # --- Lifecycle (ServedInThread)

    def routes(self, app: web.Application) -> None:
        app.router.add_route("GET", "/file/{path:.*}", self._download)
        app.router.add_route("*", "/{path:.*}", self._handle)

    def on_loop(self) -> None:
        self._updates_arrived = asyncio.Event()

    def on_stop(self) -> None:
        self._closing = True
        if self._updates_arrived is not None:
            self._updates_arrived.set()

    # --- What the bot did

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage and editMessageText calls: what the user ends up reading."""
        return [
            call
            for call in self.calls
            if call.method in ("sendMessage", "editMessageText")
            and call.status == 200
            and (chat_id is None or call.params.get("chat_id") == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [str(call.params.get("text")) for call in self.sent_messages(chat_id)]

    def last_text(self, chat_id: int) -> str:
        texts = self.texts(chat_id)
        if not texts:
            raise AssertionError(f"the bot sent no message to chat {chat_id}.\n{self._recent_calls()}")
        return texts[-1]

    def reply_markup(self, call: Call) -> dict | None:
        markup = call.params.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    def button_texts(self, call: Call) -> list[str]:
        markup = self.reply_markup(call) or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [button if isinstance(button, str) else str(button.get("text")) for row in rows for button in row]

    def inline_buttons(self, call: Call) -> list[dict]:
        markup = self.reply_markup(call) or {}
        return [button for row in markup.get("inline_keyboard") or [] for button in row]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s.\n{self._recent_calls()}")
            time.sleep(0.01)

    def wait_for_calls(self, method: str, count: int, timeout: float = 5.0) -> list[Call]:
        try:
            self.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
        except AssertionError as error:
            seen = len(self.calls_to(method))
            raise AssertionError(f"expected {count} {method} call(s), got {seen}. {error}") from None
        return self.calls_to(method)

    def _recent_calls(self, last: int = 10) -> str:
        calls = self.calls
        if not calls:
            lines = ["The bot made no calls to the fake Bot API."]
        else:
            lines = [f"Last {min(last, len(calls))} of {len(calls)} calls:", *map(_describe, calls[-last:])]
        if self.dropped_updates:
            lines.append(f"{len(self.dropped_updates)} pushed update(s) were outside allowed_updates and dropped.")
        return "\n".join(lines)

    # --- What the test sets up

    def add_chat(self, chat_id: int, *, chat_type: str | None = None) -> None:
        """Let the bot write to this chat (private for positive ids, a supergroup for negative)."""
        chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
        chat: dict = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "Test chat"
        with self._lock:
            self._chats.setdefault(chat_id, chat)

    def block_chat(self, chat_id: int) -> None:
        """The user of a private chat blocks the bot: sending to them answers 403 from now on."""
        self.add_chat(chat_id)
        with self._lock:
            self._blocked.add(chat_id)

    def push_update(self, update: dict) -> None:
        """Queue an update for getUpdates, as Telegram would when a user acts.

        Like Telegram, an update of a type outside the bot's allowed_updates is never
        delivered; it lands in `dropped_updates` so a waiting test can say why.
        """
        update = copy.deepcopy(update)
        self.register_update(update)
        with self._lock:
            update.setdefault("update_id", self._next_update_id)
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            if self._is_allowed(_update_type(update)):
                self._pending.append(update)
            else:
                self.dropped_updates.append(update)
        loop, arrived = self._loop, self._updates_arrived
        if loop is not None and arrived is not None:
            with contextlib.suppress(RuntimeError):  # the server has stopped; nobody is polling
                loop.call_soon_threadsafe(arrived.set)

    def register_update(self, update: dict) -> None:
        """Remember what an update tells Telegram: chats, their messages, callback query ids.

        Tests that post updates to the webhook themselves call this, so the bot's answers
        are accepted as they would be by Telegram.
        """
        with self._lock:
            for key in _CHAT_HOLDERS:
                if isinstance(update.get(key), dict):
                    self._register_holder(key, update[key])
            query = update.get("callback_query")
            if isinstance(query, dict):
                self._callback_ids.add(str(query.get("id")))
                if isinstance(query.get("message"), dict):
                    self._register_holder("message", query["message"])

    def _register_holder(self, key: str, holder: dict) -> None:
        chat = holder.get("chat")
        if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
            return
        chat_id = chat["id"]
        self._chats[chat_id] = {**self._chats.get(chat_id, {}), **chat}
        if key == "my_chat_member" and chat.get("type") == "private":
            # In a private chat "kicked" means the user blocked the bot, "member" that they came back.
            if (holder.get("new_chat_member") or {}).get("status") == "kicked":
                self._blocked.add(chat_id)
            else:
                self._blocked.discard(chat_id)
        if key.endswith("chat_member"):
            return
        message_id = holder.get("message_id")
        if isinstance(message_id, int):
            sender = holder.get("from") or {}
            markup = holder.get("reply_markup")
            self._messages[(chat_id, message_id)] = _Message(
                text=holder.get("text"),
                reply_markup=markup if isinstance(markup, dict) and "inline_keyboard" in markup else None,
                from_bot=sender.get("id") == self.bot_id,
            )
            self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)

    def fail_next(
        self, method: str, *, status: int, description: str, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Make the next `times` calls of `method` fail, e.g. status=429 with retry_after=5."""
        with self._lock:
            queue = self._failures.setdefault(method.lower(), deque())
            queue.extend(_APIError(status, description, retry_after=retry_after) for _ in range(times))

    def pending_updates(self) -> int:
        """Updates pushed but not yet confirmed by a getUpdates with a higher offset."""
        with self._lock:
            return len(self._pending)

    def put_file(self, file_id: str, content: bytes, *, file_unique_id: str | None = None) -> None:
        """A file Telegram holds (a photo a user sent): getFile finds it by `file_id`."""
        with self._lock:
            self._files[file_id] = _File(content=content, file_unique_id=file_unique_id or f"u-{file_id[-12:]}")

    def reset(self) -> None:
        """Forget the calls made so far; chats, messages and queued updates stay."""
        with self._lock:
            self._calls.clear()

    def _is_allowed(self, update_type: str) -> bool:
        if self._allowed_updates is None:
            return update_type not in _OPT_IN_UPDATE_TYPES
        return update_type in self._allowed_updates

    # --- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        match = _PATH.fullmatch(request.path)
        method = _BOT_API_METHODS.get(match["method"].lower(), match["method"]) if match else request.path
        params: dict = {}
        unreadable: _APIError | None = None
        try:
            params = await _read_params(request)
        except _APIError as error:  # refused below, after the checks Telegram makes first
            unreadable = error
        try:
            if match is None:
                raise _APIError(404, "Not Found")
            if match["token"] != self.token:
                raise _APIError(401, "Unauthorized")
            if method.lower() not in _BOT_API_METHODS:
                raise _APIError(404, "Not Found")
            self._raise_queued_failure(method)
            if unreadable is not None:
                raise unreadable
            params = _decode_params(params)
            result = await self._run(method, params)
            status, body = 200, {"ok": True, "result": result}
        except _APIError as error:
            status, body = error.status, error.body()
        with self._lock:
            self._calls.append(Call(method=method, params=params, status=status, response=body))
        return web.json_response(body, status=status, dumps=lambda data: json.dumps(data, ensure_ascii=False))

    def _raise_queued_failure(self, method: str) -> None:
        with self._lock:
            queue = self._failures.get(method.lower())
            if queue:
                raise queue.popleft()

    async def _run(self, method: str, params: dict) -> object:
        if method == "getUpdates":
            return await self._get_updates(params)
        handler = self._handlers.get(method)
        if handler is None:
            raise _APIError(501, f"Not Implemented: FakeBotAPI does not simulate {method} yet; add it in {__file__}")
        with self._lock:
            return handler(params)

    async def _download(self, request: web.Request) -> web.Response:
        """https://api.telegram.org/file/bot<token>/<file_path>: only a path getFile issued."""
        match = _FILE_PATH.fullmatch(request.path)
        with self._lock:
            found = None
            if match and match["token"] == self.token:
                found = next((f for f in self._files.values() if f.file_path == match["path"]), None)
            if found is None:
                body = {"ok": False, "error_code": 404, "description": "Not Found"}
                return web.json_response(body, status=404)
            self.downloads.append(found.file_path)
            return web.Response(body=found.content, content_type="application/octet-stream")

    # --- Methods (called with the lock held, except getUpdates)

    def _get_file(self, params: dict) -> dict:
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise _bad_request("file_id not specified")
        found = self._files.get(file_id)
        if found is None:
            raise _bad_request("invalid file_id")
        if len(found.content) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        # Telegram issues a path per request; it stays valid for at least an hour.
        if found.file_path is None:
            found.file_path = f"photos/file_{sum(f.file_path is not None for f in self._files.values())}.jpg"
        return {
            "file_id": file_id,
            "file_unique_id": found.file_unique_id,
            "file_size": len(found.content),
            "file_path": found.file_path,
        }

    def _chat(self, params: dict) -> dict:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if isinstance(chat_id, str):  # "@channelusername"
            chat_id = next((i for i, c in self._chats.items() if f"@{c.get('username')}" == chat_id), None)
        if chat_id not in self._chats:
            raise _bad_request("chat not found")
        return self._chats[chat_id]

    def _writable_chat(self, params: dict) -> dict:
        chat = self._chat(params)
        if chat["id"] in self._blocked:
            raise _APIError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _message_object(self, chat: dict, message_id: int, text: str, entities: list, markup: dict | None) -> dict:
        message = {"message_id": message_id, "from": bot_user(self.bot_id), "chat": chat, "date": int(time.time())}
        message["text"] = text
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        return message

    def _send_message(self, params: dict) -> dict:
        chat = self._writable_chat(params)
        text, entities = _visible_text(params)
        markup = _check_reply_markup(params.get("reply_markup"))
        _check_link_preview_options(params.get("link_preview_options"))
        self._check_reply_target(chat["id"], params)
        message_id = self._last_message_id.get(chat["id"], 0) + 1
        inline_markup = markup if markup and "inline_keyboard" in markup else None
        self._last_message_id[chat["id"]] = message_id
        self._messages[(chat["id"], message_id)] = _Message(
            text=params["text"], reply_markup=inline_markup, from_bot=True
        )
        return self._message_object(chat, message_id, text, entities, inline_markup)

    def _check_reply_target(self, chat_id: int, params: dict) -> None:
        reply = params.get("reply_parameters")
        reply = reply if isinstance(reply, dict) else {"message_id": params.get("reply_to_message_id")}
        if reply.get("message_id") is None or reply.get("allow_sending_without_reply"):
            return
        if (chat_id, reply["message_id"]) not in self._messages and not params.get("allow_sending_without_reply"):
            raise _bad_request("message to be replied not found")

    def _own_message(self, params: dict) -> tuple[dict, int, _Message]:
        chat = self._writable_chat(params)
        message_id = _int_param(params, "message_id", missing="message identifier is not specified")
        message = self._messages.get((chat["id"], message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        if not message.from_bot:
            raise _bad_request("message can't be edited")
        return chat, message_id, message

    def _edit_message_text(self, params: dict) -> dict | bool:
        if params.get("inline_message_id"):
            return True  # inline messages are not tracked: Telegram answers true to those edits
        chat, message_id, message = self._own_message(params)
        text, entities = _visible_text(params)
        markup = self._edit_markup(params)
        _check_link_preview_options(params.get("link_preview_options"))
        if message.text is None:
            raise _bad_request("there is no text in the message to edit")
        if (message.text, message.reply_markup) == (params["text"], markup):
            raise _bad_request(NOT_MODIFIED)
        message.text, message.reply_markup = params["text"], markup
        return {**self._message_object(chat, message_id, text, entities, markup), "edit_date": int(time.time())}

    def _edit_message_reply_markup(self, params: dict) -> dict | bool:
        if params.get("inline_message_id"):
            return True
        chat, message_id, message = self._own_message(params)
        markup = self._edit_markup(params)
        if message.reply_markup == markup:
            raise _bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        result = self._message_object(chat, message_id, message.text or "", [], markup)
        return {**result, "edit_date": int(time.time())}

    def _edit_markup(self, params: dict) -> dict | None:
        markup = _check_reply_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad_request("inline keyboard expected")
        return markup

    def _delete_message(self, params: dict) -> bool:
        chat = self._chat(params)
        message_id = _int_param(params, "message_id", missing="message identifier is not specified")
        if self._messages.pop((chat["id"], message_id), None) is None:
            raise _bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        # A query can be answered once; a second answer gets the same refusal as an unknown id.
        if query_id not in self._callback_ids:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        if _utf16_len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._callback_ids.discard(query_id)
        return True

    def _send_chat_action(self, params: dict) -> bool:
        self._writable_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _set_my_commands(self, params: dict) -> bool:
        commands = _check_commands(params.get("commands"))
        self._commands[_commands_key(params)] = commands
        return True

    def _delete_my_commands(self, params: dict) -> bool:
        self._commands.pop(_commands_key(params), None)
        return True

    def _set_webhook(self, params: dict) -> bool:
        _check_webhook(params)
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if not params.get("url"):
            self._webhook = {}  # Telegram treats an empty url as "remove the webhook"
            return True
        self._webhook = {"url": str(params["url"])}
        if isinstance(params.get("allowed_updates"), list):
            self._webhook["allowed_updates"] = params["allowed_updates"]
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        return True

    def _delete_webhook(self, params: dict) -> bool:
        self._webhook = {}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _get_webhook_info(self, _params: dict) -> dict:
        info = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if "allowed_updates" in self._webhook:
            info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    async def _get_updates(self, params: dict) -> list[dict]:
        with self._lock:
            if self._webhook.get("url"):
                raise _APIError(409, WEBHOOK_CONFLICT)
            self._confirm_updates(params.get("offset"))
            if isinstance(params.get("allowed_updates"), list):
                self._allowed_updates = frozenset(params["allowed_updates"]) or None
            # A newer getUpdates ends an older one, as on Telegram when two bot instances poll.
            self._poll_generation += 1
            generation = self._poll_generation
        limit = params.get("limit") if isinstance(params.get("limit"), int) else 100
        timeout = params.get("timeout") if isinstance(params.get("timeout"), int) else 0
        return await self._long_poll(generation, max(1, min(limit, 100)), min(timeout, MAX_LONG_POLL_SECONDS))

    async def _long_poll(self, generation: int, limit: int, timeout: float) -> list[dict]:
        arrived = self._updates_arrived
        assert arrived is not None
        arrived.set()  # wake an older poll so it notices it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Cleared before looking, so a push after the look still wakes the wait below.
            arrived.clear()
            with self._lock:
                if self._poll_generation != generation:
                    raise _APIError(409, POLLING_CONFLICT)
                batch = copy.deepcopy(self._pending[:limit])
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), remaining)

    def _confirm_updates(self, offset: object) -> None:
        if not isinstance(offset, int):
            return
        # Telegram forgets confirmed updates for good; a negative offset keeps only the last few.
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [update for update in self._pending if update["update_id"] >= offset]
