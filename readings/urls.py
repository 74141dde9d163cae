from django.urls import path

from readings import photo_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("quick/", views.quick_submit, name="quick_submit"),
    path("accounts/<str:number>/", views.account, name="account"),
    path("accounts/<str:number>/history/", views.history, name="history"),
    path("accounts/<str:number>/history.csv", views.history_csv, name="history_csv"),
    path("readings/<int:reading_id>/photo/", photo_views.reading_photo, name="reading_photo"),
    path("photos/<int:photo_id>/", photo_views.photo_file, name="photo_file"),
]
