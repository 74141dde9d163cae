"""POST /telegram/webhook/: Telegram delivers updates here when a webhook is set.

aiogram is imported only once the bot is on and an update has passed the secret check: the
URLconf loads this module in every process (migrate, the cabinet, the API, the tests), and
aiogram alone took most of their start-up (seconds) for a bot most of them never run. A server
whose bot is on loads it as it starts (portal/asgi.py), not in the event loop on the first update.
"""

import asyncio
import hmac
import logging
import threading
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)
_local = threading.local()


@csrf_exempt
@require_POST
async def webhook(request: HttpRequest) -> HttpResponse:
    if not settings.TELEGRAM_BOT_TOKEN:
        return JsonResponse({"detail": "The Telegram bot is not configured."}, status=404)
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse({"detail": "Wrong or missing secret token."}, status=403)
    from botbridge.channels.telegram.dispatcher import feed
    from botbridge.channels.telegram.intake import NotAnUpdate, update_parse

    try:
        update = update_parse(request.body)
    except NotAnUpdate as error:
        logger.warning("webhook: malformed update refused: %s", str(error)[:300])
        return JsonResponse({"detail": "The body is not a Telegram update."}, status=400)
    bot = _bot_for(request)
    try:
        await feed(bot, update)
    finally:
        if not isinstance(request, ASGIRequest):
            # Under WSGI every request runs in an event loop of its own, which an HTTP
            # session cannot outlive: close it (the next request opens one in its loop).
            # Not bot.session.close(): that sleeps 250 ms for TLS shutdown.
            await (await bot.session.create_session()).close()
    return JsonResponse({"ok": True})


def _bot_for(request: HttpRequest) -> "Bot":
    """A client made once per thread and settings (building one loads the CA bundle, ~17 ms).

    Under ASGI it also belongs to the one event loop that serves every request, so its
    connections to the Bot API stay open between updates.
    """
    key: tuple = (settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE)
    if isinstance(request, ASGIRequest):
        key += (id(asyncio.get_running_loop()),)
    bots = _local.__dict__.setdefault("bots", {})
    if key not in bots:
        from botbridge.channels.telegram.dispatcher import bot_create

        bots[key] = bot_create()
    return bots[key]
