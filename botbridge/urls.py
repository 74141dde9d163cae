from django.urls import path

from botbridge import views

app_name = "botbridge"
urlpatterns = [path("webhook/", views.webhook, name="webhook")]
