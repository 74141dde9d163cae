from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views

AUTH = "cabinet/auth/"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signin/telegram/", views.signin_telegram, name="signin_telegram"),
    path("signin/link/<str:token>/", views.signin_link, name="signin_link"),
    path("signout/", auth_views.LogoutView.as_view(), name="signout"),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name=AUTH + "password_reset_form.html",
            email_template_name=AUTH + "password_reset_email.txt",
            subject_template_name=AUTH + "password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name=AUTH + "password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name=AUTH + "password_reset_confirm.html",
            success_url=reverse_lazy("password_reset_complete"),
            # The emailed link proves the resident: they are let in at once, whatever lock
            # a guesser set on their name or on an address they share (a mobile network's).
            post_reset_login=True,
            post_reset_login_backend="django.contrib.auth.backends.ModelBackend",
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name=AUTH + "password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("link/", views.account_link, name="account_link"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/api-tokens/", views.api_tokens, name="api_tokens"),
    path("settings/email/", views.email_set, name="email_set"),
    path("settings/email/confirm/", views.email_resend, name="email_resend"),
    path("settings/reminders/<str:channel>/", views.reminder_channel_set, name="reminder_channel_set"),
    path("email/confirm/<str:token>/", views.email_confirm, name="email_confirm"),
    path("accounts/<str:number>/reminders/", views.reminders_set, name="reminders_set"),
    path("accounts/<str:number>/unlink/", views.account_unlink, name="account_unlink"),
]
