#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - reads the environment now, to fail with its own message
    except ImproperlyConfigured as error:
        # Django would carry on and fail later with an unrelated traceback.
        sys.exit(f"Pokaznyk is not configured: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
