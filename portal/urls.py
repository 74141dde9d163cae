from django.contrib import admin
from django.urls import include, path

from accounts.views import language_set
from portal import health, reference

admin.autodiscover()  # every app's admin.py (portal.apps.AdminConfig leaves it to the URLconf)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("reference/", reference.reference, name="reference"),
    path(f"reference/{reference.EXAMPLE_CSV}", reference.example_csv, name="reference_example_csv"),
    path("telegram/", include("botbridge.urls")),
    path("viber/", include("botbridge.channels.viber.urls")),
    path("messenger/", include("botbridge.channels.messenger.urls")),
    path("api/", include("readings.api.urls")),
    # Django's language switch, noting a signed-in resident's choice (their emails' language).
    path("i18n/setlang/", language_set, name="set_language"),
    path("", include("accounts.urls")),
    path("", include("readings.urls")),
]

# A 503 while the database is unreachable, the API's error shape under /api/ (portal/errors.py).
handler500 = "portal.errors.server_error"
