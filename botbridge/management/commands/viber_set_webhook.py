"""python manage.py viber_set_webhook URL"""

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from botbridge.channels.viber import api

# The callbacks Viber may leave out (`message`, `webhook` and the rest always come). Not
# `delivered` and `seen`: the bot reads neither, and they would double the webhook's traffic.
EVENT_TYPES = ["subscribed", "unsubscribed", "conversation_started", "failed"]
# Viber calls the URL with a `webhook` event before it answers: give it time.
SET_WEBHOOK_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class Command(BaseCommand):
    help = "Register URL (https://…/viber/webhook/) as the Viber bot's webhook; the portal must already serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")

    def handle(self, *args, url: str, **options) -> None:
        if not settings.VIBER_AUTH_TOKEN:
            raise CommandError("VIBER_AUTH_TOKEN is not set.")
        payload = {"url": url, "event_types": EVENT_TYPES, "send_name": True, "send_photo": False}
        answer = api.call("set_webhook", payload, timeout=SET_WEBHOOK_TIMEOUT)
        if not answer.ok:
            raise CommandError(
                f"Viber refused the webhook {url}: status {answer.status} {answer.message}. Viber calls the URL "
                "while setting it: it must be HTTPS with a trusted certificate and already serve the portal."
            )
        events = ", ".join(answer.body.get("event_types") or EVENT_TYPES)
        self.stdout.write(self.style.SUCCESS(f"Webhook set: {url} (events: {events})"))
