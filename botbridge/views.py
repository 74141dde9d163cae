"""POST /telegram/webhook/: Telegram delivers updates here when a webhook is set."""

import asyncio
import hmac
import logging

from aiogram import Bot
from aiogram.types import Update
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from botbridge.dispatcher import bot_create, feed

logger = logging.getLogger(__name__)
_shared: tuple[asyncio.AbstractEventLoop, Bot] | None = None


@csrf_exempt
@require_POST
async def webhook(request: HttpRequest) -> HttpResponse:
    if not settings.TELEGRAM_BOT_TOKEN:
        return JsonResponse({"detail": "The Telegram bot is not configured."}, status=404)
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse({"detail": "Wrong or missing secret token."}, status=403)
    try:
        update = Update.model_validate_json(request.body)
    except (ValidationError, ValueError) as error:
        logger.warning("webhook: malformed update refused: %s", str(error)[:300])
        return JsonResponse({"detail": "The body is not a Telegram update."}, status=400)
    if isinstance(request, ASGIRequest):
        await feed(_bot_for_this_process(), update)
    else:
        # Under WSGI every request gets an event loop of its own, and an HTTP session
        # cannot outlive its loop: open one for this update and close it.
        bot = bot_create()
        try:
            await feed(bot, update)
        finally:
            # Not bot.session.close(): it sleeps 250 ms for TLS shutdown on every update.
            await (await bot.session.create_session()).close()
    return JsonResponse({"ok": True})


def _bot_for_this_process() -> Bot:
    """Under ASGI one event loop serves every request: one client, its connections reused."""
    global _shared  # noqa: PLW0603 - one client per process and loop, created on first use
    loop = asyncio.get_running_loop()
    if _shared is None or _shared[0] is not loop:
        _shared = (loop, bot_create())
    return _shared[1]
