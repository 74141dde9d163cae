import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from portal.guards import WsgiBodyLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# Bodies without Content-Length read up to their limit, so a chunked upload cannot pass the body guard.
application = WsgiBodyLimit(get_wsgi_application())

if settings.TELEGRAM_BOT_TOKEN:
    # As in portal/asgi.py: load aiogram (seconds) as the worker starts, not on the first update,
    # which otherwise waited for it (under load past Telegram's patience: the bench's 30 s).
    import_module("botbridge.channels.telegram.dispatcher")
