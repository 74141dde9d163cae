"""The bots' webhooks taken before Django's request machinery: the fast intake.

A webhook POST, when workers converse (BOT_EVENTS_INLINE off), is a signature check, a parse and
one INSERT: a fraction of a millisecond of work. Through Django it cost several times that in
the request's own machinery (a request object, fourteen middlewares, URL resolving, and under
ASGI the thread hops of asgiref), which capped the intake on two cores far below the 1,000
events a second a busy morning brings (#17). So `WebhookIntake` (ASGI) and `WebhookIntakeWSGI`
take exactly POST on the three webhook paths and answer them themselves, through the very
function the Django view calls (botbridge.channels.webhooks.*_take): the rules are written once.

Everything else goes to Django untouched, and so does any webhook request whose answer is not
the take's: the bot's work inline (BOT_EVENTS_INLINE), a body over the path's limit (its 413 is
the guard's, in the path's shape), a Viber callback answered by the view itself (a chat's start,
a receipt). The body already read is handed on as it came.
"""

import asyncio
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection

from botbridge.channels.webhooks import Taken, messenger_take, telegram_take, viber_take
from portal.guards import OVER_LIMIT, Message, Receive, Scope, Send, body_limit

logger = logging.getLogger(__name__)

# Each path's take and the header it checks, as ASGI spells headers (lower case).
WEBHOOKS: dict[str, tuple[Callable[[bytes, str], object], str]] = {
    "/telegram/webhook/": (telegram_take, "x-telegram-bot-api-secret-token"),
    "/viber/webhook/": (viber_take, "x-viber-content-signature"),
    "/messenger/webhook/": (messenger_take, "x-hub-signature-256"),
}
# Threads that store for the event loop: each keeps its database connection from one event to
# the next (a connection taken from the pool per event cost a health-check round trip more).
# The work is short and mostly holds the GIL: a few threads are enough to overlap the round trips.
STORE_THREADS = 4


def take(path: str, body: bytes, header: str) -> Taken | None:
    """The take's answer to a webhook POST; None when Django must answer it (a Viber callback the
    view handles itself). Runs where the database is reached synchronously (a thread)."""
    taker, _ = WEBHOOKS[path]
    taken = taker(body, header)
    if isinstance(taken, Taken) and taken.status == 503:
        # The connection may be broken (a restart, a cut): the next event gets a fresh one.
        connection.close()
    return taken if isinstance(taken, Taken) else None


def answer_parts(taken: Taken) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body, as the view's JsonResponse or empty HttpResponse has them."""
    if taken.body is None:
        body, content_type = b"", "text/html; charset=utf-8"
    else:
        body, content_type = json.dumps(taken.body).encode(), "application/json"
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if taken.retry_after is not None:
        headers.append(("Retry-After", str(taken.retry_after)))
    return taken.status, headers, body


def _ours(method: str, path: str) -> bool:
    return method == "POST" and path in WEBHOOKS and not settings.BOT_EVENTS_INLINE


class WebhookIntake:
    """The ASGI application in front of Django (see the module's note); inside BodyLimit, which
    counts the body as it arrives and marks a body over the limit."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Any]) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="intake")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _ours(scope["method"], scope["path"]) or scope.get(OVER_LIMIT):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody to answer; nothing was stored
            body += message.get("body", b"")
            if not message.get("more_body") or scope.get(OVER_LIMIT):
                break
        if scope.get(OVER_LIMIT):
            await self.app(scope, _replay(bytes(body), receive), send)
            return
        header = _header(scope, WEBHOOKS[scope["path"]][1])
        loop = asyncio.get_running_loop()
        taken = await loop.run_in_executor(self.executor, take, scope["path"], bytes(body), header)
        if taken is None:
            await self.app(scope, _replay(bytes(body), receive), send)
            return
        status, headers, content = answer_parts(taken)
        raw = [(name.lower().encode(), value.encode("latin-1")) for name, value in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": content})

    def connections_close(self) -> None:
        """Every store thread's database connection back (a test database is about to be dropped)."""
        everyone = threading.Barrier(STORE_THREADS)

        def close() -> None:
            everyone.wait(timeout=10)  # so that each thread runs one of these
            connection.close()

        for done in [self.executor.submit(close) for _ in range(STORE_THREADS)]:
            done.result()


def _header(scope: Scope, name: str) -> str:
    wanted = name.encode()
    for key, value in scope["headers"]:
        if key == wanted:
            return value.decode("latin-1")
    return ""


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body already read given again first."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class WebhookIntakeWSGI:
    """The same in front of Django's WSGI application (gunicorn): taken in the request's thread,
    which keeps its database connection from one event to the next. A body without a declared
    length, or over the limit, goes to Django unread (the guard answers 413)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not _ours(environ.get("REQUEST_METHOD", ""), path):
            return self.app(environ, start_response)
        declared = environ.get("CONTENT_LENGTH", "")
        limit = body_limit(path)
        if not declared.isdigit() or (limit is not None and int(declared) > limit):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(declared))
        header = environ.get("HTTP_" + WEBHOOKS[path][1].upper().replace("-", "_"), "")
        taken = take(path, body, header)
        if taken is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)
        status, headers, content = answer_parts(taken)
        start_response(f"{status} {_REASONS.get(status, '')}".strip(), headers)
        return [content]


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable"}
