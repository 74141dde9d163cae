"""The settings pytest runs with (pyproject.toml): portal.settings under the development default
that `make` exports, DJANGO_DEBUG=1, so a plain `.venv/bin/pytest` runs as `make test` does.

pytest-django reads the settings before any conftest.py runs, so the default is set here. The
environment still decides (DJANGO_DEBUG=0 pytest ...). Nothing outside pytest names this module:
manage.py, asgi.py, wsgi.py and celery.py name portal.settings, where DEBUG stays off unless
DJANGO_DEBUG turns it on.
"""

import os
from urllib.parse import urlsplit

from django.contrib.auth.hashers import PBKDF2PasswordHasher

os.environ.setdefault("DJANGO_DEBUG", "1")

# pytest-xdist's workers (make test runs two) would share one Redis database, where tests clear
# the cache and celery workers take tasks from the broker's queues: worker gwN takes the given
# database number plus N (PostgreSQL's test databases pytest-django already names per worker).
# Set before the settings read REDIS_URL, and in the environment, for the processes tests start.
_worker, _redis = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("REDIS_URL", "")
if _worker.startswith("gw") and _redis:
    _parts = urlsplit(_redis)
    _database = int(_parts.path.strip("/") or 0) + int(_worker[2:])
    os.environ["REDIS_URL"] = _parts._replace(path=f"/{_database}").geturl()

from portal.settings import *  # noqa: E402, F403


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 with one iteration: its million (about half a second here) made every
    sign-up and sign-in of the tests wait. A hash keeps its iteration count, so the portal run
    as a process of its own (portal.settings) still verifies the passwords the tests set."""

    iterations = 1


PASSWORD_HASHERS = ["portal.tests.settings.QuickPBKDF2PasswordHasher"]
