"""The engine's answers as Messenger messages (the `message` objects of `POST me/messages`).

Messenger's limits (https://developers.facebook.com/docs/messenger-platform/send-messages):
a text of at most 2,000 characters; at most 13 quick replies, titles of at most 20 characters
and payloads of at most 1,000; a button template of at most 3 buttons (titles of at most 20)
under a text of at most 640. Messenger cannot edit a sent message and keeps no keyboard under
the input, so:

- A text too long for one message goes as several, split between lines; options go on the last.
- A `Menu` and `Choices` become quick replies (a menu's payload is its full label, which the
  engine reads as typed; an option's payload is its action and argument). Titles are the
  labels' short forms (`texts.short_label`); a label still too long is cut deliberately: see
  `title`.
- Quick replies show under the newest message only: options of a message that another
  message follows in the same answer (an account's card, then its question) go as button
  templates, three postback buttons each, the reply's text on the first; so do more than 13
  options, which quick replies cannot hold.
- A message that offers nothing carries its `standing` menu when that is Cancel (a question is
  waiting for its answer); the main menu is always at hand in the persistent menu.
- A reply that only changes options (`text=None`) puts them on the message before it in the
  same answer (a notice), or under "Choose an option:".
- A `Notice` with text is a message; an empty one is nothing.
"""

import logging

from botbridge import texts
from botbridge.channels.messenger.intake import label_payload, option_payload
from botbridge.channels.parts import ELLIPSIS, split
from botbridge.conversation import Answer, Choices, Menu, Notice

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_BUTTONS = 3
MAX_TEMPLATE_TEXT = 640


def messages(answers: list[Answer]) -> list[dict]:
    drafts: list[list] = []  # [text, options, standing menu], in order
    for answer in answers:
        if isinstance(answer, Notice):
            if answer.text:
                drafts.append([answer.text, None, None])
        elif answer.text is None:
            if answer.options is not None and drafts and drafts[-1][1] is None:
                drafts[-1][1] = answer.options  # Messenger cannot edit: the new options come with the notice
            elif answer.options is not None:
                drafts.append([texts.choose_option(), answer.options, None])
        else:
            standing = answer.standing if answer.standing is not None and not answer.standing.lasting else None
            drafts.append([answer.text, answer.options, standing])
    last = len(drafts) - 1
    return [
        message
        for i, (text, options, standing) in enumerate(drafts)
        # The standing menu matters under the newest message only: the one the resident answers.
        for message in with_options(text, options or (standing if i == last else None), i == last)
    ]


def with_options(text: str, options: Choices | Menu | None, last: bool) -> list[dict]:
    parts = split(text, MAX_TEXT)
    replies = quick_replies(options)
    if len(replies) <= MAX_QUICK_REPLIES and (last or not replies):
        final = {"text": parts[-1], "quick_replies": replies} if replies else {"text": parts[-1]}
        return [{"text": part} for part in parts[:-1]] + [final]
    # Quick replies show under the newest message only, and hold 13: options of a message that
    # another follows (an account's card, then its question), or too many, go as buttons that
    # stay: button templates of three, the reply's text on the first.
    buttons = [{"type": "postback", "title": title(reply["title"]), "payload": reply["payload"]} for reply in replies]
    first_text = text if len(text) <= MAX_TEMPLATE_TEXT else None
    result = [] if first_text else [{"text": part} for part in parts]
    for start in range(0, len(buttons), MAX_BUTTONS):
        caption = first_text if start == 0 and first_text else texts.choose_option()
        result.append(button_template(caption, buttons[start : start + MAX_BUTTONS]))
    return result


def button_template(text: str, buttons: list[dict]) -> dict:
    payload = {"template_type": "button", "text": text, "buttons": buttons}
    return {"attachment": {"type": "template", "payload": payload}}


def quick_replies(options: Choices | Menu | None) -> list[dict]:
    if isinstance(options, Menu):
        return [
            {"content_type": "text", "title": title(label), "payload": label_payload(label)}
            for row in options.rows
            for label in row
        ]
    if isinstance(options, Choices):
        return [
            {
                "content_type": "text",
                "title": title(option.label),
                "payload": option_payload(option.action, option.argument),
            }
            for row in options.rows
            for option in row
        ]
    return []


def title(label: str) -> str:
    """A button's title of at most 20 characters: the label's short form. One still too long
    (a meter's long serial) keeps its last whole words after "…", where a serial or a number
    tells buttons apart; a single word too long for that, its last characters."""
    short = texts.short_label(label)
    if len(short) <= MAX_TITLE:
        return short
    if short == label:
        logger.warning("messenger: the label %r has no short form of at most %s characters", label, MAX_TITLE)
    room = MAX_TITLE - len(ELLIPSIS)
    words = short.split()
    kept = words[-1][-room:]
    for word in reversed(words[:-1]):
        if len(word) + 1 + len(kept) > room - 1:
            break
        kept = f"{word} {kept}"
    return f"{ELLIPSIS} {kept}" if len(kept) < room else ELLIPSIS + kept
