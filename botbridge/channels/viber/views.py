"""POST /viber/webhook/: Viber posts every callback here once `viber_set_webhook` has set it.

A resident's message (and a subscription) is stored once and answered at once; a worker runs
the conversation and sends the replies (or this request, with BOT_EVENTS_INLINE). Opening the
chat is answered here: its welcome goes in the answer's body."""

import logging
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from botbridge.channels.viber.handlers import CHANNEL, STORED, callback_handle, stored_payload
from botbridge.channels.viber.intake import NotACallback, callback_parse, signature_valid
from botbridge.services import Inbound, events_store
from botbridge.worker import events_work_inline

logger = logging.getLogger(__name__)


@cache
def _say_off() -> None:
    logger.info("The Viber bot is off: VIBER_AUTH_TOKEN is not set.")


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    token = settings.VIBER_AUTH_TOKEN
    if not token:
        _say_off()
        return JsonResponse({"detail": "The Viber bot is not configured."}, status=404)
    if not signature_valid(request.body, request.headers.get("X-Viber-Content-Signature", ""), token):
        logger.warning("Viber webhook: wrong or missing signature; refused")
        return JsonResponse({"detail": "Wrong or missing signature."}, status=403)
    try:
        callback = callback_parse(request.body)
    except NotACallback as error:
        logger.warning("Viber webhook: malformed callback refused: %s", str(error)[:300])
        return JsonResponse({"detail": "The body is not a Viber callback."}, status=400)
    if callback.event in STORED:
        # The event's kind is in the key: a conversation_started and a message never share one.
        key = f"{callback.event}:{callback.token}"
        event = Inbound(channel=CHANNEL, key=key, chat_key=callback.user_id, payload=stored_payload(callback))
        events_store(events=[event])  # a database that refuses answers 500: Viber delivers again
        if settings.BOT_EVENTS_INLINE and not events_work_inline(channel=CHANNEL, chat_keys=[callback.user_id]):
            return JsonResponse({"detail": "The callback is kept; it could not be handled now."}, status=503)
        return HttpResponse(status=200)
    reply = callback_handle(callback)
    return JsonResponse(reply) if reply is not None else HttpResponse(status=200)
