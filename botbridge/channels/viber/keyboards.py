"""The engine's options as Viber keyboards, and a tapped button's text back into an event.

A Viber keyboard replaces the phone's own; a tap on a `reply` button sends its `ActionBody` as
a text message from the resident. A menu's buttons send their label, which the engine reads as
`Text(label)`. A choice's button sends `PREFIX` + action + ":" + argument, silently (the chat
does not show it), and comes back as `Choice(action, argument)`; a resident who types such a
text is handed to the engine like any other, which refuses a choice that is not theirs.
"""

import logging

from botbridge.conversation import COMMANDS, Choice, Choices, Command, Event, Menu, Option, Text

logger = logging.getLogger(__name__)

PREFIX = "⁣pk:"  # an invisible separator first: no keyboard types it
MAX_BUTTONS = 24  # Viber's limit of buttons on one keyboard
COLUMNS = 6  # a keyboard is six columns wide; a button spans 1 to 6
MAX_BUTTON_TEXT = 250
# `Silent` (the tap is not shown in the chat) is a keyboard feature of API level 4.
SILENT_API_LEVEL = 4


def keyboard(*groups: Choices | Menu) -> tuple[dict, int]:
    """One keyboard of the groups' buttons, in order, and the lowest API level that shows it."""
    rows: list[list[dict]] = []
    level = 1
    for options in groups:
        if isinstance(options, Menu):
            rows += [[_button(label, label) for label in row] for row in options.rows]
        else:
            rows += [
                [_button(option.label, action_body(option), silent=True) for option in row] for row in options.rows
            ]
            level = SILENT_API_LEVEL
    return {"Type": "keyboard", "DefaultHeight": False, "Buttons": _at_most(rows)}, level


def _button(text: str, body: str, *, silent: bool = False) -> dict:
    button = {"ActionType": "reply", "ActionBody": body, "Text": text[:MAX_BUTTON_TEXT], "Rows": 1}
    if silent:
        button["Silent"] = True
    return button


def _at_most(rows: list[list[dict]]) -> list[dict]:
    """Every row's buttons share its six columns (at most three a row, so labels stay readable).

    More than `MAX_BUTTONS` options (a resident with two dozen accounts): the first ones and the
    last one (the way back) are kept, and the cut is logged."""
    laid: list[list[dict]] = []
    for row in rows:
        for start in range(0, len(row), 3):
            chunk = row[start : start + 3]
            laid.append([{**button, "Columns": COLUMNS // len(chunk)} for button in chunk])
    buttons = [button for row in laid for button in row]
    if len(buttons) > MAX_BUTTONS:
        logger.warning("Viber keyboard of %s buttons cut to %s", len(buttons), MAX_BUTTONS)
        buttons = [*buttons[: MAX_BUTTONS - 1], buttons[-1]]
    return buttons


def action_body(option: Option) -> str:
    return f"{PREFIX}{option.action}:{option.argument}"


def event_of_text(text: str) -> Event:
    """A text message: a choice's button, a command typed the Telegram way, or text."""
    if text.startswith(PREFIX):
        action, _, argument = text[len(PREFIX) :].partition(":")
        return Choice(action, argument)
    words = text.split(maxsplit=1)
    if words and words[0].startswith("/") and words[0][1:].lower() in COMMANDS:
        return Command(words[0][1:].lower())
    return Text(text)
