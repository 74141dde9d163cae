import os
from importlib import import_module

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

django_application = get_asgi_application()  # sets Django up: the modules below use its settings

from portal.guards import BodyLimit  # noqa: E402
from portal.intake import WebhookIntake  # noqa: E402

# Request bodies counted as they arrive, so a chunked upload cannot fill the disk before a view
# runs; the bots' webhooks taken without Django's request machinery (portal/intake.py).
application = BodyLimit(WebhookIntake(django_application))

if settings.TELEGRAM_BOT_TOKEN:
    # This server takes the bot's webhook: load aiogram (seconds) now, as it starts, rather than
    # inside the event loop on the first update, where every other request would wait for it.
    # Without the token no process loads it (botbridge/views.py).
    import_module("botbridge.channels.telegram.dispatcher")
