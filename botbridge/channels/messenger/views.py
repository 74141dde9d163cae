"""GET and POST /messenger/webhook/: Messenger's subscription check, and its events.

Every event of a POST is read on its own: one that is malformed is logged and skipped, and
the others are stored, once each (a re-delivery changes nothing), in one statement; then the
POST is answered. A worker runs the conversation and sends the replies (or this request, with
BOT_EVENTS_INLINE). When the database cannot store them, the answer is a 503 and Messenger
delivers the POST again: an event is stored or it is not, and one stored is handled. The
check, the parse and the store are botbridge.channels.webhooks.messenger_take, which the fast
intake in front of Django (portal/intake.py) calls too.
"""

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from botbridge.channels.messenger import CHANNEL
from botbridge.channels.webhooks import RETRY_AFTER_SECONDS, messenger_take, taken_response
from botbridge.worker import events_work_inline

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return subscription_check(request)
    taken = messenger_take(request.body, request.headers.get("X-Hub-Signature-256", ""))
    if (
        taken.status == 200
        and settings.BOT_EVENTS_INLINE
        and not events_work_inline(channel=CHANNEL, chat_keys=taken.chat_keys)
    ):
        return _deliver_again("Some events could not be handled now; deliver them again.")
    return taken_response(taken)


def _deliver_again(detail: str) -> HttpResponse:
    response = JsonResponse({"detail": detail}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def subscription_check(request: HttpRequest) -> HttpResponse:
    """Meta's check when the webhook is set up: echo `hub.challenge` to the right verify token."""
    expected = settings.MESSENGER_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    if (
        request.GET.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        logger.warning("messenger webhook: subscription check refused (wrong mode or verify token)")
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
