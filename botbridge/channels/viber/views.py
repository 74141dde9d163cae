"""POST /viber/webhook/: Viber posts every callback here once `viber_set_webhook` has set it.

A resident's message (and a subscription) is stored once and answered at once; a worker runs
the conversation and sends the replies (or this request, with BOT_EVENTS_INLINE). Opening the
chat is answered here: its welcome goes in the answer's body. The check, the parse and the
store are botbridge.channels.webhooks.viber_take, which the fast intake in front of Django
(portal/intake.py) calls too."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from botbridge.channels.viber.handlers import CHANNEL, callback_handle
from botbridge.channels.viber.intake import Callback
from botbridge.channels.webhooks import taken_response, viber_take
from botbridge.worker import events_work_inline


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    taken = viber_take(request.body, request.headers.get("X-Viber-Content-Signature", ""))
    if isinstance(taken, Callback):  # signed and well formed, answered here: a chat's start, a receipt
        reply = callback_handle(taken)
        return JsonResponse(reply) if reply is not None else HttpResponse(status=200)
    if (
        taken.status == 200
        and settings.BOT_EVENTS_INLINE
        and not events_work_inline(channel=CHANNEL, chat_keys=taken.chat_keys)
    ):
        return JsonResponse({"detail": "The callback is kept; it could not be handled now."}, status=503)
    return taken_response(taken)
