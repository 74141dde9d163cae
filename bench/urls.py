"""The portal's URLs and /bench/empty/ (bench/settings.py), appended last so the portal's own resolve as before."""

from django.http import HttpResponse
from django.urls import path

from portal.urls import handler500  # noqa: F401 (handler500: Django reads it here)
from portal.urls import urlpatterns as portal_urlpatterns


def empty(request):
    return HttpResponse(b"", content_type="text/plain")


urlpatterns = [*portal_urlpatterns, path("bench/empty/", empty)]
