"""A resident talking to the conversation engine directly: no HTTP, no aiogram, no Bot API.

`EngineChat` speaks like `chat.Conversation` (`say`, `press`), so the same walks through
the conversation run at the engine's speed; what it reads back are the engine's answers.
"""

from accounts.identities import channel_identity_resolve
from botbridge.conversation import COMMANDS, Answer, Choice, Choices, Command, Event, Menu, Reply, Text, converse

BOT_USERNAME = "pokaznyk_test_bot"  # the fake Bot API's getMe


def typed(text: str) -> Event:
    """A typed text as a Telegram client reports it: /command[@this bot] [args] is a command."""
    words = text.split(maxsplit=1)
    if words and words[0].startswith("/"):
        name, _, mention = words[0][1:].partition("@")
        if name in COMMANDS and (not mention or mention.lower() == BOT_USERNAME.lower()):
            return Command(name)
    return Text(text)


class EngineChat:
    def __init__(self, *, user_id: int = 111, language: str = "uk", name: str = "Марія") -> None:
        self.user_id = user_id
        self.language = language
        self.name = name
        self.user = channel_identity_resolve(
            channel="telegram", external_id=str(user_id), display_name=name, language_code=language
        )
        self.answers: list[Answer] = []  # everything the engine said, in order

    def send(self, event: Event) -> list[Answer]:
        answers = converse(
            channel="telegram",
            user_key=str(self.user_id),
            user=self.user,
            event=event,
            language=self.language,
            name=self.name,
        )
        self.answers += answers
        return answers

    def say(self, text: str) -> list[Answer]:
        return self.send(typed(text))

    def press(self, label: str) -> list[Answer]:
        """Choose the option labelled `label` on the newest reply that offers it."""
        for reply in reversed(self.answers):
            for option in options(reply):
                if option.label == label:
                    return self.send(Choice(option.action, option.argument))
        raise AssertionError(f"no option {label!r}; the engine said: {said(self.answers[-3:])}")


def options(answer: Answer) -> list:
    if isinstance(answer, Reply) and isinstance(answer.options, Choices):
        return [option for row in answer.options.rows for option in row]
    return []


def menu(answer: Answer) -> list[list[str]]:
    if isinstance(answer, Reply) and isinstance(answer.options, Menu):
        return [list(row) for row in answer.options.rows]
    return []


def said(answers: list[Answer]) -> str:
    """Everything the answers said, messages and notices, as one text."""
    return "\n".join(answer.text or "" for answer in answers)
