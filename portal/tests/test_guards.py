"""Requests refused before any view: a NUL in the address (400), a body over its path's limit (413).

In-process here (the test client, and the ASGI application driven chunk by chunk); over HTTP
under gunicorn and uvicorn, as an attacker sends them, in test_guards_http.py.
"""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from accounts.linking import account_link
from accounts.tests.factories import MeterFactory, UserFactory
from portal.asgi import application

CHUNK = 64 * 1024
API_LIMIT = 16384  # API_MAX_BODY_BYTES's default
PAGE_LIMIT = 2621440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.fixture
def resident(db, client) -> Client:
    MeterFactory(account__number="123456789", serial="AB123")
    user = UserFactory(username="maria")
    account_link(user=user, account_number="123456789", meter_serial="AB123")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/123456789%00/",
        "/accounts/%00/history/",
        "/accounts/123%00456/history.csv",
        "/accounts/123456789%00/unlink/",
        "/signin/link/abc%00def/",
        "/quick/?next=%00",
        "/static/%00.css",
    ],
)
def test_a_nul_in_a_page_address_is_a_400_page(resident, url):
    page = resident.get(url)
    assert page.status_code == 400
    assert "Адреса містить символ, якого не приймає жодна сторінка" in page.content.decode()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/accounts/123456789%00/readings/"),
        ("POST", "/api/v1/accounts/%00/readings/"),
        ("DELETE", "/api/v1/accounts/123456789%00/"),
        ("GET", "/api/v1/window/?on=2026-11-24%00"),
        ("GET", "/api/v1/accounts/123456789/readings/?page=%00"),
    ],
)
def test_a_nul_in_an_api_address_is_a_400_in_the_error_shape(resident, method, url):
    answer = resident.generic(method, url, "{}", content_type="application/json")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "bad_request",
        "detail": "Адреса містить символ, якого не приймає жодна сторінка чи виклик API.",
    }


def test_a_declared_length_over_the_limit_is_a_413_in_each_paths_shape(db, client):
    api = client.post("/api/v1/auth/token/", "x" * (API_LIMIT + 1), content_type="application/json")
    assert (api.status_code, api.json()["code"]) == (413, "body_too_large")
    webhook = client.post("/telegram/webhook/", "x" * (PAGE_LIMIT + 1), content_type="application/json")
    assert webhook.status_code == 413 and set(webhook.json()) == {"detail"}
    page = client.post("/quick/", {"reading": "1" * PAGE_LIMIT})
    assert page.status_code == 413
    assert "Запит завеликий" in page.content.decode()


# --- The ASGI application, fed a body chunk by chunk --------------------------------------------


class Upload:
    """An ASGI client that sends `total` bytes in 64 KiB chunks and counts what the app took."""

    def __init__(self, path: str, total: int, headers: tuple = ()) -> None:
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.total, self.taken, self.messages = total, 0, []
        self.answered = asyncio.Event()

    async def receive(self) -> dict:
        if self.taken < self.total:
            size = min(CHUNK, self.total - self.taken)
            self.taken += size
            return {"type": "http.request", "body": b"x" * size, "more_body": self.taken < self.total}
        await self.answered.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            self.answered.set()

    def run(self) -> "Upload":
        # As Django's test client does: a request's start and end would close the test's
        # database connection, and with it the test's transaction.
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
        try:
            # async_to_sync, not asyncio.run: Django runs the sync views in this thread, on the test database.
            async_to_sync(asyncio.wait_for)(application(self.scope, self.receive, self.send), timeout=30)
        finally:
            for signal in (request_started, request_finished):
                signal.connect(close_old_connections)
        return self

    @property
    def status(self) -> int:
        return self.messages[0]["status"]

    @property
    def headers(self) -> dict:
        return dict(self.messages[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(message.get("body", b"") for message in self.messages[1:])


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/api/v1/auth/token/", API_LIMIT), ("/quick/", PAGE_LIMIT), ("/telegram/webhook/", PAGE_LIMIT)],
)
def test_a_chunked_300_mb_body_is_refused_once_past_the_limit_and_the_rest_left_unread(path, limit):
    upload = Upload(path, total=300 * 2**20).run()
    assert upload.status == 413
    assert upload.taken <= limit + CHUNK  # the chunk that passed the limit, and not one more
    assert upload.headers[b"connection"] == b"close"  # the unread rest cannot carry another request
    if path.startswith("/api/"):
        assert json.loads(upload.body)["code"] == "body_too_large"


def test_the_admin_takes_the_master_data_upload_and_refuses_a_body_beyond_it(settings):
    upload = Upload("/admin/accounts/personalaccount/upload/", total=300 * 2**20).run()
    assert upload.status == 413
    assert settings.ADMIN_MAX_BODY_BYTES < upload.taken <= settings.ADMIN_MAX_BODY_BYTES + CHUNK


def test_a_declared_length_over_the_limit_is_refused_unread():
    headers = ((b"content-length", str(300 * 2**20).encode()),)
    upload = Upload("/api/v1/auth/token/", total=300 * 2**20, headers=headers).run()
    assert (upload.status, upload.taken) == (413, 0)


def test_a_body_within_the_limit_reaches_the_view_whole(db):
    body = json.dumps({"username": "nobody", "password": "x" * 8000}).encode()  # too long a password
    # With a Content-Length: DRF reads no body without one.
    upload = Upload("/api/v1/auth/token/", total=len(body), headers=((b"content-length", b"%d" % len(body)),))
    upload.receive = _chunks_of(body, upload)
    upload.run()
    assert upload.taken == len(body)
    assert (upload.status, list(json.loads(upload.body)["fields"])) == (400, ["password"])


def _chunks_of(body: bytes, upload: Upload):
    async def receive() -> dict:
        if upload.taken < len(body):
            piece = body[upload.taken : upload.taken + 1000]
            upload.taken += len(piece)
            return {"type": "http.request", "body": piece, "more_body": upload.taken < len(body)}
        await upload.answered.wait()
        return {"type": "http.disconnect"}

    return receive
