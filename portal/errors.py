"""What the portal answers when it fails: a 503 while the database is unreachable, else a 500.

Django calls the URLconf's handler500 for an exception from any view or middleware, inside
the `except` that caught it; so one place tells an outage (a restart, a full pool, a network
cut: retry soon) from a bug. The API gets its error shape, pages a plain page; neither may
touch the database.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.defaults import server_error as page_server_error

RETRY_AFTER_SECONDS = 10


def server_error(request: HttpRequest) -> HttpResponse:
    outage = isinstance(sys.exc_info()[1], OperationalError | InterfaceError)
    api = request.path.startswith("/api/")
    if outage:
        if api:
            body = {"code": "service_unavailable", "detail": _("The service is briefly unavailable. Try again soon.")}
            response = JsonResponse(body, status=503)
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if api:
        return JsonResponse({"code": "server_error", "detail": _("Something went wrong on our side.")}, status=500)
    return page_server_error(request)
