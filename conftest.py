import datetime as dt
import zoneinfo

import pytest

# Real-browser fixtures (Playwright + Debian's Chromium) for every test in the repo.
pytest_plugins = ["portal.tests.browser"]

KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")


def kyiv(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """An aware datetime on the Kyiv wall clock, the time residents live by."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=KYIV)


@pytest.fixture
def on_postgres(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgresql://… (CI does)")
    return connection


@pytest.fixture(autouse=True)
def _ukrainian_after_each_test():
    """Back to the default language: a request in English leaves it active in the thread."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
