import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

django_application = get_wsgi_application()  # sets Django up: the module below uses its settings

from portal.intake import WebhookIntakeWSGI  # noqa: E402

# The bots' webhooks taken without Django's request machinery (portal/intake.py).
application = WebhookIntakeWSGI(django_application)
