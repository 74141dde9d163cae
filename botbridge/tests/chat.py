"""A resident talking to the bot: real update JSON in, the fake Bot API's record out.

`Conversation` does not care how updates reach the bot: the webhook (Django's test
client posting to /telegram/webhook/), long polling (the fake's getUpdates) or a
uvicorn process; each test picks a `deliver`.
"""

import asyncio
import json
import threading
from collections.abc import Callable

from aiogram import Bot
from django.test import override_settings

from botbridge.channels.telegram.dispatcher import bot_create, dispatcher, poll
from botbridge.tests import updates
from botbridge.tests.fake_bot_api import Call, FakeBotAPI
from botbridge.worker import events_work

SECRET = "test-webhook-secret-0123456789abcdef"
REPLIES = {"sendmessage", "editmessagetext", "editmessagereplymarkup", "answercallbackquery"}


class Conversation:
    def __init__(
        self, fake: FakeBotAPI, deliver: Callable[[dict], object], *, user_id: int = 111, language_code: str = "uk"
    ) -> None:
        self.fake = fake
        self.deliver = deliver
        self.user_id = user_id
        self.language_code = language_code

    def say(self, text: str) -> list[Call]:
        """Send `text`; the bot's replies to it."""
        return self.send(updates.message(text, user_id=self.user_id, language_code=self.language_code))

    def send(self, update: dict) -> list[Call]:
        before = len(self.fake.calls)
        self.fake.register_update(update)  # the chat exists for Telegram once its user writes
        self.deliver(update)
        return [call for call in self.fake.calls[before:] if call.method.lower() in REPLIES]

    def press(self, button: str) -> list[Call]:
        """Press the inline button labelled `button` on the newest bot message that has it."""
        for call in reversed(self.fake.sent_messages(self.user_id)):
            for candidate in self.fake.inline_buttons(call):
                if candidate["text"] == button:
                    message = call.response["result"]
                    update = updates.callback(
                        candidate["callback_data"],
                        user_id=self.user_id,
                        message_id=message["message_id"],
                        message_text=message["text"],
                        reply_markup=message.get("reply_markup"),
                        language_code=self.language_code,
                    )
                    return self.send(update)
        raise AssertionError(f"no button {button!r}; the bot said: {self.fake.texts(self.user_id)[-3:]}")


def webhook_deliver(client) -> Callable[[dict], None]:
    """Updates posted to /telegram/webhook/ through Django's test client, as Telegram would, then
    handled by a worker's drain of what the webhook stored."""

    def deliver(update: dict) -> None:
        with override_settings(BOT_EVENTS_INLINE=False):
            response = client.post(
                "/telegram/webhook/",
                data=json.dumps(update),
                content_type="application/json",
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
        assert response.status_code == 200, response.content
        events_work()  # what a worker does next (manage.py converse)

    return deliver


async def close_quickly(bot: Bot) -> None:
    """AiohttpSession.close() sleeps 250 ms for TLS connections; the fake has none."""
    await (await bot.session.create_session()).close()


def texts(calls: list[Call]) -> str:
    """Everything the replies said, messages and button alerts, as one text."""
    return "\n".join(call.params.get("text", "") for call in calls)


class Polling:
    """runbot's polling loop in a thread of its own, stoppable, one update at a time."""

    def __init__(self, fake: FakeBotAPI) -> None:
        self.fake = fake
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.bot: Bot | None = None

    def __enter__(self) -> "Polling":
        self.thread.start()
        self.fake.wait_for(lambda: bool(self.fake.calls_to("getUpdates")), timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        dp = dispatcher()
        asyncio.run_coroutine_threadsafe(dp.stop_polling(), self.loop).result(timeout=10)
        self.thread.join(timeout=10)
        # aiogram keeps the stop events of its first polling run, bound to that run's event
        # loop; runbot polls once per process, but the next test polls in a new loop.
        dp._stop_signal = dp._stopped_signal = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.bot = bot_create()
        try:
            # Sequential handling, so "the next getUpdates was asked" means "the update is done".
            self.loop.run_until_complete(poll(self.bot, handle_signals=False, handle_as_tasks=False, polling_timeout=1))
        finally:
            self.loop.run_until_complete(close_quickly(self.bot))
            self.loop.close()

    def deliver(self, update: dict) -> None:
        self.fake.push_update(update)
        # Handled one at a time: once the bot confirms the update by asking for the next ones, it is done.
        self.fake.wait_for(lambda: self.fake.pending_updates() == 0, timeout=10)
