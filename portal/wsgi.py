import os

from django.core.wsgi import get_wsgi_application

from portal.guards import WsgiBodyLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# Bodies without Content-Length read up to their limit, so a chunked upload cannot pass the body guard.
application = WsgiBodyLimit(get_wsgi_application())
