"""A resident talking to the Messenger bot: webhook POSTs of real Messenger JSON in, the fake
Graph API's record of accepted messages out."""

from django.test import override_settings

from botbridge.tests import fake_graph as graph
from botbridge.tests.fake_graph import Call, FakeGraphAPI
from botbridge.worker import events_work

PSID = "24886731224305179"


class MessengerChat:
    def __init__(self, client, fake: FakeGraphAPI, *, psid: str = PSID) -> None:
        self.client, self.fake, self.psid = client, fake, psid
        self.channel = "messenger"
        self.user_id = psid  # as bad_input's helpers call the resident

    def send(self, *events: dict) -> list[Call]:
        """Deliver the events in one POST; the messages Messenger accepted for this resident since."""
        before = len(self.fake.calls)
        with override_settings(BOT_EVENTS_INLINE=False):
            response = graph.signed_post(self.client, graph.body(list(events)), fake=self.fake)
        assert response.status_code == 200, response.content
        events_work()  # what a worker does next (manage.py converse)
        return [
            call
            for call in self.fake.calls[before:]
            if call.edge == "messages" and call.ok and call.body["recipient"]["id"] == self.psid
        ]

    def say(self, text: str) -> list[Call]:
        return self.send(graph.message(self.psid, text))

    def postback(self, payload: str) -> list[Call]:
        return self.send(graph.postback(self.psid, payload))

    def press(self, title: str) -> list[Call]:
        """Tap the quick reply or button titled `title` on the newest message that has it."""
        for call in reversed(self.fake.sent(self.psid)):
            message = call.body["message"]
            for reply in message.get("quick_replies", []):
                if reply["title"] == title:
                    return self.send(graph.message(self.psid, title, quick_reply=reply["payload"]))
            template = message.get("attachment", {}).get("payload", {})
            for button in template.get("buttons", []):
                if button["title"] == title:
                    return self.send(graph.postback(self.psid, button["payload"], title=title))
        raise AssertionError(f"no option {title!r}; the bot said: {self.fake.sent(self.psid)[-3:]}")


def texts(calls: list[Call]) -> str:
    """Everything the messages said, as one text."""
    said = []
    for call in calls:
        message = call.body["message"]
        said.append(message.get("text") or message.get("attachment", {}).get("payload", {}).get("text", ""))
    return "\n".join(said)


def titles(call: Call) -> list[str]:
    message = call.body["message"]
    buttons = message.get("quick_replies") or message.get("attachment", {}).get("payload", {}).get("buttons", [])
    return [button["title"] for button in buttons]
