"""What an attacker sends, over HTTP against uvicorn and gunicorn: a NUL in the address, a chunked
body with no end, a forged X-Forwarded-For. PostgreSQL only (portal/tests/servers.py)."""

import http.client
import json
import os
import re
import select
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.linking import account_link
from accounts.models import LinkAttempt
from accounts.tests.factories import MeterFactory, UserFactory
from accounts.tokens import api_token_issue
from portal.tests.servers import PortalServer

pytestmark = pytest.mark.django_db(transaction=True)
CHUNK = 64 * 1024


def request(server: PortalServer, method: str, path: str, body: str = "", **headers: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body.encode() or None, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_a_nul_in_an_account_number_is_a_400_in_the_cabinet_and_the_api(server_env, stack):
    MeterFactory(account__number="123456789", serial="AB123")
    user = UserFactory(username="maria")
    account_link(user=user, account_number="123456789", meter_serial="AB123")
    token = api_token_issue(user=user)[1]
    browser = Client()
    browser.force_login(user)  # the session is in the database the server reads
    session = f"sessionid={browser.cookies['sessionid'].value}"
    with PortalServer(server_env, stack=stack) as server:
        for path in ("/accounts/123456789%00/", "/accounts/%00/history/", "/accounts/1%00/history.csv"):
            status, page = request(server, "GET", path, Cookie=session)
            assert status == 400, path
            assert "Адреса містить символ" in page.decode()
        for method, path in [
            ("GET", "/api/v1/accounts/123456789%00/readings/"),
            ("POST", "/api/v1/accounts/123456789%00/readings/"),
            ("DELETE", "/api/v1/accounts/%00/"),
        ]:
            headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
            status, body = request(server, method, path, '{"value": "1250"}', **headers)
            assert (status, json.loads(body)["code"]) == (400, "bad_request"), path


def test_a_forged_x_forwarded_for_behind_one_proxy_stores_the_peers_address(server_env, stack):
    with PortalServer({**server_env, "TRUSTED_PROXIES": "1"}, stack=stack) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/quick/")
        answer = connection.getresponse()
        cookie = answer.getheader("Set-Cookie").split(";")[0]
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', answer.read().decode()).group(1)
        connection.close()
        form = {"csrfmiddlewaretoken": csrf, "account_number": "999999999", "meter_serial": "ZZ1", "reading": "1250"}
        status, _page = request(
            server,
            "POST",
            "/quick/",
            urlencode(form),
            Cookie=cookie,
            **{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "<script>, 10.0.0.1:x, ::zz"},
        )
    assert status == 400  # no such account: a failed attempt, counted against the peer
    assert LinkAttempt.objects.get().ip_address == "127.0.0.1"


# --- A chunked body with no Content-Length ------------------------------------------------------


def rss_kib(server: PortalServer) -> int:
    """The resident memory of the server's processes, its workers too."""
    statuses = [Path(f"/proc/{pid}/status").read_text() for pid in server.pids()]
    return sum(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) for status in statuses)


def spooled_bytes(server: PortalServer, spool: Path) -> int:
    """The bytes in files the server's processes hold open under its temp dir (deleted ones too)."""
    total = 0
    for fd in (fd for pid in server.pids() for fd in Path(f"/proc/{pid}/fd").iterdir()):
        try:
            if os.readlink(fd).startswith(str(spool)):
                total += os.stat(fd).st_size
        except OSError:
            continue  # closed meanwhile
    return total


def chunked_upload(server: PortalServer, path: str, total: int, spool: Path) -> dict:
    """Send up to `total` bytes chunked, stopping as soon as the server answers; what it took."""
    figures = {"rss_before_kib": rss_kib(server), "spool_peak": 0, "sent": 0}
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(5)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n"
    sock.sendall(head.encode())
    piece = f"{CHUNK:x}\r\n".encode() + b"[" * CHUNK + b"\r\n"
    started = time.monotonic()
    try:
        while figures["sent"] < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(piece)
            figures["sent"] += CHUNK
            if figures["sent"] % (32 * CHUNK) == 0:
                figures["spool_peak"] = max(figures["spool_peak"], spooled_bytes(server, spool))
    except (TimeoutError, ConnectionError):
        pass  # the server stopped reading: its answer is waiting
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except (TimeoutError, ConnectionError):
        pass
    sock.close()
    figures["seconds"] = round(time.monotonic() - started, 2)
    figures["rss_after_kib"] = rss_kib(server)
    figures["status"] = int(answer.split(b" ", 2)[1]) if answer else None
    figures["answer"] = answer
    return figures


def test_a_chunked_300_mb_upload_is_refused_early_with_memory_and_disk_flat(server_env, stack, tmp_path):
    with PortalServer({**server_env, "TMPDIR": str(tmp_path)}, stack=stack) as server:
        for path in ("/api/v1/auth/token/", "/quick/"):
            figures = chunked_upload(server, path, 300 * 2**20, tmp_path)
            print(path, {key: value for key, value in figures.items() if key != "answer"})
            assert figures["status"] == 413, path
            assert b"connection: close" in figures["answer"].lower()
            # The server read at most what was sent: its limit, and what the socket buffers between hold.
            assert figures["sent"] < 32 * 2**20
            assert figures["spool_peak"] == 0
            assert figures["rss_after_kib"] - figures["rss_before_kib"] < 20 * 1024


def test_a_chunked_body_within_its_limit_reaches_the_api_as_sent(server_env, stack):
    get_user_model().objects.create_user("maria@example.com", "maria@example.com", "correct horse 1")
    body = json.dumps({"username": "maria@example.com", "password": "correct horse 1"}).encode()
    with PortalServer(server_env, stack=stack) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        # No Content-Length: the body comes in three chunks, as a streaming client sends it.
        pieces = iter([body[:10], body[10:30], body[30:]])
        connection.request(
            "POST",
            "/api/v1/auth/token/",
            body=pieces,
            encode_chunked=True,
            headers={"Content-Type": "application/json"},
        )
        answer = connection.getresponse()
        status, token = answer.status, json.loads(answer.read()).get("token")
        connection.close()
    assert status == 200
    assert token
