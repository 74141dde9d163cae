"""The bot's conversation, with no messenger in it: every channel is an adapter around it.

One entry point, synchronous and atomic::

    converse(*, channel, user_key, user, event, language, name="") -> list[Answer]

`channel` names the channel ("telegram"), `user_key` is the person's id there (the
Telegram user id, as a string), `user` the portal user the channel resolved them to (None
only for `NotPrivate`), `language` the language to answer in ("uk", "en") and `name` what
the channel calls the person (the greeting uses it).

Events (`events.py`): `Text`, `Choice` (an offered option chosen: action and argument),
`Command` (start, help, cancel, accounts, login, add), `Photo` (a picture's bytes, which a
channel that can fetch them reports: attached to a reading as evidence), `Unreadable` (a
sticker, voice, file, location, contact, a photo on a channel that does not fetch it; or an
edited message) and `NotPrivate` (a group or a channel).

Answers (`replies.py`), in order: `Reply` (a text, with a `Menu` of labels kept under the
input or `Choices` attached to the message; it may replace the message whose option was
chosen) and `Notice` (the short answer to the chosen option itself).

The engine decides every step: which step follows which answer, what each refusal leads
to, which options are offered. It writes only through the portal's services. Where the
conversation stands is a `botbridge.models.ConversationState` row per (channel, user key),
locked for the duration of one event.
"""

from botbridge.conversation import menus
from botbridge.conversation.engine import CONFIRM, NUMBER, READING, SERIAL, converse
from botbridge.conversation.events import COMMANDS, Choice, Command, Event, NotPrivate, Photo, Text, Unreadable
from botbridge.conversation.replies import Answer, Choices, Menu, Notice, Option, Reply

__all__ = [
    "COMMANDS",
    "CONFIRM",
    "NUMBER",
    "READING",
    "SERIAL",
    "Answer",
    "Choice",
    "Choices",
    "Command",
    "Event",
    "Menu",
    "NotPrivate",
    "Notice",
    "Option",
    "Photo",
    "Reply",
    "Text",
    "Unreadable",
    "converse",
    "menus",
]
