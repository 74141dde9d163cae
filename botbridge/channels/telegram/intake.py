"""A webhook body read as a Telegram update: what Telegram never sends is refused, what the
database cannot store is mended, before aiogram or the database sees it."""

import json

from aiogram.types import Update
from pydantic import ValidationError

# Telegram's ids have at most 52 significant bits (Bot API, "chat_id"), so every integer it
# sends fits the 64-bit columns that store update, user and chat ids; a larger one is not
# Telegram's and would overflow them.
INT64 = range(-(2**63), 2**63)
# An update nests a message in a reply in a message a dozen levels at most.
MAX_DEPTH = 32
# PostgreSQL refuses NUL in text and JSON. Telegram's apps do not let anyone type one, but a
# name or a text is the user's own: U+FFFD keeps its place (entity offsets count UTF-16 units).
NUL, REPLACEMENT = "\x00", "\ufffd"


class NotAnUpdate(ValueError):
    """The body is not a Telegram update; the webhook answers 400."""


def update_parse(body: bytes) -> Update:
    return update_read(body)[1]


def update_read(body: bytes) -> tuple[dict, Update]:
    """The update as JSON (checked and mended: what is stored for the workers) and as aiogram's."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise NotAnUpdate(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise NotAnUpdate("not a JSON object")
    _mend(data)
    try:
        return data, Update.model_validate(data)
    except ValidationError as error:
        raise NotAnUpdate(str(error)) from None


def chat_of(data: dict) -> str:
    """Whose conversation the update belongs to, which orders it among the others: the person
    (the conversation's state is theirs), or the chat when no person sent it (a channel post)."""
    for kind, part in data.items():
        if kind == "update_id" or not isinstance(part, dict):
            continue
        person, chat = part.get("from"), part.get("chat")
        if isinstance(person, dict) and person.get("id") is not None:
            return str(person["id"])
        if isinstance(chat, dict) and chat.get("id") is not None:
            return f"chat:{chat['id']}"
    return f"update:{data.get('update_id')}"


def _mend(data: dict) -> None:
    """Every integer checked and every NUL replaced, in place; walked without recursion."""
    stack: list[tuple[dict | list, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise NotAnUpdate(f"nested deeper than {MAX_DEPTH} levels")
        for key, value in list(node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(value, str) and NUL in value:
                node[key] = value.replace(NUL, REPLACEMENT)
            elif isinstance(value, int) and not isinstance(value, bool) and value not in INT64:
                raise NotAnUpdate(f"{key}: {value} does not fit 64 bits")
            elif isinstance(value, dict | list):
                stack.append((value, depth + 1))
