"""POST /telegram/webhook/: Telegram delivers updates here when a webhook is set.

The update is checked, stored once (a re-delivery changes nothing) and answered at once; a
worker (manage.py converse) runs the conversation and sends the replies. Nothing of the
conversation is decided or sent here, unless BOT_EVENTS_INLINE (no worker runs).

aiogram is imported only once the bot is on and an update has passed the secret check: the
URLconf loads this module in every process (migrate, the cabinet, the API, the tests), and
aiogram alone took most of their start-up (seconds) for a bot most of them never run. A server
whose bot is on loads it as it starts (portal/asgi.py), not on the first update.
"""

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from botbridge.services import Inbound, events_store, telegram_update_key
from botbridge.worker import events_work_inline

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        return JsonResponse({"detail": "The Telegram bot is not configured."}, status=404)
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse({"detail": "Wrong or missing secret token."}, status=403)
    from aiogram.utils.token import extract_bot_id

    from botbridge.channels.telegram.handlers import CHANNEL
    from botbridge.channels.telegram.intake import NotAnUpdate, chat_of, update_read

    try:
        data, update = update_read(request.body)
    except NotAnUpdate as error:
        logger.warning("webhook: malformed update refused: %s", str(error)[:300])
        return JsonResponse({"detail": "The body is not a Telegram update."}, status=400)
    chat = chat_of(data)
    key = telegram_update_key(bot_id=extract_bot_id(token), update_id=update.update_id)
    # Stored or not: a database that refuses answers 500, and Telegram delivers it again.
    events_store(events=[Inbound(channel=CHANNEL, key=key, chat_key=chat, payload=json.dumps(data))])
    if settings.BOT_EVENTS_INLINE and not events_work_inline(channel=CHANNEL, chat_keys=[chat]):
        return JsonResponse({"detail": "The update is kept; it could not be handled now."}, status=503)
    return JsonResponse({"ok": True})
