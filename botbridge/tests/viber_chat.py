"""A resident talking to the Viber bot: Viber's callbacks in through the webhook, the fake Viber's
record out. Speaks like `chat.Conversation` (`say`, `press`), so the corpus's steps walk it too."""

from django.test import override_settings

from botbridge.tests import fake_viber
from botbridge.tests.fake_viber import Call, FakeViber
from botbridge.worker import events_work

USER_ID = "K917PBuvPZmhKfb8Vw3b2Q=="


class ViberChat:
    channel = "viber"

    def __init__(self, fake: FakeViber, client, *, user_id: str = USER_ID, language: str = "uk", name: str = "Марія"):
        self.fake = fake
        self.client = client
        self.user_id = user_id
        self.who = {"name": name, "language": language}

    def start(self) -> list[Call]:
        """The resident opens the chat (not subscribed yet): the welcome comes in the webhook's answer."""
        return self.send(fake_viber.conversation_started(self.user_id, **self.who))

    def say(self, text: str) -> list[Call]:
        return self.send(fake_viber.message_callback(self.user_id, text, **self.who))

    def send(self, callback: dict) -> list[Call]:
        before = len(self.fake.calls)
        with override_settings(BOT_EVENTS_INLINE=False):
            response = self.fake.deliver(self.client, callback)
        assert response.status_code == 200, response.content
        events_work()  # what a worker does next (manage.py converse)
        return [call for call in self.fake.calls[before:] if call.method in ("send_message", fake_viber.WELCOME)]

    def press(self, label: str) -> list[Call]:
        """Tap the button labelled `label` on the keyboard Viber shows: the newest message's."""
        messages = self.fake.messages(self.user_id)
        for button in FakeViber.buttons(messages[-1]) if messages else []:
            if button["Text"] == label:
                return self.say(button["ActionBody"])
        shown = FakeViber.button_texts(messages[-1]) if messages else []
        raise AssertionError(f"no button {label!r} on the keyboard {shown}; the bot said: {self.fake.texts()[-3:]}")


def said(calls: list[Call]) -> str:
    return "\n".join(call.params.get("text", "") for call in calls)
