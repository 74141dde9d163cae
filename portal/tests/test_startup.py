"""What a process loads as it starts: aiogram only where the Telegram bot runs, the admin's modules
only where the admin is served or checked.

aiogram took most of every start of Django (seconds): migrate, seed_demo, runserver and its
reloader's restarts, the tests. Checked in a child process, as those processes start.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# A process that serves the portal with every bot off: the system checks (every URLconf and view),
# what runserver and uvicorn serve, every URL pattern's view, a celery worker's tasks, requests
# to the pages, the API's schema, the admin and the Telegram webhook. Then the same webhook
# with the bot on, which must load aiogram: it shows the check below can see it.
CHILD = """
import json, sys
import django

django.setup()
ADMINS = ("accounts.admin", "readings.admin", "botbridge.admin")
admin_at_start = [name for name in ADMINS if name in sys.modules]
from django.conf import settings
from django.core.management import call_command
from django.core.servers.basehttp import get_internal_wsgi_application
from django.test import Client
from django.urls import URLResolver, get_resolver

def aiogram():
    return sorted(name for name in sys.modules if name.partition(".")[0] == "aiogram")

def views(patterns):
    for pattern in patterns:
        yield from views(pattern.url_patterns) if isinstance(pattern, URLResolver) else [pattern.callback]

call_command("check")
from django.contrib import admin
admin_checked = sorted({model._meta.app_label for model in admin.site._registry})
get_internal_wsgi_application()
import portal.asgi
from portal.celery import app
app.loader.import_default_modules()
client = Client(HTTP_HOST="localhost")
answers = {path: client.get(path).status_code for path in ("/", "/healthz", "/api/schema/", "/admin/login/")}
answers["webhook"] = client.post("/telegram/webhook/", b"{}", content_type="application/json").status_code
result = {"views": len(list(views(get_resolver().url_patterns))), "answers": answers, "loaded": aiogram()}
result["admin at start"], result["admin checked"] = admin_at_start, admin_checked

settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_WEBHOOK_SECRET = "123:token", "secret"
headers = {"X-Telegram-Bot-Api-Secret-Token": "secret"}
answer = client.post("/telegram/webhook/", b"{}", content_type="application/json", headers=headers)
result["bot on"] = answer.status_code
result["loaded with the bot on"] = aiogram()
print(json.dumps(result))
"""


def test_no_process_without_the_bot_loads_aiogram():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_", "DATABASE_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": "sqlite://:memory:",
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.splitlines()[-1])
    assert result["views"] > 50
    assert result["answers"] == {"/": 302, "/healthz": 200, "/api/schema/": 200, "/admin/login/": 200, "webhook": 404}
    assert result["loaded"] == []
    # The admin's modules: not read by django.setup() (portal.apps.AdminConfig), read by its checks.
    assert result["admin at start"] == []
    assert {"accounts", "readings", "botbridge"} <= set(result["admin checked"])
    # An update that is not one: refused by aiogram's own reading of it, so aiogram was loaded.
    assert result["bot on"] == 400
    assert "aiogram.types" in result["loaded with the bot on"]
