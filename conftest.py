import datetime as dt
import zoneinfo

import pytest

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
