from django.contrib import admin
from django.urls import path

from portal import health

admin.site.site_header = "Pokaznyk"
admin.site.site_title = "Pokaznyk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
]
