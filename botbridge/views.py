"""POST /telegram/webhook/: Telegram delivers updates here when a webhook is set.

The update is checked, stored once (a re-delivery changes nothing) and answered at once; a
worker (manage.py converse) runs the conversation and sends the replies. Nothing of the
conversation is decided or sent here, unless BOT_EVENTS_INLINE (no worker runs). The check,
the parse and the store are botbridge.channels.webhooks.telegram_take, which the fast intake in
front of Django (portal/intake.py) calls too.

aiogram is imported only once the bot is on and an update has passed the secret check: the
URLconf loads this module in every process (migrate, the cabinet, the API, the tests), and
aiogram alone took most of their start-up (seconds) for a bot most of them never run. A server
whose bot is on loads it as it starts (portal/asgi.py), not on the first update.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from botbridge.channels.webhooks import taken_response, telegram_take
from botbridge.worker import events_work_inline


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    taken = telegram_take(request.body, request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""))
    if taken.status == 200 and settings.BOT_EVENTS_INLINE:
        from botbridge.channels.telegram.handlers import CHANNEL

        if not events_work_inline(channel=CHANNEL, chat_keys=taken.chat_keys):
            return JsonResponse({"detail": "The update is kept; it could not be handled now."}, status=503)
    return taken_response(taken)
