import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

django_application = get_wsgi_application()  # sets Django up: the modules below use its settings

from portal.guards import WsgiBodyLimit  # noqa: E402
from portal.intake import WebhookIntakeWSGI  # noqa: E402

# The bots' webhooks taken without Django's request machinery (portal/intake.py); it takes only
# bodies of a declared length within their limit, and leaves every other body to the guard, which
# reads a body without Content-Length up to its limit so a chunked upload cannot pass it.
application = WebhookIntakeWSGI(WsgiBodyLimit(django_application))

if settings.TELEGRAM_BOT_TOKEN:
    # As in portal/asgi.py: load aiogram (seconds) as the worker starts, not on the first update,
    # which otherwise waited for it (under load past Telegram's patience: the bench's 30 s).
    import_module("botbridge.channels.telegram.dispatcher")
