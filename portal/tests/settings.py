"""The settings pytest runs with (pyproject.toml): portal.settings under the development default
that `make` exports, DJANGO_DEBUG=1, so a plain `.venv/bin/pytest` runs as `make test` does.

pytest-django reads the settings before any conftest.py runs, so the default is set here. The
environment still decides (DJANGO_DEBUG=0 pytest ...). Nothing outside pytest names this module:
manage.py, asgi.py, wsgi.py and celery.py name portal.settings, where DEBUG stays off unless
DJANGO_DEBUG turns it on.
"""

import os

from django.contrib.auth.hashers import PBKDF2PasswordHasher

os.environ.setdefault("DJANGO_DEBUG", "1")

from portal.settings import *  # noqa: F403


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 with one iteration: its million (about half a second here) made every
    sign-up and sign-in of the tests wait. A hash keeps its iteration count, so the portal run
    as a process of its own (portal.settings) still verifies the passwords the tests set."""

    iterations = 1


PASSWORD_HASHERS = ["portal.tests.settings.QuickPBKDF2PasswordHasher"]
