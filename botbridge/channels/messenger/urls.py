from django.urls import path

from botbridge.channels.messenger import views

app_name = "messenger"
urlpatterns = [path("webhook/", views.webhook, name="webhook")]
