"""POST /viber/webhook/: Viber posts every callback here once `viber_set_webhook` has set it."""

import logging
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from botbridge.channels.viber.handlers import callback_handle
from botbridge.channels.viber.intake import NotACallback, callback_parse, signature_valid

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
    reply = callback_handle(callback)
    return JsonResponse(reply) if reply is not None else HttpResponse(status=200)
