from django.urls import path

from botbridge.channels.viber import views

app_name = "viber"
urlpatterns = [path("webhook/", views.webhook, name="webhook")]
