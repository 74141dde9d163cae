"""python manage.py messenger_setup"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from botbridge.channels.messenger import graph
from botbridge.channels.messenger.profile import profile, too_long
from botbridge.outbound import Sent


class Command(BaseCommand):
    help = "Set the Page's Messenger profile: the Get Started button, the greeting and the persistent menu."

    def handle(self, *args, **options) -> None:
        if not settings.MESSENGER_PAGE_ACCESS_TOKEN:
            raise CommandError("MESSENGER_PAGE_ACCESS_TOKEN is not set.")
        body = profile()
        problems = too_long(body)
        if problems:
            raise CommandError("; ".join(problems))
        outcome = graph.post("messenger_profile", body)
        if not isinstance(outcome, Sent):
            raise CommandError(f"Messenger refused the profile: {outcome}")
        self.stdout.write(self.style.SUCCESS(f"Get Started button: payload {body['get_started']['payload']!r}"))
        for greeting in body["greeting"]:
            self.stdout.write(f"Greeting ({greeting['locale']}): {greeting['text']}")
        for menu in body["persistent_menu"]:
            titles = " | ".join(button["title"] for button in menu["call_to_actions"])
            self.stdout.write(f"Persistent menu ({menu['locale']}): {titles}")
