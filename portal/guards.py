"""Requests the portal refuses before any view sees them: a NUL in the address, a body over its limit.

A NUL can be no part of a path or a query the portal serves, and PostgreSQL refuses it in
text, so let through it surfaces as a database error deep in whichever view got it: one
check here answers 400 for every page and API call alike.

Bodies have a limit per path (`body_limit`). Django checks only a declared Content-Length,
and under ASGI its handler reads the whole body into a temporary file before any
middleware or view runs: a chunked upload (no Content-Length) of 300 MB is on disk before
anything looks at its size. `BodyLimit` wraps the ASGI application and counts the body
as it arrives; past the limit it stops reading, hands Django what it has and marks the
request, and `RequestGuardMiddleware` answers 413 in the shape the path's clients expect.

Under WSGI (gunicorn) Django reads only as many bytes as Content-Length declares, so a chunked
body reached no view at all: it was read as empty, and gunicorn then drained the rest.
`WsgiBodyLimit` reads such a body itself, up to the limit, and hands it to Django with its
length; past the limit it marks the request the same way and closes the connection after the 413.
"""

import asyncio
import re
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

# Set in the ASGI scope by BodyLimit when the body passed its limit and was left unread.
OVER_LIMIT = "pokaznyk.body_over_limit"

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# A meter photo's upload (readings.photo_views): the photo, up to 10 MB, and the form around it.
PHOTO_UPLOAD = re.compile(r"/readings/\d+/photo/")


def body_limit(path: str) -> int | None:
    """The most bytes a request body to `path` may have; None = no limit."""
    if PHOTO_UPLOAD.fullmatch(path):
        return settings.PHOTO_MAX_BODY_BYTES
    if path.startswith("/api/"):
        return settings.API_MAX_BODY_BYTES
    if path.startswith("/admin/"):
        return settings.ADMIN_MAX_BODY_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            message = _("The address contains a character that no page or API call takes.")
            return refusal(request, 400, "bad_request", message)
        if _over_limit(request):
            message = _("The request is too large. Send only what the form or the API call takes.")
            if PHOTO_UPLOAD.fullmatch(request.path_info):
                message = _photo_too_big()
            return refusal(request, 413, "body_too_large", message)
        if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
            _declare_length(request)
        return self.get_response(request)


def _declare_length(request: HttpRequest) -> None:
    # DRF reads no body without a Content-Length, so a chunked API call arrived empty (under ASGI
    # Django has the whole body by now, under its limit). An API body is small (API_MAX_BODY_BYTES).
    if request.path_info.startswith("/api/"):
        request.META["CONTENT_LENGTH"] = str(len(request.body))


def _over_limit(request: HttpRequest) -> bool:
    if getattr(request, "scope", {}).get(OVER_LIMIT) or request.META.get(OVER_LIMIT):
        return True
    limit = body_limit(request.path_info)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # Django itself refuses a garbled length when the body is read
    return limit is not None and declared > limit


def _photo_too_big() -> str:
    # The same words as the photo form's own refusal of a file over the limit.
    from readings.errors import PhotoTooBig
    from readings.photos import MAX_BYTES

    return PhotoTooBig(limit=MAX_BYTES // (1024 * 1024)).message


def refusal(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """A refusal in the path's own shape: the API's error body, the webhook's, or a page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"code": code, "detail": message}, status=status)
    if request.path_info.startswith("/telegram/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "refused.html", {"status": status, "message": message}, status=status)


class BodyLimit:
    """The Django ASGI application, with request bodies counted as they arrive (see the module's note)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = body_limit(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        body = _CountedBody({**scope}, receive, send, limit)
        await self.app(body.scope, body.receive, body.send)


class _CountedBody:
    """One request's body, passed on to Django until it is over the limit."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        self.scope, self._receive, self._send, self.limit = scope, receive, send, limit
        self.received = 0
        self.ended = False
        declared = _content_length(scope["headers"])
        if declared is not None and declared > limit:
            scope[OVER_LIMIT] = True  # refused unread

    async def receive(self) -> Message:
        if self.scope.get(OVER_LIMIT):
            return await self._end()
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.scope[OVER_LIMIT] = True
                return await self._end()
        return message

    async def _end(self) -> Message:
        if not self.ended:
            self.ended = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # Django listens for a disconnect while it makes the answer. The client may still be
        # sending the unread rest, which is no disconnect: wait until Django stops listening.
        return await asyncio.get_running_loop().create_future()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and self.scope.get(OVER_LIMIT):
            # The unread rest of the body is still on the connection: it cannot carry another request.
            message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self._send(message)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


# --- WSGI ----------------------------------------------------------------------------------------

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
WSGI_CHUNK = 64 * 1024


class WsgiBodyLimit:
    """The Django WSGI application, with a body without Content-Length read up to its limit (see the module's note)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        limit = body_limit(environ.get("PATH_INFO", ""))
        if limit is None:
            return self.app(environ, start_response)
        declared = environ.get("CONTENT_LENGTH")
        if declared:
            if declared.isdigit() and int(declared) > limit:
                environ[OVER_LIMIT] = True  # refused unread
        elif "HTTP_TRANSFER_ENCODING" in environ and environ.get("wsgi.input_terminated"):
            _read_body(environ, limit)
        if environ.get(OVER_LIMIT):
            _close_after(start_response)
        return self.app(environ, start_response)


def _read_body(environ: Environ, limit: int) -> None:
    """Read a body of unknown length into a spooled file for Django, or mark it over the limit."""
    # Django spools an upload past FILE_UPLOAD_MAX_MEMORY_SIZE to disk too; a body over the limit
    # is dropped unread past limit + one chunk, so neither memory nor disk grows with it.
    # It outlives this function as the request's input; freed (its disk file too) with the request.
    body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    stream, received = environ["wsgi.input"], 0
    while chunk := stream.read(WSGI_CHUNK):
        received += len(chunk)
        if received > limit:
            body.close()
            environ[OVER_LIMIT] = True
            environ["CONTENT_LENGTH"] = "0"
            return
        body.write(chunk)
    body.seek(0)
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = body, str(received)


def _close_after(start_response: StartResponse) -> None:
    # The unread rest of the body is still on the connection: it cannot carry another request.
    # WSGI forbids the application a Connection header (gunicorn drops it), so ask the server:
    # gunicorn's start_response belongs to its response, whose force_close() says "Connection: close".
    force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
    if callable(force_close):
        force_close()
