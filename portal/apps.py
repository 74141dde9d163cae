"""Django's admin, discovered when something needs it rather than in every start of Django."""

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


class AdminConfig(SimpleAdminConfig):
    """The admin's modules (every app's admin.py, and what they import) are read by the URLconf,
    which serves the admin, and by the admin's system checks. Django's own AdminConfig reads them
    as every process starts: the phone menu's server, celery's workers and beat and the bots
    serve no admin page and paid about 0.4 s of CPU each for it."""

    def ready(self) -> None:
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(admin_checked_once_discovered, checks.Tags.admin)


def admin_checked_once_discovered(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Django's check of the registered ModelAdmins, after registering them: the checks may run
    before anything has read the URLconf (`manage.py check`, runserver's start)."""
    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)
