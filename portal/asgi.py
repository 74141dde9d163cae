import os

from django.core.asgi import get_asgi_application

from portal.guards import BodyLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# Request bodies counted as they arrive, so a chunked upload cannot fill the disk before a view runs.
application = BodyLimit(get_asgi_application())
