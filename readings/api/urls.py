from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from readings.api import schema, views  # noqa: F401 - schema's token scheme registers itself with drf-spectacular

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up code as a file: the CSP allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/window/", views.WindowView.as_view(), name="api-window"),
    path("v1/auth/token/", views.TokenView.as_view(), name="api-token"),
    path("v1/accounts/", views.AccountsView.as_view(), name="api-accounts"),
    path("v1/accounts/<str:number>/", views.AccountView.as_view(), name="api-account"),
    path("v1/accounts/<str:number>/readings/", views.ReadingsView.as_view(), name="api-readings"),
    path("v1/export/readings/", views.ExportView.as_view(), name="api-export"),
]
