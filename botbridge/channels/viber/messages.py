"""The engine's answers as Viber messages (send_message's fields but `receiver`).

Viber cannot edit a sent message: a reply that replaces one is sent anew, and "only the options
change" puts the new options on the message just before it in the same answer (the notice), or
is dropped when there is none. A message with no keyboard makes Viber drop the custom keyboard,
so a reply that offers nothing carries the menu in effect after it (`Reply.standing`).
"""

from django.conf import settings

from botbridge.channels.parts import split
from botbridge.channels.viber.keyboards import keyboard
from botbridge.conversation import Answer, Choices, Menu, Notice

MAX_TEXT_LENGTH = 7000  # Viber's limit for a text message


def message(text: str, *groups: Choices | Menu | None) -> dict:
    payload: dict = {"sender": {"name": settings.VIBER_BOT_NAME}, "type": "text", "text": text}
    groups = tuple(group for group in groups if group is not None)
    if groups:
        payload["keyboard"], level = keyboard(*groups)
        if level > 1:
            payload["min_api_version"] = level
    return payload


def messages_of(answers: list[Answer]) -> list[dict]:
    """Viber shows the keyboard of the newest message only: options offered earlier in the same
    answer (an account's card before the question that follows it) stay on the keyboards of the
    messages after it, above their own menu, as Telegram keeps them on the earlier message."""
    out: list[dict] = []
    offered: Choices | None = None
    for answer in answers:
        if isinstance(answer, Notice):
            if answer.text:
                out.append(message(answer.text, offered))
            continue
        if answer.text is None:
            if answer.replaces:
                offered = answer.options if isinstance(answer.options, Choices) else None
            if answer.options is not None and out:
                out[-1] = message(out[-1]["text"], answer.options)
            continue
        if isinstance(answer.options, Choices):
            offered = answer.options
            groups: tuple = (offered,)
        else:
            # Viber has no way to keep a link from being previewed: a `secret` reply goes as it is.
            groups = (offered, answer.options or answer.standing)
        out += [message(part, *groups) for part in split(answer.text, MAX_TEXT_LENGTH)]
    return out
