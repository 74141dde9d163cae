import datetime as dt
import zoneinfo
from collections.abc import Iterator

import pytest

# Real-browser fixtures (Playwright + Debian's Chromium) and the portal under uvicorn, for every test.
pytest_plugins = ["portal.tests.browser", "portal.tests.servers"]

KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")


def kyiv(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """An aware datetime on the Kyiv wall clock, the time residents live by."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=KYIV)


def migrate_to(*targets: tuple[str, str]):
    """Migrate the test database to `targets` (app, migration) and return the apps as they were
    then, for a migration's test; the test migrates back to the latest when it is done."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(list(targets))
    executor.loader.build_graph()
    return executor.loader.project_state(list(targets)).apps


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]):
    """The tests marked slow first, before the orders the plugins keep: pytest-django's (tests in
    a transaction, then transactional ones, then those without a database) and the browser's
    (its tests last). Their sorts are stable, so the slow tests lead each of those groups.
    pytest-xdist hands tests out in this order: a long test left for the end of a group would
    keep one worker busy while the other has nothing to do."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    return (yield)


# --- The fake Telegram Bot API: the bot, reminders and review notices talk to it -------------


@pytest.fixture
def fake_bot_api() -> Iterator:
    """A fake Bot API server on 127.0.0.1 for this test only; point TELEGRAM_API_BASE at its base_url."""
    from botbridge.tests.fake_bot_api import FakeBotAPI

    with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
def bot_settings(settings, fake_bot_api):
    """The bot on, talking to the fake Bot API, with a webhook secret."""
    from botbridge.tests.chat import SECRET

    settings.TELEGRAM_BOT_TOKEN = fake_bot_api.token
    settings.TELEGRAM_API_BASE = fake_bot_api.base_url
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    return settings


@pytest.fixture
def fake_smtp() -> Iterator:
    """A fake mail server on 127.0.0.1 for this test only (botbridge/tests/fake_smtp.py)."""
    from botbridge.tests.fake_smtp import FakeSMTP

    with FakeSMTP() as fake:
        yield fake


@pytest.fixture
def smtp_settings(settings, fake_smtp):
    """Emails go out over SMTP, through Django's SMTP backend, to the fake mail server."""
    from django.core.cache import caches

    from botbridge.sending import lock_key

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", fake_smtp.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_CHANNEL = "smtp"
    settings.EMAIL_RATE = 100
    settings.PORTAL_URL = "https://pokaznyk.example.ua"
    caches["locks"].delete(lock_key("email"))
    return settings


@pytest.fixture
def eager_celery():
    """Tasks run in the test's process, as in the embedded setup, whatever the broker."""
    from portal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def on_postgres(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgresql://… (CI does)")
    return connection


@pytest.fixture(autouse=True)
def _empty_caches():
    """Each test starts with empty caches. Throttles count in the cache, and tests travel to the
    same frozen moment under the same user ids (SQLite reuses a rolled-back test's ids): counts
    left by earlier tests of the worker answered a later test's first reading with 429."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def _ukrainian_after_each_test():
    """Back to the default language: a request in English leaves it active in the thread."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def photos_dir(settings, tmp_path):
    """Meter photos stored in a directory of this test's own (the "photos" storage)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "photos": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path
